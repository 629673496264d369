//! Alert messages (to the alert channel and webhook), the suppression
//! summary and `/admin alerts list`: pure rendering, within Discord's limits
//! whatever the stored text (an error message can be 4000 characters).

use chrono::{DateTime, Utc};
use serenity::all::{CreateEmbed, CreateEmbedFooter};

use super::INFO_COLOR;
use super::health::{GREEN, ORANGE, RED};
use super::limits::{EMBED_DESCRIPTION_CHARS, EMBED_FIELD_VALUE_CHARS, EMBED_TITLE_CHARS};
use super::text::{discord_time, fit_lines, human_duration, truncate};
use crate::store::alerts::{AlertRow, MuteRow};

/// What an alert message says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Firing,
    Resolved,
    /// `/admin alerts test`.
    Test,
}

/// One alert message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertMessage {
    pub key: String,
    pub title: String,
    pub detail: String,
    pub phase: Phase,
    /// When the condition started.
    pub since: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

/// The footer names the key, so whoever reads it knows what to mute.
pub fn footer_for(key: &str) -> String {
    format!("alert key: {key} · /admin alerts mute key:{key}")
}

pub fn render_alert(alert: &AlertMessage) -> CreateEmbed {
    let (prefix, color) = match alert.phase {
        Phase::Firing => ("🔴 ", RED),
        Phase::Resolved => ("✅ Resolved: ", GREEN),
        Phase::Test => ("🧪 ", INFO_COLOR),
    };
    let title = truncate(&format!("{prefix}{}", alert.title), EMBED_TITLE_CHARS);
    let when = match alert.phase {
        Phase::Resolved => format!(
            "Lasted {} (since {}).",
            human_duration(alert.now - alert.since),
            discord_time(alert.since, 'f')
        ),
        _ => format!("Since {}.", discord_time(alert.since, 'f')),
    };
    let detail = truncate(
        &alert.detail,
        EMBED_DESCRIPTION_CHARS - when.chars().count() - 2,
    );
    CreateEmbed::new()
        .title(title)
        .color(color)
        .description(format!("{detail}\n\n{when}"))
        .footer(CreateEmbedFooter::new(truncate(
            &footer_for(&alert.key),
            300,
        )))
        .timestamp(alert.now)
}

/// The one message for the alerts the hourly budget held back.
pub fn render_summary(count: i32, keys: &[String], max_per_hour: u32) -> CreateEmbed {
    let mut unique: Vec<String> = Vec::new();
    for key in keys {
        let line = format!("`{}`", truncate(key, 100));
        if !unique.contains(&line) {
            unique.push(line);
        }
    }
    let intro = format!(
        "The limit of {max_per_hour} alert messages an hour was reached, so {count} more were not sent. Their keys:\n"
    );
    let room = EMBED_DESCRIPTION_CHARS - intro.chars().count();
    CreateEmbed::new()
        .title(format!("{count} alert(s) suppressed"))
        .color(ORANGE)
        .description(format!("{intro}{}", fit_lines(&unique, room)))
        .footer(CreateEmbedFooter::new(
            "alert key: summary · /admin alerts list shows what is active",
        ))
}

/// Everything `/admin alerts list` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertOverview {
    pub alerts: Vec<AlertRow>,
    pub mutes: Vec<MuteRow>,
    pub channel: Option<u64>,
    pub webhook: bool,
    pub sent_this_hour: i32,
    pub suppressed_this_hour: i32,
    pub max_per_hour: u32,
    pub now: DateTime<Utc>,
}

fn line_for(row: &AlertRow, now: DateTime<Utc>) -> String {
    let state = if row.state == "active" {
        format!(
            "since {}{}",
            discord_time(row.first_seen_at, 'R'),
            if row.notified { "" } else { " (not sent yet)" }
        )
    } else {
        let at = row.resolved_at.unwrap_or(now);
        format!(
            "resolved {} after {}",
            discord_time(at, 'R'),
            human_duration(at - row.first_seen_at)
        )
    };
    format!(
        "`{}` {}: {state}",
        truncate(&row.key, 100),
        truncate(&row.title, 120)
    )
}

fn field_text(lines: &[String], empty: &str) -> String {
    if lines.is_empty() {
        empty.to_owned()
    } else {
        fit_lines(lines, EMBED_FIELD_VALUE_CHARS)
    }
}

pub fn render_overview(overview: &AlertOverview) -> CreateEmbed {
    let (active, recent): (Vec<&AlertRow>, Vec<&AlertRow>) = overview
        .alerts
        .iter()
        .partition(|row| row.state == "active");
    let lines = |rows: &[&AlertRow]| -> Vec<String> {
        rows.iter().map(|row| line_for(row, overview.now)).collect()
    };
    let mutes: Vec<String> = overview
        .mutes
        .iter()
        .map(|mute| {
            format!(
                "`{}` until {} (by <@{}>)",
                truncate(&mute.key, 100),
                discord_time(mute.until, 'f'),
                mute.muted_by
            )
        })
        .collect();
    let delivery = format!(
        "channel: {} · webhook: {}\n{} of {} messages this hour{}",
        overview
            .channel
            .map_or_else(|| "not set".to_owned(), |id| format!("<#{id}>")),
        if overview.webhook { "set" } else { "not set" },
        overview.sent_this_hour,
        overview.max_per_hour,
        match overview.suppressed_this_hour {
            0 => String::new(),
            n => format!(", {n} suppressed"),
        }
    );
    CreateEmbed::new()
        .title("Alerts")
        .color(if active.is_empty() { GREEN } else { RED })
        .field(
            format!("Active ({})", active.len()),
            field_text(&lines(&active), "none"),
            false,
        )
        .field(
            format!("Resolved in the last day ({})", recent.len()),
            field_text(&lines(&recent), "none"),
            false,
        )
        .field(
            format!("Muted ({})", mutes.len()),
            field_text(&mutes, "none"),
            false,
        )
        .field("Delivery", delivery, false)
}

#[cfg(test)]
mod tests;
