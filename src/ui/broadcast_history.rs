//! The broadcast history list and the CSV of one broadcast's deliveries.

use serenity::all::{CreateEmbed, CreateEmbedFooter};

use super::INFO_COLOR;
use super::audience::describe;
use super::broadcast::{rate_text, short_rate_text};
use super::csv::SafeCsv;
use super::followups::marks;
use super::limits::EMBED_DESCRIPTION_CHARS;
use super::pager::SelectItem;
use super::text::{discord_time, fit_lines, thousands, truncate};
use crate::store::broadcasts::HistoryRow;

/// A page of the history.
pub fn history_page(
    rows: &[HistoryRow],
    total: i64,
    page: usize,
    pages: usize,
) -> (CreateEmbed, Vec<SelectItem>) {
    let lines: Vec<String> = rows
        .iter()
        .map(|row| {
            let at = match (row.started_at, row.scheduled_for) {
                (Some(started), _) => format!("sent {}", discord_time(started, 'f')),
                (None, Some(at)) => format!("for {}", discord_time(at, 'f')),
                (None, None) => format!("created {}", discord_time(row.created_at, 'f')),
            };
            format!(
                "**#{}** {} · {} · to {} · **{}**{} · {at}\n{} · targeted {} · sent {} · skipped {} · failed {}",
                row.id,
                truncate(&row.title, 80),
                row.category,
                describe(&row.audience),
                row.status,
                marks(row.edited_at, row.recalled_at),
                rate_text(&row.counts),
                thousands(row.counts.targeted),
                thousands(row.counts.sent),
                thousands(row.counts.skipped),
                thousands(row.counts.failed),
            )
        })
        .collect();
    let description = if lines.is_empty() {
        "No broadcasts yet. Compose one with `/admin broadcast new`.".to_owned()
    } else {
        fit_lines(&lines, EMBED_DESCRIPTION_CHARS)
    };
    let items = rows
        .iter()
        .map(|row| SelectItem {
            label: format!("#{} {}", row.id, row.title),
            value: row.id.to_string(),
            description: Some(format!(
                "{}{} · {}",
                row.status,
                if row.recalled_at.is_some() {
                    " (recalled)"
                } else if row.edited_at.is_some() {
                    " (edited)"
                } else {
                    ""
                },
                short_rate_text(&row.counts)
            )),
        })
        .collect();
    let embed = CreateEmbed::new()
        .title(format!("Broadcasts: {}", thousands(total)))
        .color(INFO_COLOR)
        .description(description)
        .footer(CreateEmbedFooter::new(format!(
            "Newest first · page {} of {} · success = sent / targeted",
            page + 1,
            pages.max(1)
        )));
    (embed, items)
}

/// Every delivery row as CSV with a header.
pub fn deliveries_csv(
    rows: &[crate::store::broadcasts::DeliveryRow],
) -> Result<Vec<u8>, csv::Error> {
    let mut csv = SafeCsv::new(&[
        "guild_id",
        "guild_name",
        "channel_id",
        "status",
        "skip_reason",
        "error_code",
        "error_message",
        "message_id",
        "attempts",
        "updated_at",
    ])?;
    let text = |v: Option<String>| v.unwrap_or_default();
    for row in rows {
        csv.row([
            row.guild_id.to_string(),
            text(row.guild_name.clone()),
            text(row.channel_id.map(|c| c.to_string())),
            row.status.to_string(),
            text(row.skip_reason.clone()),
            text(row.error_code.map(|c| c.to_string())),
            text(row.error_message.clone()),
            text(row.message_id.map(|m| m.to_string())),
            row.attempts.to_string(),
            row.updated_at
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        ])?;
    }
    csv.finish()
}
