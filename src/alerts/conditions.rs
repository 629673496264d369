//! What is alerted, as keyed observations: pure functions from what the
//! sources returned to the rows [`crate::store::alerts::observe`] records.
//! The key is the unit of aggregation, muting and rate limiting: one per
//! error event type, health warning, broadcast, and one for server losses.

use std::time::Duration;

use crate::config::AlertConfig;
use crate::store::alert_sources::{CommandBurst, ErrorBurst, FailedBroadcast};
use crate::store::alerts::Observation;
use crate::ui::health::HealthWarning;
use crate::ui::text::truncate;

/// The key of the server-loss alert.
pub const SERVERS_DROP: &str = "servers:drop";

/// Health warnings that are not alerted: CPU above 90 % is normal for
/// seconds at a time (a restart's burst of guild events, a chart), and the
/// view already shows it to whoever looks.
const QUIET_HEALTH_KEYS: [&str; 1] = ["health:cpu"];

/// Whether a key's end is announced. A failed broadcast is an event, not a
/// state: it "ends" only by leaving the one-day window, which is no news.
pub fn announces_resolution(key: &str) -> bool {
    !key.starts_with("broadcast:")
}

/// A key the database accepts: `[a-z0-9_:.-]`, 1 to 100 characters.
pub fn valid_key(key: &str) -> bool {
    (1..=100).contains(&key.len())
        && key.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | ':' | '.' | '-')
        })
}

fn window_text(window: Duration) -> String {
    humantime::format_duration(window).to_string()
}

fn observation(key: String, title: String, detail: String, owner: Option<i64>) -> Observation {
    Observation {
        key: key.chars().take(100).collect(),
        title: truncate(&title, 200),
        detail: truncate(&detail, 3500),
        owner,
    }
}

/// One alert per event type with a burst of errors (event types are
/// `[a-z0-9_]{1,64}`, so the key is always valid).
pub fn error_alerts(bursts: &[ErrorBurst], config: &AlertConfig) -> Vec<Observation> {
    let window = window_text(config.error_window);
    bursts
        .iter()
        .map(|burst| {
            observation(
                format!("errors:{}", burst.event_type),
                format!("Burst of `{}` errors", burst.event_type),
                format!(
                    "{} errors in the last {window} (alerting from {}). The newest:\n```\n{}\n```\nMore: `/admin logs severity:error event_type:{}`",
                    burst.count,
                    config.error_count,
                    truncate(&burst.example.replace("```", "'''"), 1500),
                    burst.event_type
                ),
                None,
            )
        })
        .collect()
}

/// One alert per process whose invalid-request window (401, 403, 429 in
/// the last 10 minutes) has reached half its `INVALID_REQUEST_BUDGET`:
/// owned by that process, which alone sees its window.
pub fn invalid_request_alert(
    instance_id: i64,
    host: &str,
    refused: u32,
    budget: u32,
) -> Option<Observation> {
    (refused.saturating_mul(2) >= budget).then(|| {
        observation(
            format!("discord:invalid_requests:{instance_id}"),
            "Discord is refusing many requests".to_owned(),
            format!(
                "Process {instance_id} on `{}` got {refused} invalid responses (401, 403, 429) in the last 10 minutes: half or more of its INVALID_REQUEST_BUDGET of {budget}. Discord bans an IP for hours at 10,000 in 10 minutes. Broadcasts, edits and recalls pause at 80 % of the budget; channels that lost the bot's permissions are the usual cause (`/admin broadcast report`).",
                truncate(host, 100)
            ),
            Some(instance_id),
        )
    })
}

/// The key of a command's error burst: `errors:command:admin.stats` (spaces
/// become dots, anything else a key may not hold an underscore).
pub fn command_key(command: &str) -> String {
    let name: String = command
        .chars()
        .map(|c| match c {
            ' ' => '.',
            c if c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-') => c,
            c if c.is_ascii_uppercase() => c.to_ascii_lowercase(),
            _ => '_',
        })
        .collect();
    // Cut, not `truncate`: its ellipsis is no key character.
    format!("errors:command:{name}").chars().take(100).collect()
}

/// One alert per command failing in a burst (internal errors only: a
/// refusal or a user's mistake is the command working).
pub fn command_alerts(bursts: &[CommandBurst], config: &AlertConfig) -> Vec<Observation> {
    let window = window_text(config.error_window);
    bursts
        .iter()
        .map(|burst| {
            let example = match &burst.example {
                Some(example) => format!(
                    "The newest:\n```\n{}\n```",
                    truncate(&example.replace("```", "'''"), 1500)
                ),
                None => "No example was logged (an outage is reported, not logged as an error)."
                    .to_owned(),
            };
            observation(
                command_key(&burst.command),
                format!("`/{}` is failing", truncate(&burst.command, 100)),
                format!(
                    "{} internal errors in the last {window} (alerting from {}). {example}\nMore: `/admin usage command:{}` and `/admin logs severity:error event_type:command_error`",
                    burst.count,
                    config.error_count,
                    truncate(&burst.command, 100),
                ),
                None,
            )
        })
        .collect()
}

/// One alert per broadcast that finished with too many failures.
pub fn broadcast_alerts(failed: &[FailedBroadcast], config: &AlertConfig) -> Vec<Observation> {
    failed
        .iter()
        .map(|broadcast| {
            let attempted = (broadcast.sent + broadcast.failed).max(1);
            let percent = broadcast.failed * 100 / attempted;
            observation(
                format!("broadcast:{}", broadcast.id),
                format!("Broadcast #{} failed for {percent}% of servers", broadcast.id),
                format!(
                    "\"{}\": {} of {attempted} deliveries failed (alerting above {}%). Report: `/admin broadcast report id:{}`",
                    truncate(&broadcast.title, 200),
                    broadcast.failed,
                    config.broadcast_failed_percent,
                    broadcast.id
                ),
                None,
            )
        })
        .collect()
}

/// The server-loss alert, when more servers left in the last hour than allowed.
pub fn server_alert(left_last_hour: i64, config: &AlertConfig) -> Option<Observation> {
    (left_last_hour > i64::from(config.server_leaves_per_hour)).then(|| {
        observation(
            SERVERS_DROP.to_owned(),
            "Sudden drop in servers".to_owned(),
            format!(
                "{left_last_hour} servers removed the bot in the last hour (alerting above {}). See `/admin logs event_type:guild_leave`.",
                config.server_leaves_per_hour
            ),
            None,
        )
    })
}

/// One alert per `/admin health` warning (CPU aside). Warnings about this
/// process (its shards, tasks, machine) belong to it: only it resolves
/// them. Those about the database and every process are anyone's.
pub fn health_alerts(warnings: &[HealthWarning], me: i64, host: &str) -> Vec<Observation> {
    warnings
        .iter()
        .filter(|warning| !QUIET_HEALTH_KEYS.contains(&warning.key.as_str()))
        .map(|warning| {
            let shared = matches!(
                warning.key.as_str(),
                "health:database" | "health:db_connections" | "health:processes"
            );
            let color = if warning.critical { "red" } else { "orange" };
            let whose = if shared {
                String::new()
            } else {
                format!(
                    " Seen by the bot process on `{}` (id {me}).",
                    truncate(host, 60)
                )
            };
            observation(
                warning.key.clone(),
                format!("Health {color}: {}", warning.text),
                format!("`/admin health` is {color}: {}.{whose}", warning.text),
                (!shared).then_some(me),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_key_is_always_valid() {
        assert_eq!(command_key("admin stats"), "errors:command:admin.stats");
        assert_eq!(
            command_key("settings broadcast-channel"),
            "errors:command:settings.broadcast-channel"
        );
        assert!(valid_key(&command_key("Ünïcode Näme ✓")));
        assert!(valid_key(&command_key(&"x".repeat(300))));
    }

    fn warning(key: &str, critical: bool) -> HealthWarning {
        HealthWarning {
            key: key.to_owned(),
            text: format!("{key} text"),
            critical,
        }
    }

    #[test]
    fn keys_follow_the_source_and_are_valid() {
        let config = AlertConfig::default();
        let bursts = [ErrorBurst {
            event_type: "command_error".into(),
            count: 50,
            example: "```boom```".into(),
        }];
        let errors = error_alerts(&bursts, &config);
        assert_eq!(errors[0].key, "errors:command_error");
        assert!(errors[0].detail.contains("50 errors in the last 5m"));
        assert!(!errors[0].detail.contains("```boom```"), "fences defused");
        let failed = [FailedBroadcast {
            id: 42,
            title: "Hi".into(),
            sent: 8,
            failed: 2,
        }];
        let broadcasts = broadcast_alerts(&failed, &config);
        assert_eq!(broadcasts[0].key, "broadcast:42");
        assert!(broadcasts[0].title.contains("20%"));
        assert!(
            server_alert(20, &config).is_none(),
            "20 is not more than 20"
        );
        assert_eq!(server_alert(21, &config).unwrap().key, SERVERS_DROP);
        for observation in errors.iter().chain(&broadcasts) {
            assert!(valid_key(&observation.key), "{}", observation.key);
        }
    }

    #[test]
    fn health_warnings_become_keys_owned_by_the_process_they_describe() {
        let warnings = [
            warning("health:memory", false),
            warning("health:cpu", false),
            warning("health:database", true),
            warning("health:task:recorder", true),
        ];
        let alerts = health_alerts(&warnings, 7, "host-a");
        let keys: Vec<(&str, Option<i64>)> =
            alerts.iter().map(|a| (a.key.as_str(), a.owner)).collect();
        assert_eq!(
            keys,
            [
                ("health:memory", Some(7)),
                ("health:database", None),
                ("health:task:recorder", Some(7)),
            ]
        );
        assert!(alerts[0].title.starts_with("Health orange"));
        assert!(alerts[1].title.starts_with("Health red"));
        assert!(alerts[0].detail.contains("host-a"));
    }

    #[test]
    fn only_events_end_quietly_and_keys_are_checked() {
        assert!(announces_resolution("errors:command_error"));
        assert!(announces_resolution(SERVERS_DROP));
        assert!(!announces_resolution("broadcast:42"));
        assert!(valid_key("health:task:broadcast_worker"));
        for bad in ["", "Errors:x", "errors x", &"a".repeat(101), "ключ"] {
            assert!(!valid_key(bad), "{bad}");
        }
    }
}
