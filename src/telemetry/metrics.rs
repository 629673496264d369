//! What `/metrics` exposes, in Prometheus text format: figures of this
//! process (counters since it started, as Prometheus expects of each
//! instance) and the shared guild count the background probe reads.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use super::supervisor::TaskStatus;
use crate::store::command_stats::{CommandEvent, Failures, Outcome};
use crate::store::latency::{BOUNDS_MS, Histogram};

/// One command's figures in this process: durations (arrival to
/// completion) and how many runs ended in each kind of error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandTally {
    /// Durations, in `/metrics` buckets.
    pub durations: Histogram,
    /// The sum of the durations, in milliseconds.
    pub duration_sum_ms: u64,
    /// Runs that ended in an error, by kind.
    pub failures: Failures,
}

impl CommandTally {
    /// Counts one run.
    pub fn add(&mut self, event: &CommandEvent) {
        self.durations.record(event.duration_ms);
        self.duration_sum_ms += u64::from(event.duration_ms);
        self.failures.count(event.outcome);
    }
}

/// Broadcast deliveries settled by this process, by outcome.
#[derive(Debug, Default)]
pub struct DeliveryCounters {
    /// Delivered.
    pub sent: AtomicU64,
    /// Skipped (no broadcast channel, or the category turned off).
    pub skipped: AtomicU64,
    /// Failed for good.
    pub failed: AtomicU64,
}

impl DeliveryCounters {
    /// Adds `n` to `counter`.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// The figures `/metrics` exposes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsSnapshot {
    /// Servers the bot is in.
    pub guilds: i64,
    /// Whether the database answered the last probe.
    pub database_up: bool,
    /// Command uses recorded.
    pub commands_recorded: u64,
    /// Command uses dropped (the recorder's queue was full).
    pub commands_dropped: u64,
    /// Guild events written.
    pub guild_events_written: u64,
    /// Broadcast deliveries sent by this process.
    pub deliveries_sent: u64,
    /// Broadcast deliveries skipped by this process.
    pub deliveries_skipped: u64,
    /// Broadcast deliveries failed in this process.
    pub deliveries_failed: u64,
    /// Resident memory of the process, in bytes.
    pub resident_memory: u64,
    /// Shards of this process that are connected.
    pub shards_connected: u64,
    /// The supervised tasks.
    pub tasks: Vec<TaskStatus>,
    /// Per command: durations and errors.
    pub commands: Vec<(String, CommandTally)>,
    /// POSTs to the Interactions Endpoint by outcome label.
    pub interactions: Vec<(&'static str, u64)>,
    /// Discord's answers: (route group, status class, count).
    pub discord_responses: Vec<(&'static str, &'static str, u64)>,
    /// Invalid responses (401, 403, 429) in the last 10 minutes.
    pub invalid_requests: u64,
    /// `INVALID_REQUEST_BUDGET`.
    pub invalid_request_budget: u64,
}

/// Prometheus text exposition format, version 0.0.4.
pub fn render_metrics(m: &MetricsSnapshot) -> String {
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, samples: &[(String, String)]| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, value) in samples {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    let one = |value: String| [(String::new(), value)];
    metric(
        "admin_panel_guilds",
        "gauge",
        "Servers the bot is in.",
        &one(m.guilds.to_string()),
    );
    metric(
        "admin_panel_database_up",
        "gauge",
        "1 while PostgreSQL answers this process, 0 while it does not.",
        &one(u8::from(m.database_up).to_string()),
    );
    metric(
        "admin_panel_commands_recorded_total",
        "counter",
        "Command events written by this process.",
        &one(m.commands_recorded.to_string()),
    );
    metric(
        "admin_panel_commands_dropped_total",
        "counter",
        "Command events dropped because the queue was full or the database unreachable.",
        &one(m.commands_dropped.to_string()),
    );
    metric(
        "admin_panel_guild_events_written_total",
        "counter",
        "Gateway server events (created, updated, removed) written by this process: a restart's burst is written when it stops growing.",
        &one(m.guild_events_written.to_string()),
    );
    metric(
        "admin_panel_broadcast_deliveries_total",
        "counter",
        "Broadcast deliveries settled by this process, by outcome.",
        &[
            (
                "{outcome=\"sent\"}".to_owned(),
                m.deliveries_sent.to_string(),
            ),
            (
                "{outcome=\"skipped\"}".to_owned(),
                m.deliveries_skipped.to_string(),
            ),
            (
                "{outcome=\"failed\"}".to_owned(),
                m.deliveries_failed.to_string(),
            ),
        ],
    );
    let interactions: Vec<(String, String)> = m
        .interactions
        .iter()
        .map(|(outcome, count)| (format!("{{outcome=\"{outcome}\"}}"), count.to_string()))
        .collect();
    metric(
        "admin_panel_interactions_http_total",
        "counter",
        "Interactions POSTed to this process's Interactions Endpoint, by outcome (accepted, pong, or why refused).",
        &interactions,
    );
    let responses: Vec<(String, String)> = m
        .discord_responses
        .iter()
        .map(|(route, class, count)| {
            (
                format!("{{route=\"{route}\",class=\"{class}\"}}"),
                count.to_string(),
            )
        })
        .collect();
    metric(
        "admin_panel_discord_responses_total",
        "counter",
        "Discord's answers to this process by route group and status class: every error, and the successes of broadcasts, edits, recalls and progress messages.",
        &responses,
    );
    metric(
        "admin_panel_discord_invalid_requests",
        "gauge",
        "Invalid responses (401, 403, 429) this process got in the last 10 minutes; Discord bans an IP at 10,000.",
        &one(m.invalid_requests.to_string()),
    );
    metric(
        "admin_panel_discord_invalid_request_budget",
        "gauge",
        "INVALID_REQUEST_BUDGET: broadcasts, edits and recalls pause at 80 % of it.",
        &one(m.invalid_request_budget.to_string()),
    );
    metric(
        "admin_panel_process_resident_memory_bytes",
        "gauge",
        "Resident memory of this process.",
        &one(m.resident_memory.to_string()),
    );
    metric(
        "admin_panel_shards_connected",
        "gauge",
        "Gateway shards of this process that are connected.",
        &one(m.shards_connected.to_string()),
    );
    let by_task = |value: fn(&TaskStatus) -> String| -> Vec<(String, String)> {
        m.tasks
            .iter()
            .map(|task| (format!("{{task=\"{}\"}}", task.name), value(task)))
            .collect()
    };
    metric(
        "admin_panel_task_up",
        "gauge",
        "1 while the background task runs, 0 while it is down and waiting to restart.",
        &by_task(|task| u8::from(task.state == super::supervisor::TaskState::Running).to_string()),
    );
    metric(
        "admin_panel_task_restarts_total",
        "counter",
        "Times the background task failed (panic or error) and was started again.",
        &by_task(|task| task.restarts.to_string()),
    );
    render_command_metrics(&mut out, &m.commands);
    out
}

/// A label value with `\`, `"` and newlines escaped, as the format asks.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// `admin_panel_command_duration_seconds` (a histogram per command, on the
/// rollups' log-scale bounds) and `admin_panel_command_errors_total` (per
/// command and kind: refused, user_error, internal_error).
fn render_command_metrics(out: &mut String, commands: &[(String, CommandTally)]) {
    let name = "admin_panel_command_duration_seconds";
    let _ = writeln!(
        out,
        "# HELP {name} Time from a command's arrival to its completion, by command.\n# TYPE {name} histogram"
    );
    for (command, tally) in commands {
        let command = label(command);
        let mut cumulative = 0;
        for (bound, count) in BOUNDS_MS.iter().zip(tally.durations.0) {
            cumulative += count;
            let le = f64::from(*bound) / 1000.0;
            let _ = writeln!(
                out,
                "{name}_bucket{{command=\"{command}\",le=\"{le}\"}} {cumulative}"
            );
        }
        let count = tally.durations.count();
        let sum = tally.duration_sum_ms as f64 / 1000.0;
        let _ = writeln!(
            out,
            "{name}_bucket{{command=\"{command}\",le=\"+Inf\"}} {count}\n\
             {name}_sum{{command=\"{command}\"}} {sum}\n\
             {name}_count{{command=\"{command}\"}} {count}"
        );
    }
    let name = "admin_panel_command_errors_total";
    let _ = writeln!(
        out,
        "# HELP {name} Command runs that did not succeed, by command and kind.\n# TYPE {name} counter"
    );
    for (command, tally) in commands {
        let command = label(command);
        for (kind, value) in [
            (Outcome::Refused, tally.failures.refused),
            (Outcome::UserError, tally.failures.user_errors),
            (Outcome::InternalError, tally.failures.internal_errors),
        ] {
            let kind = kind.label();
            let _ = writeln!(
                out,
                "{name}{{command=\"{command}\",kind=\"{kind}\"}} {value}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    fn run(command: &str, duration_ms: u32, outcome: Outcome) -> CommandEvent {
        CommandEvent {
            command: command.to_owned(),
            guild_id: None,
            user_id: 1,
            executed_at: Utc::now(),
            outcome,
            first_response_ms: duration_ms,
            duration_ms,
        }
    }

    #[test]
    fn command_durations_are_a_cumulative_histogram_and_errors_are_labelled_by_kind() {
        let mut tally = CommandTally::default();
        for event in [
            run("admin stats", 5, Outcome::Ok),
            run("admin stats", 100, Outcome::InternalError),
            run("admin stats", 70_000, Outcome::Refused),
        ] {
            tally.add(&event);
        }
        let snapshot = MetricsSnapshot {
            commands: vec![("admin \"stats\"".to_owned(), tally)],
            ..MetricsSnapshot::default()
        };
        let text = render_metrics(&snapshot);
        let series = r#"admin_panel_command_duration_seconds_bucket{command="admin \"stats\"""#;
        assert!(
            text.contains(&format!(r#"{series},le="0.006"}} 1"#)),
            "{text}"
        );
        assert!(text.contains(&format!(r#"{series},le="0.128"}} 2"#)));
        assert!(text.contains(&format!(r#"{series},le="65.536"}} 2"#)));
        assert!(text.contains(&format!(r#"{series},le="+Inf"}} 3"#)));
        assert!(text.contains(
            r#"admin_panel_command_duration_seconds_sum{command="admin \"stats\""} 70.105"#
        ));
        assert!(text.contains(
            r#"admin_panel_command_errors_total{command="admin \"stats\"",kind="internal_error"} 1"#
        ));
        assert!(text.contains(
            r#"admin_panel_command_errors_total{command="admin \"stats\"",kind="refused"} 1"#
        ));
        assert!(text.contains("# TYPE admin_panel_command_duration_seconds histogram"));
    }
}
