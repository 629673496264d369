//! Edits and recalls in the broadcast views: the edit's preview, the report's
//! section, and the marks history shows.

use chrono::{DateTime, Utc};
use serenity::all::CreateEmbed;

use super::INFO_COLOR;
use super::text::{discord_time, thousands, truncate};
use crate::store::broadcasts::{FollowupKind, FollowupReport};

/// Shown under the new embed of an edit, before Apply.
pub fn edit_preview(id: i64, messages: i64) -> CreateEmbed {
    CreateEmbed::new()
        .title("Preview: the message above replaces the one servers have")
        .color(INFO_COLOR)
        .description(format!(
            "Apply edits **{}** delivered messages of broadcast #{id} in place. Messages a server deleted are skipped and counted.",
            thousands(messages)
        ))
}

/// One line per edit or recall, for the report.
pub fn report_lines(followups: &[FollowupReport]) -> Vec<String> {
    followups
        .iter()
        .map(|f| {
            let (what, done) = match f.kind {
                FollowupKind::Edit => ("Edit", "edited"),
                FollowupKind::Recall => ("Recall", "deleted"),
            };
            let state = match (f.finished_at, &f.paused_reason) {
                (Some(at), _) => format!("finished {}", discord_time(at, 'R')),
                (None, Some(reason)) => format!(
                    "**{}** pending · **{}**",
                    thousands(f.pending),
                    truncate(reason, 200)
                ),
                (None, None) => format!("running: **{}** pending", thousands(f.pending)),
            };
            let mut line = format!(
                "**{what}** by <@{}> {} · {state}\n{done} **{}** · already gone **{}** · failed **{}** of {}",
                f.requested_by,
                discord_time(f.requested_at, 'f'),
                thousands(f.done),
                thousands(f.gone),
                thousands(f.failed),
                thousands(f.targeted),
            );
            for error in &f.errors {
                line.push_str(&format!("\n  {}", truncate(error, 150)));
            }
            line
        })
        .collect()
}

/// The live progress of an edit or recall (in the message that started it),
/// or its final figures once `finished`.
pub fn progress(broadcast: i64, report: &FollowupReport, finished: bool) -> CreateEmbed {
    let (what, doing) = match report.kind {
        FollowupKind::Edit => ("Edit", "editing"),
        FollowupKind::Recall => ("Recall", "deleting"),
    };
    let handled = report.done + report.gone + report.failed;
    let title = if finished {
        format!("{what} of broadcast #{broadcast} finished")
    } else {
        format!(
            "{what} of broadcast #{broadcast}: {doing}… {} of {}",
            thousands(handled),
            thousands(report.targeted)
        )
    };
    CreateEmbed::new()
        .title(title)
        .color(if report.failed > 0 {
            0xFAA61A
        } else {
            0x57F287
        })
        .description(report_lines(std::slice::from_ref(report)).join("\n"))
        .footer(serenity::all::CreateEmbedFooter::new(format!(
            "/admin broadcast report id:{broadcast} shows the full report"
        )))
}

/// `" · edited <time>"` / `" · recalled <time>"` after a broadcast's status.
pub fn marks(edited_at: Option<DateTime<Utc>>, recalled_at: Option<DateTime<Utc>>) -> String {
    let mut marks = String::new();
    if let Some(at) = edited_at {
        marks.push_str(&format!(" · edited {}", discord_time(at, 'f')));
    }
    if let Some(at) = recalled_at {
        marks.push_str(&format!(" · **recalled** {}", discord_time(at, 'f')));
    }
    marks
}
