//! `/admin health`: one embed, green / orange / red, with a footer counting warnings.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serenity::all::{CreateEmbed, CreateEmbedFooter};

use super::limits::EMBED_FIELD_VALUE_CHARS;
use super::text::{bytes, discord_time, fit_lines, human_duration, truncate};
use crate::store::health::{DatabaseFacts, InstanceRow};

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
    pub database: DatabaseFacts,
    pub pool_in_use: u32,
    pub pool_max: u32,
    pub system: SystemSnapshot,
    pub runtime: String,
    pub instances: Vec<InstanceRow>,
    pub this_instance: i64,
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
        let mut warnings = Vec::new();
        if !self.bot_online {
            warnings.push("the bot is offline (health check failed)".to_owned());
        }
        let system = &self.system;
        if ratio(system.memory_used, system.memory_total) > WARN_RATIO {
            warnings.push("system memory above 90%".to_owned());
        }
        if let (Some(used), Some(total)) = (system.disk_used, system.disk_total)
            && ratio(used, total) > WARN_RATIO
        {
            warnings.push("disk above 90%".to_owned());
        }
        if system
            .cpu_percent
            .is_some_and(|cpu| f64::from(cpu) > WARN_RATIO * 100.0)
        {
            warnings.push("CPU above 90%".to_owned());
        }
        let db = &self.database;
        if ratio(
            db.server_connections.max(0) as u64,
            db.max_connections.max(0) as u64,
        ) > WARN_CONNECTIONS_RATIO
        {
            warnings.push("database connections above 80% of max_connections".to_owned());
        }
        let stale = self.instances.iter().filter(|i| self.stale(i)).count();
        if stale > 0 {
            warnings.push(format!("{stale} bot process(es) with a stale heartbeat"));
        }
        (warnings, !self.bot_online)
    }
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
    let db = &report.database;
    let instances: Vec<String> = report
        .instances
        .iter()
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
        .field("Database size", bytes(db.size_bytes.max(0) as u64), true)
        .field(
            "Database connections",
            format!(
                "pool {}/{} in use\nserver {}/{}",
                report.pool_in_use, report.pool_max, db.server_connections, db.max_connections
            ),
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
            if instances.is_empty() {
                "none recorded".to_owned()
            } else {
                fit_lines(&instances, EMBED_FIELD_VALUE_CHARS)
            },
            false,
        )
        .footer(CreateEmbedFooter::new(footer))
        .timestamp(report.now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::limits::embed_violations;

    fn report() -> HealthReport {
        let now = Utc::now();
        HealthReport {
            bot_online: true,
            status_detail: "GET 127.0.0.1:8080/health: 200".into(),
            shards: vec![ShardLine {
                id: 0,
                connected: true,
                latency: Some(Duration::from_millis(42)),
            }],
            database: DatabaseFacts {
                size_bytes: 10 << 20,
                server_connections: 5,
                max_connections: 100,
            },
            pool_in_use: 1,
            pool_max: 10,
            system: SystemSnapshot {
                cpu_percent: Some(12.5),
                memory_used: 4 << 30,
                memory_total: 16 << 30,
                process_rss: Some(50 << 20),
                disk_used: Some(10 << 30),
                disk_total: Some(100 << 30),
                os: "Debian GNU/Linux 12".into(),
            },
            runtime: "rustc 1.95.0 · admin-panel 0.1.0".into(),
            instances: vec![InstanceRow {
                id: 1,
                host: "h".into(),
                pid: 7,
                shard_ids: vec![0, 1],
                shard_count: Some(2),
                started_at: now - TimeDelta::hours(2),
                last_heartbeat_at: now,
            }],
            this_instance: 1,
            stale_after: TimeDelta::seconds(90),
            now,
        }
    }

    fn json(report: &HealthReport) -> serde_json::Value {
        serde_json::to_value(render(report)).unwrap()
    }

    #[test]
    fn a_healthy_bot_is_green_without_warnings() {
        let embed = json(&report());
        assert_eq!(embed["color"], GREEN);
        assert_eq!(embed["footer"]["text"], "No warnings");
    }

    #[test]
    fn a_stale_process_or_a_full_disk_turns_it_orange_and_offline_turns_it_red() {
        let mut stale = report();
        stale.instances[0].last_heartbeat_at = stale.now - TimeDelta::minutes(5);
        let embed = json(&stale);
        assert_eq!(embed["color"], ORANGE);
        assert!(embed.to_string().contains("**stale**"));
        assert!(
            embed["footer"]["text"]
                .as_str()
                .unwrap()
                .starts_with("1 warning")
        );
        let mut full = report();
        full.system.disk_used = Some(99 << 30);
        assert_eq!(json(&full)["color"], ORANGE);
        let mut offline = report();
        offline.bot_online = false;
        assert_eq!(json(&offline)["color"], RED);
    }

    #[test]
    fn many_processes_and_shards_stay_within_discords_limits() {
        let mut big = report();
        big.shards = (0..500)
            .map(|id| ShardLine {
                id,
                connected: false,
                latency: None,
            })
            .collect();
        big.instances = (0..200)
            .map(|id| InstanceRow {
                id,
                host: "x".repeat(300),
                ..big.instances[0].clone()
            })
            .collect();
        assert_eq!(embed_violations(&json(&big)), Vec::<String>::new());
    }
}
