//! What `/metrics` exposes, in Prometheus text format: figures of this
//! process (counters since it started, as Prometheus expects of each
//! instance) and the shared guild count the background probe reads.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use super::supervisor::TaskStatus;

/// Broadcast deliveries settled by this process, by outcome.
#[derive(Debug, Default)]
pub struct DeliveryCounters {
    pub sent: AtomicU64,
    pub skipped: AtomicU64,
    pub failed: AtomicU64,
}

impl DeliveryCounters {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// The figures `/metrics` exposes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsSnapshot {
    pub guilds: i64,
    pub database_up: bool,
    pub commands_recorded: u64,
    pub commands_dropped: u64,
    pub guild_events_written: u64,
    pub deliveries_sent: u64,
    pub deliveries_skipped: u64,
    pub deliveries_failed: u64,
    pub resident_memory: u64,
    pub shards_connected: u64,
    pub tasks: Vec<TaskStatus>,
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
    out
}
