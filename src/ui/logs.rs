//! `/admin logs`: a page of operational log entries, one entry opened in full,
//! and the CSV export.

use serenity::all::{CreateEmbed, CreateEmbedFooter};

use super::INFO_COLOR;
use super::csv::SafeCsv;
use super::limits::EMBED_DESCRIPTION_CHARS;
use super::pager::SelectItem;
use super::text::{discord_time, fit_lines, truncate};
use crate::store::logs::{LogEntry, LogFilter, Severity};

/// Entries per page.
pub const PAGE_SIZE: usize = 10;
/// How much of each message a page shows (the full text is one click away).
const MESSAGE_PREVIEW_CHARS: usize = 280;
pub const CSV_FILE: &str = "logs.csv";

fn icon(severity: &str) -> &'static str {
    match Severity::parse(severity) {
        Some(Severity::Error) => "🔴",
        Some(Severity::Warning) => "🟠",
        _ => "🔵",
    }
}

/// "severity error · type guild_join · guild 123 · newest 50".
pub fn describe_filter(filter: &LogFilter) -> String {
    let mut parts = Vec::new();
    if let Some(severity) = filter.severity {
        parts.push(format!("severity **{}**", severity.as_str()));
    }
    if let Some(event_type) = &filter.event_type {
        parts.push(format!("type `{}`", truncate(event_type, 64)));
    }
    if let Some(guild) = filter.guild_id {
        parts.push(format!("server `{guild}`"));
    }
    parts.push(format!("newest {}", filter.limit));
    parts.join(" · ")
}

/// Page `page` (0-based) of `entries`.
pub fn render_page(
    entries: &[LogEntry],
    filter: &LogFilter,
    page: usize,
    pages: usize,
) -> (CreateEmbed, Vec<SelectItem>) {
    let shown: Vec<&LogEntry> = entries
        .iter()
        .skip(page * PAGE_SIZE)
        .take(PAGE_SIZE)
        .collect();
    let mut lines = vec![
        format!("Filters: {}", describe_filter(filter)),
        String::new(),
    ];
    if shown.is_empty() {
        lines.push("No log entries match.".to_owned());
    }
    for entry in &shown {
        let guild = entry
            .guild_id
            .map(|g| format!(" · server `{g}`"))
            .unwrap_or_default();
        let message =
            truncate(&entry.message.replace('\n', " "), MESSAGE_PREVIEW_CHARS).replace('`', "'");
        lines.push(format!(
            "{} {} **{}** `{}`{guild}\n{message}",
            discord_time(entry.created_at, 'f'),
            icon(&entry.severity),
            entry.severity,
            entry.event_type,
        ));
    }
    let items = shown
        .iter()
        .map(|entry| SelectItem {
            label: format!("#{} {} {}", entry.id, entry.severity, entry.event_type),
            value: entry.id.to_string(),
            description: Some(truncate(&entry.message.replace('\n', " "), 100)),
        })
        .collect();
    let embed = CreateEmbed::new()
        .title(format!("Operational logs ({} shown)", entries.len()))
        .color(INFO_COLOR)
        .description(fit_lines(&lines, EMBED_DESCRIPTION_CHARS))
        .footer(CreateEmbedFooter::new(format!(
            "Newest first · page {} of {} · times in your time zone",
            page + 1,
            pages.max(1)
        )));
    (embed, items)
}

/// One entry in full.
pub fn render_entry(entry: &LogEntry) -> CreateEmbed {
    let color = match Severity::parse(&entry.severity) {
        Some(Severity::Error) => 0xED4245,
        Some(Severity::Warning) => 0xFAA61A,
        _ => INFO_COLOR,
    };
    let mut embed = CreateEmbed::new()
        .title(format!("Log entry #{}", entry.id))
        .color(color)
        .description(truncate(&entry.message, EMBED_DESCRIPTION_CHARS))
        .field(
            "Time",
            format!(
                "{} ({})",
                discord_time(entry.created_at, 'F'),
                discord_time(entry.created_at, 'R')
            ),
            false,
        )
        .field(
            "Severity",
            format!("{} {}", icon(&entry.severity), entry.severity),
            true,
        )
        .field("Event type", format!("`{}`", entry.event_type), true);
    if let Some(guild) = entry.guild_id {
        embed = embed.field("Server", format!("`{guild}`"), true);
    }
    embed
}

/// Every entry as CSV with a header row (RFC 3339 UTC times).
pub fn to_csv(entries: &[LogEntry]) -> Result<Vec<u8>, csv::Error> {
    let mut csv = SafeCsv::new(&[
        "id",
        "created_at",
        "severity",
        "event_type",
        "guild_id",
        "message",
    ])?;
    for entry in entries {
        csv.row([
            entry.id.to_string(),
            entry
                .created_at
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            entry.severity.clone(),
            entry.event_type.clone(),
            entry.guild_id.map(|g| g.to_string()).unwrap_or_default(),
            entry.message.clone(),
        ])?;
    }
    csv.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::limits::embed_violations;
    use chrono::Utc;

    fn entry(id: i64, message: &str) -> LogEntry {
        LogEntry {
            id,
            created_at: Utc::now(),
            severity: "error".into(),
            event_type: "command_error".into(),
            guild_id: Some(123),
            message: message.into(),
        }
    }

    fn filter() -> LogFilter {
        LogFilter {
            severity: Some(Severity::Error),
            event_type: Some("command_error".into()),
            guild_id: Some(123),
            limit: 500,
        }
    }

    #[test]
    fn pages_and_entries_stay_within_discords_limits() {
        let entries: Vec<LogEntry> = (0..500).map(|i| entry(i, &"m\n`".repeat(2000))).collect();
        let (embed, items) = render_page(&entries, &filter(), 49, 50);
        assert_eq!(
            embed_violations(&serde_json::to_value(embed).unwrap()),
            Vec::<String>::new()
        );
        assert_eq!(items.len(), 10);
        let full = serde_json::to_value(render_entry(&entries[0])).unwrap();
        assert_eq!(embed_violations(&full), Vec::<String>::new());
    }

    #[test]
    fn csv_has_a_header_and_quotes_what_needs_quoting() {
        let csv = to_csv(&[entry(7, "a, \"quoted\"\nline")]).unwrap();
        let text = String::from_utf8(csv).unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        assert_eq!(
            reader.headers().unwrap(),
            vec![
                "id",
                "created_at",
                "severity",
                "event_type",
                "guild_id",
                "message"
            ]
        );
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 1);
        assert_eq!(&rows[0][0], "7");
        assert_eq!(&rows[0][5], "a, \"quoted\"\nline");
    }
}
