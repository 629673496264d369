//! Broadcast views: the composer's preview, delivery progress and report, and
//! the history list.

use chrono::{DateTime, Utc};
use serenity::all::{CreateEmbed, CreateEmbedFooter};

use super::INFO_COLOR;
use super::csv::SafeCsv;
use super::followups::{self, marks};
use super::limits::{EMBED_DESCRIPTION_CHARS, EMBED_FIELD_VALUE_CHARS, embed_total_chars};
use super::pager::SelectItem;
use super::text::{discord_time, fit_lines, human_duration, thousands, truncate};
use crate::store::broadcasts::{
    BroadcastRow, Counts, DryRun, FailureGroup, FollowupReport, HistoryRow,
};
pub use followups::edit_preview;

/// "10.0% success (100.0% of servers with a channel)": the success rate as
/// the mission defines it (successful / targeted), then the delivery rate
/// among the servers that had a channel accepting the category.
pub fn rate_text(counts: &Counts) -> String {
    match (counts.success_rate(), counts.delivery_rate()) {
        (Some(rate), Some(delivered)) => {
            format!("{rate:.1}% success ({delivered:.1}% of servers with a channel)")
        }
        (Some(rate), None) => format!("{rate:.1}% success (no server had a channel)"),
        (None, _) => "no server targeted".to_owned(),
    }
}

/// "10.0% success": the short form, where room is scarce (menu descriptions).
pub fn short_rate_text(counts: &Counts) -> String {
    match counts.success_rate() {
        Some(rate) => format!("{rate:.1}% success"),
        None => "no server targeted".to_owned(),
    }
}

fn when(at: DateTime<Utc>) -> String {
    format!("{} ({})", discord_time(at, 'F'), discord_time(at, 'R'))
}

/// The dry run and schedule shown under the previewed embed.
pub fn preview(
    dry_run: &DryRun,
    category: &str,
    scheduled_for: Option<DateTime<Utc>>,
) -> CreateEmbed {
    let schedule = match scheduled_for {
        Some(at) => format!("Scheduled for {}.", when(at)),
        None => "Goes out when you press **Send**.".to_owned(),
    };
    CreateEmbed::new()
        .title("Preview: the message above is exactly what servers receive")
        .color(INFO_COLOR)
        .description(format!(
            "Reaches **{}** servers; **{}** have no broadcast channel and will be skipped; **{}** do not accept {category} messages.\n{schedule}\nNothing is sent until you press Send or Schedule.",
            thousands(dry_run.reachable()),
            thousands(dry_run.no_channel),
            thousands(dry_run.category_refused),
        ))
}

/// Progress of broadcast `id` while sending, or the final counts.
pub fn progress(id: i64, counts: &Counts, finished: bool) -> CreateEmbed {
    let done = counts.sent + counts.failed;
    let deliverable = counts.targeted - counts.skipped;
    let title = if finished {
        format!("Broadcast #{id} delivered")
    } else {
        format!("Broadcast #{id} sending… {done} of {deliverable}")
    };
    CreateEmbed::new()
        .title(title)
        .color(if counts.failed > 0 {
            0xFAA61A
        } else {
            0x57F287
        })
        .description(counts_text(counts))
        .footer(CreateEmbedFooter::new(format!(
            "/admin broadcast report id:{id} shows the full report"
        )))
}

fn counts_text(counts: &Counts) -> String {
    format!(
        "Targeted **{}** · sent **{}** · skipped **{}** · failed **{}** · pending **{}**{} · {}",
        thousands(counts.targeted),
        thousands(counts.sent),
        thousands(counts.skipped),
        thousands(counts.failed),
        thousands(counts.pending),
        if counts.cancelled > 0 {
            format!(" · cancelled **{}**", thousands(counts.cancelled))
        } else {
            String::new()
        },
        rate_text(counts)
    )
}

/// The most characters the panel's own embed adds to a message that also
/// carries the broadcast (the preview's dry run, the progress counts), with
/// every number at its widest. Discord counts 6000 characters across all the
/// embeds of one message, so the broadcast must leave this much room.
pub fn companion_chars() -> usize {
    // As wide as any count can print, with room for sums of two.
    let most = i64::MAX / 4;
    let dry_run = DryRun {
        targeted: most,
        no_channel: most,
        category_refused: most,
    };
    let widest_category = "announcement";
    let preview = preview(&dry_run, widest_category, Some(DateTime::<Utc>::MAX_UTC));
    let counts = Counts {
        targeted: most,
        pending: most,
        sent: most,
        skipped: most,
        failed: most,
        cancelled: most,
    };
    let progress = progress(most, &counts, false);
    [preview, progress]
        .into_iter()
        .map(|embed| embed_total_chars(&serde_json::to_value(embed).unwrap_or_default()))
        .max()
        .unwrap_or(0)
}

/// The delivery report of one broadcast.
pub fn report(
    broadcast: &BroadcastRow,
    counts: &Counts,
    failures: &[FailureGroup],
    skipped: &[(String, i64)],
    edits_and_recalls: &[FollowupReport],
) -> CreateEmbed {
    let mut timing = vec![format!(
        "Status: **{}**{}",
        broadcast.status,
        marks(broadcast.edited_at, broadcast.recalled_at)
    )];
    if let Some(at) = broadcast
        .scheduled_for
        .filter(|_| broadcast.started_at.is_none())
    {
        timing.push(format!("Scheduled for {}", when(at)));
    }
    if let Some(started) = broadcast.started_at {
        timing.push(format!("Started {}", when(started)));
        if let Some(finished) = broadcast.finished_at {
            let took = finished - started;
            let seconds = took.num_milliseconds().max(1) as f64 / 1000.0;
            timing.push(format!(
                "Finished {} · took {} · {:.1} sends/s",
                when(finished),
                human_duration(took),
                (counts.sent + counts.failed) as f64 / seconds
            ));
        }
    }
    let failure_lines: Vec<String> = failures
        .iter()
        .map(|group| {
            let examples: Vec<String> = group.examples.iter().map(|g| format!("`{g}`")).collect();
            format!(
                "**{}** × {} {}: {}",
                thousands(group.count),
                group
                    .error_code
                    .map_or_else(|| "—".to_owned(), |c| c.to_string()),
                truncate(&group.error_message, 120),
                examples.join(", ")
            )
        })
        .collect();
    let skipped_lines: Vec<String> = skipped
        .iter()
        .map(|(reason, count)| {
            let reason = match reason.as_str() {
                "no_channel" => "no broadcast channel",
                "category_refused" => "category not accepted",
                other => other,
            };
            format!("**{}** × {reason}", thousands(*count))
        })
        .collect();
    let or_none = |lines: &[String]| {
        if lines.is_empty() {
            "None.".to_owned()
        } else {
            fit_lines(lines, EMBED_FIELD_VALUE_CHARS)
        }
    };
    let mut embed = CreateEmbed::new()
        .title(format!(
            "Broadcast #{}: {}",
            broadcast.id,
            truncate(&broadcast.message.title, 200)
        ))
        .color(if counts.failed > 0 {
            0xFAA61A
        } else {
            INFO_COLOR
        })
        .description(truncate(
            &format!("{}\n{}", counts_text(counts), timing.join("\n")),
            EMBED_DESCRIPTION_CHARS,
        ))
        .field(
            "Failures (code, message, example servers)",
            or_none(&failure_lines),
            false,
        )
        .field("Skipped", or_none(&skipped_lines), false)
        .footer(CreateEmbedFooter::new(format!(
            "Category: {}",
            broadcast.message.category
        )));
    if !edits_and_recalls.is_empty() {
        embed = embed.field(
            "Edits and recalls (the delivery figures above stay as delivered)",
            fit_lines(
                &followups::report_lines(edits_and_recalls),
                EMBED_FIELD_VALUE_CHARS,
            ),
            false,
        );
    }
    embed
}

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
                "**#{}** {} · {} · **{}**{} · {at}\n{} · targeted {} · sent {} · skipped {} · failed {}",
                row.id,
                truncate(&row.title, 80),
                row.category,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_is_the_share_of_targeted_servers_reached() {
        // Reached one server in ten; the other nine had no broadcast channel.
        let counts = Counts {
            targeted: 10,
            sent: 1,
            skipped: 9,
            ..Counts::default()
        };
        assert_eq!(
            rate_text(&counts),
            "10.0% success (100.0% of servers with a channel)"
        );
        assert_eq!(short_rate_text(&counts), "10.0% success");
    }

    #[test]
    fn a_broadcast_no_server_could_take_says_so() {
        let none_with_a_channel = Counts {
            targeted: 3,
            skipped: 3,
            ..Counts::default()
        };
        assert_eq!(
            rate_text(&none_with_a_channel),
            "0.0% success (no server had a channel)"
        );
        assert_eq!(rate_text(&Counts::default()), "no server targeted");
    }
}
