//! Broadcast views: the composer's preview, delivery progress and report, and
//! the history list.

use chrono::{DateTime, Utc};
use serenity::all::{CreateEmbed, CreateEmbedFooter};

use super::INFO_COLOR;
use super::audience::{describe, widest};
pub use super::broadcast_history::{deliveries_csv, history_page};
use super::followups::{self, marks};
use super::limits::{EMBED_DESCRIPTION_CHARS, EMBED_FIELD_VALUE_CHARS, embed_total_chars};
use super::text::{discord_time, fit_lines, human_duration, thousands, truncate};
use crate::store::broadcasts::{
    Audience, BroadcastRow, Counts, DryRun, FailureGroup, FollowupReport,
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

/// The audience, dry run and schedule shown under the previewed embed.
pub fn preview(
    dry_run: &DryRun,
    category: &str,
    audience: &Audience,
    scheduled_for: Option<DateTime<Utc>>,
) -> CreateEmbed {
    let schedule = match scheduled_for {
        Some(at) => format!("Scheduled for {}.", when(at)),
        None => "Goes out when you press **Send**.".to_owned(),
    };
    let reach = if dry_run.targeted == 0 {
        "This audience matches **no server** right now: Send would deliver nothing.".to_owned()
    } else {
        format!(
            "Reaches **{}** of its **{}** servers; **{}** have no broadcast channel and will be skipped; **{}** do not accept {category} messages.",
            thousands(dry_run.reachable()),
            thousands(dry_run.targeted),
            thousands(dry_run.no_channel),
            thousands(dry_run.category_refused),
        )
    };
    CreateEmbed::new()
        .title("Preview: the message above is exactly what servers receive")
        .color(INFO_COLOR)
        .description(format!(
            "Audience: {}.\n{reach}\n{schedule}\nNothing is sent until you press Send or Schedule.",
            describe(audience)
        ))
}

/// Progress of broadcast `id` while sending, or the final counts.
pub fn progress(id: i64, counts: &Counts, finished: bool, paused: Option<&str>) -> CreateEmbed {
    let done = counts.sent + counts.failed;
    let deliverable = counts.targeted - counts.skipped;
    let title = match (finished, paused) {
        (true, _) => format!("Broadcast #{id} delivered"),
        (false, Some(_)) => format!("Broadcast #{id} paused… {done} of {deliverable}"),
        (false, None) => format!("Broadcast #{id} sending… {done} of {deliverable}"),
    };
    let mut description = counts_text(counts);
    if let (false, Some(reason)) = (finished, paused) {
        description.push_str(&format!("\n**{}**", truncate(reason, 200)));
    }
    CreateEmbed::new()
        .title(title)
        .color(if counts.failed > 0 || (paused.is_some() && !finished) {
            0xFAA61A
        } else {
            0x57F287
        })
        .description(description)
        .footer(CreateEmbedFooter::new(format!(
            "/admin broadcast report id:{id} shows the full report"
        )))
}

/// Why deliveries hold back while the process's invalid-request window is
/// near its budget (`INVALID_REQUEST_BUDGET`).
pub fn invalid_request_pause(refused: u32) -> String {
    format!(
        "paused: Discord refused {} requests in the last 10 minutes",
        thousands(i64::from(refused))
    )
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
    let preview = preview(
        &dry_run,
        widest_category,
        &widest(),
        Some(DateTime::<Utc>::MAX_UTC),
    );
    let counts = Counts {
        targeted: most,
        pending: most,
        sent: most,
        skipped: most,
        failed: most,
        cancelled: most,
    };
    let progress = progress(most, &counts, false, Some(&invalid_request_pause(u32::MAX)));
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
    publishing: &[(String, Option<String>, i64)],
    edits_and_recalls: &[FollowupReport],
) -> CreateEmbed {
    let mut timing = vec![format!(
        "Status: **{}**{}",
        broadcast.status,
        marks(broadcast.edited_at, broadcast.recalled_at)
    )];
    if let Some(requester) = broadcast.approval_requested_by {
        timing.push(format!("Waiting for approval (asked by <@{requester}>)"));
    }
    if let Some(reason) = &broadcast.rejection_reason {
        timing.push(format!("Rejected: {}", truncate(reason, 500)));
    }
    if let Some(reason) = broadcast
        .paused_reason
        .as_ref()
        .filter(|_| broadcast.finished_at.is_none())
    {
        timing.push(format!("**{}**", truncate(reason, 200)));
    }
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
    let (not_sent, refused): (Vec<&FailureGroup>, Vec<&FailureGroup>) =
        failures.iter().partition(|group| group.before_sending);
    let not_sent_lines: Vec<String> = not_sent
        .iter()
        .map(|group| {
            let examples: Vec<String> = group.examples.iter().map(|g| format!("`{g}`")).collect();
            let missing = group
                .error_message
                .strip_prefix("missing permission: ")
                .unwrap_or(&group.error_message);
            format!(
                "**{}** × {}: {}",
                thousands(group.count),
                truncate(missing, 120),
                examples.join(", ")
            )
        })
        .collect();
    let failure_lines: Vec<String> = refused
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
                "channel_deleted" => "channel deleted",
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
        .fields((!not_sent_lines.is_empty()).then(|| {
            (
                "Not sent: missing permissions (known from the gateway; no request made)",
                fit_lines(&not_sent_lines, EMBED_FIELD_VALUE_CHARS),
                false,
            )
        }))
        .footer(CreateEmbedFooter::new(format!(
            "Category: {} · Audience: {}",
            broadcast.message.category,
            describe(&broadcast.audience)
        )));
    if !publishing.is_empty() {
        let lines: Vec<String> = publishing
            .iter()
            .map(|(status, reason, count)| match reason {
                Some(reason) if status == "not_published" => {
                    format!(
                        "**{}** not published: {}",
                        thousands(*count),
                        truncate(reason, 150)
                    )
                }
                _ => format!("**{}** published", thousands(*count)),
            })
            .collect();
        embed = embed.field(
            "Published to followers (announcement channels)",
            fit_lines(&lines, EMBED_FIELD_VALUE_CHARS),
            false,
        );
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::broadcasts::{BroadcastStatus, FollowupKind, MessageFields};
    use crate::ui::limits::embed_violations;

    /// Every part of the report at its widest at once: the longest title,
    /// a rejection reason, every mark, the widest audience, 30 kinds of
    /// failure, 20 publish refusals and 10 edits and recalls with errors.
    #[test]
    fn the_widest_report_stays_within_discords_limits() {
        let now = Utc::now();
        let most = i64::MAX / 4;
        let row = BroadcastRow {
            id: most,
            message: MessageFields {
                category: "announcement".into(),
                title: "T".repeat(256),
                content: None,
                color: None,
                image_url: None,
                footer: None,
            },
            status: BroadcastStatus::Sent,
            created_by: u64::MAX,
            created_at: now,
            scheduled_for: Some(now),
            started_at: Some(now),
            finished_at: Some(now),
            progress_application_id: None,
            progress_token: None,
            progress_token_expires_at: None,
            edited_at: Some(now),
            recalled_at: Some(now),
            audience: crate::ui::audience::widest(),
            approval_requested_by: Some(u64::MAX),
            rejection_reason: Some("r".repeat(500)),
            paused_reason: Some(invalid_request_pause(u32::MAX)),
        };
        let counts = Counts {
            targeted: most,
            pending: most,
            sent: most,
            skipped: most,
            failed: most,
            cancelled: most,
        };
        let failures: Vec<FailureGroup> = (0..30)
            .map(|n| FailureGroup {
                error_code: Some(50_000 + n),
                error_message: "m".repeat(2_000),
                before_sending: n % 2 == 0,
                count: most,
                examples: vec![u64::MAX; 10],
            })
            .collect();
        let skipped = vec![
            ("no_channel".to_owned(), most),
            ("category_refused".to_owned(), most),
            ("channel_deleted".to_owned(), most),
        ];
        let publishing: Vec<(String, Option<String>, i64)> = (0..20)
            .map(|_| ("not_published".to_owned(), Some("p".repeat(500)), most))
            .collect();
        let followups: Vec<FollowupReport> = (0..10)
            .map(|n| FollowupReport {
                id: n,
                kind: FollowupKind::Recall,
                requested_by: u64::MAX,
                requested_at: now,
                finished_at: None,
                targeted: most,
                pending: most,
                done: most,
                gone: most,
                failed: most,
                errors: vec!["e".repeat(500); 3],
                paused_reason: Some(invalid_request_pause(u32::MAX)),
            })
            .collect();
        let embed = report(&row, &counts, &failures, &skipped, &publishing, &followups);
        let json = serde_json::to_value(embed).unwrap();
        assert_eq!(embed_violations(&json), Vec::<String>::new());
    }

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
