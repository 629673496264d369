//! `/admin health` as the alert evaluator sees it, and what it remembers
//! between evaluations: since when each shard is disconnected (a shard
//! connecting at start-up is not an alert), and whether it announced that
//! the database stopped answering.
//!
//! While the database does not answer, the processes cannot ask it who
//! sends: the one with the lowest id among those alive at the last answer
//! does (every process knows the same list), once per 10 minutes, and says
//! so again when the database is back.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use serenity::all::ConnectionStage;

use super::conditions::health_alerts;
use super::{AlertState, TickReport, deliver};
use crate::config::REPEAT_AFTER;
use crate::store::alerts::Observation;
use crate::store::health::{self as facts, DatabaseFacts};
use crate::telemetry::heartbeat::STALE_AFTER;
use crate::telemetry::supervisor::TaskStatus;
use crate::ui::alerts::{AlertMessage, Phase, render_alert};
use crate::ui::health::{HealthReport, ShardLine, TaskLine};

/// A shard counts as disconnected after this long without a connection
/// (serenity reconnects a dropped shard within seconds).
pub const SHARD_GRACE: Duration = Duration::from_secs(30);

const DATABASE_KEY: &str = "health:database";

#[derive(Debug, Default)]
pub(super) struct Memory {
    disconnected_since: Mutex<HashMap<u32, Instant>>,
    /// When this process announced the outage, while it lasts.
    outage_announced: Mutex<Option<(Instant, chrono::DateTime<Utc>)>>,
    /// Processes alive at the database's last answer.
    alive: Mutex<Vec<i64>>,
}

impl Memory {
    /// Shards of this process, `connected: false` only past [`SHARD_GRACE`].
    async fn shards(&self, state: &AlertState) -> Vec<ShardLine> {
        let running = state.health.shards().await;
        let mut since = self
            .disconnected_since
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let mut shards: Vec<ShardLine> = running
            .iter()
            .map(|shard| {
                let connected = shard.stage == ConnectionStage::Connected;
                if connected {
                    since.remove(&shard.id);
                }
                let first = *since.entry(shard.id).or_insert_with(Instant::now);
                ShardLine {
                    id: shard.id,
                    connected: connected || first.elapsed() < SHARD_GRACE,
                    latency: shard.latency,
                }
            })
            .collect();
        since.retain(|id, _| running.iter().any(|shard| shard.id == *id));
        shards.sort_by_key(|shard| shard.id);
        shards
    }

    /// The health warnings of this process and of the database, as alerts.
    pub(super) async fn health_alerts(
        &self,
        state: &AlertState,
        database: DatabaseFacts,
    ) -> Result<Vec<Observation>, sqlx::Error> {
        let instances = facts::running_instances(&state.pool).await?;
        let now = Utc::now();
        let stale_after = TimeDelta::from_std(STALE_AFTER).unwrap_or(TimeDelta::MAX);
        *self.alive.lock().unwrap_or_else(|e| e.into_inner()) = instances
            .iter()
            .filter(|i| now - i.last_heartbeat_at <= stale_after)
            .map(|i| i.id)
            .collect();
        let shards = self.shards(state).await;
        let tasks: Vec<TaskLine> = state
            .tasks
            .statuses()
            .into_iter()
            .map(TaskStatus::line)
            .collect();
        let down: Vec<String> = shards
            .iter()
            .filter(|shard| !shard.connected)
            .map(|shard| format!("shard {} not connected", shard.id))
            .collect();
        let report = HealthReport {
            // As `/health` decides it: every shard connected (the tasks
            // are warned about one by one).
            bot_online: down.is_empty(),
            status_detail: down.join(", "),
            shards,
            database: Some(database),
            pool_in_use: 0,
            pool_max: 0,
            system: state.system.snapshot(),
            runtime: String::new(),
            instances: Some(instances),
            tasks,
            invalid_requests: (
                state.guard.invalid_requests().in_window(),
                state.guard.invalid_requests().budget(),
            ),
            identifies_left: None,
            this_instance: state.instance_id,
            maintenance: Vec::new(),
            stale_after,
            now,
        };
        let mut warnings = report.keyed_warnings();
        for warning in warnings.iter_mut().filter(|w| w.key == "health:bot") {
            warning.text = format!("the bot is offline ({})", report.status_detail);
        }
        Ok(health_alerts(&warnings, state.instance_id, &state.host))
    }

    fn leads(&self, state: &AlertState) -> bool {
        let alive = self.alive.lock().unwrap_or_else(|e| e.into_inner());
        alive
            .iter()
            .min()
            .is_none_or(|lowest| *lowest >= state.instance_id)
    }

    /// The database did not answer: the leading process says so, once per
    /// 10 minutes.
    pub(super) async fn outage(&self, state: &AlertState) -> TickReport {
        let mut report = TickReport {
            outage: true,
            ..TickReport::default()
        };
        if !self.leads(state) {
            return report;
        }
        let since = {
            let mut announced = self
                .outage_announced
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            match *announced {
                Some((at, _)) if at.elapsed() < REPEAT_AFTER => return report,
                Some((_, since)) => {
                    *announced = Some((Instant::now(), since));
                    since
                }
                None => {
                    let since = Utc::now();
                    *announced = Some((Instant::now(), since));
                    since
                }
            }
        };
        self.announce(state, Phase::Firing, since).await;
        report.sent = 1;
        report
    }

    /// The database answers again: the process that announced the outage
    /// says it is over. Messages sent (0 or 1).
    pub(super) async fn recovered(&self, state: &AlertState) -> usize {
        let announced = self
            .outage_announced
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        match announced {
            Some((_, since)) => {
                self.announce(state, Phase::Resolved, since).await;
                1
            }
            None => 0,
        }
    }

    async fn announce(&self, state: &AlertState, phase: Phase, since: chrono::DateTime<Utc>) {
        let message = AlertMessage {
            key: DATABASE_KEY.to_owned(),
            title: "Health red: the database is not answering".to_owned(),
            detail: "PostgreSQL did not answer the alert evaluator within 5 s. Commands, \
                     statistics and broadcasts wait for it; the hourly budget and mutes cannot \
                     be read meanwhile, so this message is not counted against them."
                .to_owned(),
            phase,
            since,
            now: Utc::now(),
        };
        deliver::deliver(state, DATABASE_KEY, render_alert(&message)).await;
    }
}
