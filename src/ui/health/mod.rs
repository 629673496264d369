//! `/admin health`: one embed, green / orange / red, with a footer counting warnings.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serenity::all::{CreateEmbed, CreateEmbedFooter};

use super::limits::EMBED_FIELD_VALUE_CHARS;
use super::text::{bytes, discord_time, fit_lines, human_duration, thousands, truncate};
use crate::store::health::{DatabaseFacts, InstanceRow};
use crate::store::maintenance::MaintenanceRow;

pub const GREEN: u32 = 0x57F287;
pub const ORANGE: u32 = 0xFEE75C;
pub const RED: u32 = 0xED4245;

/// Above this share of memory, disk, CPU or connections, a warning.
pub const WARN_RATIO: f64 = 0.90;
/// Database connections above this share of `max_connections`, a warning.
pub const WARN_CONNECTIONS_RATIO: f64 = 0.80;

/// What the machine and this process look like: plain figures, filled in by
/// the background sampler (`telemetry::system`) and shown here.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SystemSnapshot {
    /// Whole-machine CPU use in percent; `None` until two samples exist.
    pub cpu_percent: Option<f32>,
    pub memory_used: u64,
    pub memory_total: u64,
    pub process_rss: Option<u64>,
    pub disk_used: Option<u64>,
    pub disk_total: Option<u64>,
    pub os: String,
}

/// One background task of this process, as the supervisor sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskLine {
    pub name: String,
    /// The bot cannot work without it (`/health` is 503 while it is down).
    pub essential: bool,
    pub running: bool,
    pub restarts: u64,
    pub last_error: Option<String>,
}

/// One gateway shard of this process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardLine {
    pub id: u32,
    pub connected: bool,
    pub latency: Option<Duration>,
}

/// Everything the health embed shows.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthReport {
    /// The health-check endpoint answered 200.
    pub bot_online: bool,
    /// What was asked and what came back, e.g. "GET 127.0.0.1:8080/health: 200".
    pub status_detail: String,
    pub shards: Vec<ShardLine>,
    /// `None` while the database does not answer.
    pub database: Option<DatabaseFacts>,
    pub pool_in_use: u32,
    pub pool_max: u32,
    pub system: SystemSnapshot,
    pub runtime: String,
    /// `None` while the database does not answer.
    pub instances: Option<Vec<InstanceRow>>,
    /// The background tasks of this process.
    pub tasks: Vec<TaskLine>,
    /// This process's invalid responses from Discord in the last 10
    /// minutes, and its `INVALID_REQUEST_BUDGET`.
    pub invalid_requests: (u32, u32),
    /// Discord's identifies left today (after this process's shards), of
    /// its daily total, and when they reset; `None` before the first read.
    pub identifies_left: Option<(u64, u64, DateTime<Utc>)>,
    pub this_instance: i64,
    /// Maintenance mode's scopes (empty: off).
    pub maintenance: Vec<MaintenanceRow>,
    /// Heartbeats older than this are stale (three heartbeat intervals).
    pub stale_after: TimeDelta,
    pub now: DateTime<Utc>,
}

fn ratio(used: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        used as f64 / total as f64
    }
}

fn used_of(used: u64, total: u64) -> String {
    format!(
        "{} / {} ({:.0}%)",
        bytes(used),
        bytes(total),
        ratio(used, total) * 100.0
    )
}

impl HealthReport {
    fn stale(&self, instance: &InstanceRow) -> bool {
        self.now - instance.last_heartbeat_at > self.stale_after
    }

    /// Every warning, and whether any is critical (the bot is offline).
    pub fn warnings(&self) -> (Vec<String>, bool) {
        let keyed = self.keyed_warnings();
        let critical = keyed.iter().any(|warning| warning.critical);
        (
            keyed.into_iter().map(|warning| warning.text).collect(),
            critical,
        )
    }

    /// Every warning with a stable key (`health:memory`, `health:task:<name>`,
    /// ...), so alerts can follow each one from orange or red back to green.
    pub fn keyed_warnings(&self) -> Vec<HealthWarning> {
        let mut warnings = Vec::new();
        let mut warn = |key: String, text: String, critical: bool| {
            warnings.push(HealthWarning {
                key,
                text,
                critical,
            });
        };
        if !self.bot_online {
            warn(
                "health:bot".to_owned(),
                "the bot is offline (health check failed)".to_owned(),
                true,
            );
        }
        let system = &self.system;
        if ratio(system.memory_used, system.memory_total) > WARN_RATIO {
            warn(
                "health:memory".to_owned(),
                "system memory above 90%".to_owned(),
                false,
            );
        }
        if let (Some(used), Some(total)) = (system.disk_used, system.disk_total)
            && ratio(used, total) > WARN_RATIO
        {
            warn("health:disk".to_owned(), "disk above 90%".to_owned(), false);
        }
        if system
            .cpu_percent
            .is_some_and(|cpu| f64::from(cpu) > WARN_RATIO * 100.0)
        {
            warn("health:cpu".to_owned(), "CPU above 90%".to_owned(), false);
        }
        match &self.database {
            None => warn(
                "health:database".to_owned(),
                "the database is not answering".to_owned(),
                true,
            ),
            Some(db)
                if ratio(
                    db.server_connections.max(0) as u64,
                    db.max_connections.max(0) as u64,
                ) > WARN_CONNECTIONS_RATIO =>
            {
                warn(
                    "health:db_connections".to_owned(),
                    "database connections above 80% of max_connections".to_owned(),
                    false,
                );
            }
            Some(_) => {}
        }
        let stale = self
            .instances
            .iter()
            .flatten()
            .filter(|i| self.stale(i))
            .count();
        if stale > 0 {
            warn(
                "health:processes".to_owned(),
                format!("{stale} bot process(es) with a stale heartbeat"),
                false,
            );
        }
        for task in self.tasks.iter().filter(|task| !task.running) {
            warn(
                format!("health:task:{}", task.name),
                format!("background task {} is down", task.name),
                task.essential,
            );
        }
        warnings
    }
}

/// One warning of the health view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthWarning {
    pub key: String,
    pub text: String,
    /// Turns the view red (the bot offline, the database not answering, an
    /// essential task down); otherwise orange.
    pub critical: bool,
}

/// "All 8 running", or one line per task that is down or was restarted.
fn tasks_text(tasks: &[TaskLine]) -> String {
    let lines: Vec<String> = tasks
        .iter()
        .filter(|task| !task.running || task.restarts > 0)
        .map(|task| {
            let state = if task.running {
                "🟢 running"
            } else {
                "🔴 **down**, restarting"
            };
            let why = task
                .last_error
                .as_deref()
                .map(|error| format!("; last: {}", truncate(error, 120)))
                .unwrap_or_default();
            format!("{state}: `{}` ({} restarts{why})", task.name, task.restarts)
        })
        .collect();
    if lines.is_empty() {
        format!("all {} running", tasks.len())
    } else {
        fit_lines(&lines, EMBED_FIELD_VALUE_CHARS)
    }
}

/// The invalid-request window of this process against its budget, and
/// whether broadcasts hold back for it (at 80 %).
fn refusals_text((refused, budget): (u32, u32)) -> String {
    let pause_at = (budget * 4 / 5).max(1);
    format!(
        "{} of {} in the last 10 min{}",
        thousands(i64::from(refused)),
        thousands(i64::from(budget)),
        if refused >= pause_at {
            "\n🟠 **broadcasts paused**"
        } else {
            ""
        }
    )
}

pub fn render(report: &HealthReport) -> CreateEmbed {
    let (warnings, critical) = report.warnings();
    let color = match (critical, warnings.is_empty()) {
        (true, _) => RED,
        (false, true) => GREEN,
        (false, false) => ORANGE,
    };
    let mut status = vec![format!(
        "{} · {}",
        if report.bot_online {
            "**online**"
        } else {
            "**offline**"
        },
        truncate(&report.status_detail, 200)
    )];
    status.extend(super::maintenance::lines(&report.maintenance));
    status.extend(report.shards.iter().map(|shard| {
        let latency = shard.latency.map_or_else(
            || "latency not measured yet".to_owned(),
            |l| format!("{} ms", l.as_millis()),
        );
        let state = if shard.connected {
            "connected"
        } else {
            "not connected"
        };
        format!("shard {}: {state}, {latency}", shard.id)
    }));
    let system = &report.system;
    let instances: Vec<String> = report
        .instances
        .iter()
        .flatten()
        .map(|instance| {
            let shards = match (instance.shard_ids.first(), instance.shard_ids.last()) {
                (Some(first), Some(last)) if first == last => format!("shard {first}"),
                (Some(first), Some(last)) => format!("shards {first}-{last}"),
                _ => "no shards yet".to_owned(),
            };
            format!(
                "{}`{}` pid {} · {shards} · up {} · heartbeat {}{}",
                if instance.id == report.this_instance {
                    "▶ "
                } else {
                    ""
                },
                truncate(&instance.host, 40),
                instance.pid,
                human_duration(report.now - instance.started_at),
                discord_time(instance.last_heartbeat_at, 'R'),
                if report.stale(instance) {
                    " · **stale**"
                } else {
                    ""
                },
            )
        })
        .collect();
    let footer = match warnings.len() {
        0 => "No warnings".to_owned(),
        n => truncate(&format!("{n} warning(s): {}", warnings.join("; ")), 2048),
    };
    CreateEmbed::new()
        .title("System health")
        .color(color)
        .field(
            "Bot status",
            fit_lines(&status, EMBED_FIELD_VALUE_CHARS),
            false,
        )
        .field(
            "Database",
            match &report.database {
                Some(db) => format!("**ok** · {}", bytes(db.size_bytes.max(0) as u64)),
                None => "🔴 **not answering**".to_owned(),
            },
            true,
        )
        .field(
            "Database connections",
            match &report.database {
                Some(db) => format!(
                    "pool {}/{} in use\nserver {}/{}",
                    report.pool_in_use, report.pool_max, db.server_connections, db.max_connections
                ),
                None => format!("pool {}/{} in use", report.pool_in_use, report.pool_max),
            },
            true,
        )
        .field(
            "Process memory",
            system
                .process_rss
                .map_or_else(|| "unknown".to_owned(), bytes),
            true,
        )
        .field(
            "System memory",
            used_of(system.memory_used, system.memory_total),
            true,
        )
        .field(
            "CPU",
            system
                .cpu_percent
                .map_or_else(|| "sampling…".to_owned(), |cpu| format!("{cpu:.1}%")),
            true,
        )
        .field(
            "Disk",
            match (system.disk_used, system.disk_total) {
                (Some(used), Some(total)) => used_of(used, total),
                _ => "unknown".to_owned(),
            },
            true,
        )
        .field(
            "Discord refusals",
            refusals_text(report.invalid_requests),
            true,
        )
        .field(
            "Identifies left today",
            match report.identifies_left {
                Some((left, total, resets_at)) => format!(
                    "{} of {} · resets {}",
                    thousands(left as i64),
                    thousands(total as i64),
                    discord_time(resets_at, 'R')
                ),
                None => "not read yet".to_owned(),
            },
            true,
        )
        .field("Runtime", truncate(&report.runtime, 1024), false)
        .field(
            "OS",
            truncate(
                if system.os.is_empty() {
                    "unknown"
                } else {
                    &system.os
                },
                1024,
            ),
            true,
        )
        .field(
            "Bot processes",
            match (&report.instances, instances.is_empty()) {
                (None, _) => "unknown while the database does not answer".to_owned(),
                (Some(_), true) => "none recorded".to_owned(),
                (Some(_), false) => fit_lines(&instances, EMBED_FIELD_VALUE_CHARS),
            },
            false,
        )
        .field("Background tasks", tasks_text(&report.tasks), false)
        .footer(CreateEmbedFooter::new(footer))
        .timestamp(report.now)
}

#[cfg(test)]
mod tests;
