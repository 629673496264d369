//! Alerts to the developers: a background task that evaluates what is wrong
//! (bursts of errors, a command failing, `/admin health` orange or red,
//! broadcasts with many failures, servers leaving) every `ALERT_INTERVAL` and tells the alert
//! channel and webhook once per key. The database decides which process
//! sends each message ([`crate::store::alerts`]), so any number of bot
//! processes evaluating the same conditions send each alert once; at most one
//! message per key per 10 minutes, at most `ALERT_MAX_PER_HOUR` in all (the
//! rest summarized in one message), nothing for a muted key.

pub mod conditions;
pub mod deliver;
mod health;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serenity::all::Http;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::config::{AlertConfig, REPEAT_AFTER};
use crate::error::cause_chain;
use crate::store::alerts::{self as store, Claim, Observation};
use crate::store::{alert_sources as sources, health as facts};
use crate::telemetry::health_server::HealthShared;
use crate::telemetry::heartbeat::STALE_AFTER;
use crate::telemetry::supervisor::TaskBoard;
use crate::telemetry::system::SystemSampler;
use crate::ui::alerts::{AlertMessage, Phase, render_alert, render_summary};
use conditions::{
    announces_resolution, broadcast_alerts, command_alerts, error_alerts, invalid_request_alert,
    server_alert,
};

/// What the evaluator reads and sends with, and nothing more.
#[derive(Debug, Clone)]
pub struct AlertState {
    /// The background pool: alerts never take an interaction's connection.
    pub pool: PgPool,
    /// Sends the alerts to the alert channel.
    pub http: Arc<Http>,
    /// What is alerted, when, and where.
    pub config: AlertConfig,
    /// This process's `bot_instances` id.
    pub instance_id: i64,
    /// This machine's name, as alerts name it.
    pub host: String,
    /// Shard and database state, as `/health` reads it.
    pub health: Arc<HealthShared>,
    /// The supervised tasks, for the "task keeps failing" alert.
    pub tasks: Arc<TaskBoard>,
    /// Memory and CPU, for the resource alerts.
    pub system: SystemSampler,
    /// The alert channel as last read, for when the database does not answer.
    pub last_channel: Arc<std::sync::Mutex<Option<u64>>>,
    /// Told of Discord's answers; once the bot token is refused, no alert
    /// is sent with it.
    pub guard: Arc<crate::discord_guard::DiscordGuard>,
}

/// What one evaluation did (tests read it; the loop ignores it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Conditions that hold now.
    pub firing: usize,
    /// Messages this process sent: alerts, resolutions, summaries.
    pub sent: usize,
    /// Alerts this process counted against the spent budget.
    pub suppressed: usize,
    /// The database did not answer: only the outage was dealt with.
    pub outage: bool,
}

/// The evaluator; clones share their memory of shards and outages.
#[derive(Debug, Clone)]
pub struct AlertEvaluator {
    state: AlertState,
    memory: Arc<health::Memory>,
}

impl AlertEvaluator {
    /// An evaluator over `state`, remembering nothing yet.
    pub fn new(state: AlertState) -> Self {
        Self {
            state,
            memory: Arc::default(),
        }
    }

    /// What it evaluates with.
    pub fn state(&self) -> &AlertState {
        &self.state
    }

    /// Evaluates every `ALERT_INTERVAL` until `stop`, or until the bot token
    /// is refused (then it waits for `stop`: stopped on purpose, not a task
    /// to restart).
    pub async fn run(&self, stop: CancellationToken) {
        let mut ticker = tokio::time::interval(self.state.config.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first tick waits one interval: shards are still connecting.
        ticker.tick().await;
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = self.state.guard.revoked().cancelled() => {
                    stop.cancelled().await;
                    return;
                }
                _ = ticker.tick() => {}
            }
            if let Err(error) = self.tick().await {
                tracing::warn!(error = %cause_chain(error.as_ref()), "alert evaluation failed");
            }
        }
    }

    /// One evaluation: record what holds, resolve what stopped, announce what
    /// is new, summarize what the budget held back. Public so tests (and a
    /// host) can drive it.
    pub async fn tick(&self) -> Result<TickReport, Box<dyn std::error::Error + Send + Sync>> {
        let state = &self.state;
        let database =
            tokio::time::timeout(Duration::from_secs(5), facts::database_facts(&state.pool)).await;
        let Ok(Ok(database)) = database else {
            return Ok(self.memory.outage(state).await);
        };
        let mut report = TickReport::default();
        report.sent += self.memory.recovered(state).await;
        let observations = self.observe(database).await?;
        report.firing = observations.len();
        store::observe(&state.pool, &observations).await?;

        let firing: Vec<String> = observations.into_iter().map(|o| o.key).collect();
        let stale = STALE_AFTER;
        for key in store::unresolved(&state.pool, &firing, state.instance_id, stale).await? {
            let claim = store::claim_resolution(
                &state.pool,
                &key,
                announces_resolution(&key),
                state.config.max_per_hour,
            )
            .await?;
            self.settle(claim, Phase::Resolved, &mut report).await;
        }
        if deliver::has_destination(state).await? {
            for key in store::unannounced(&state.pool, REPEAT_AFTER).await? {
                let claim = store::claim_activation(
                    &state.pool,
                    &key,
                    REPEAT_AFTER,
                    state.config.max_per_hour,
                )
                .await?;
                self.settle(claim, Phase::Firing, &mut report).await;
            }
        }
        if let Some(suppressed) = store::claim_summary(&state.pool).await? {
            let embed = render_summary(
                suppressed.count,
                &suppressed.keys,
                state.config.max_per_hour,
            );
            deliver::deliver(state, "summary", embed).await;
            report.sent += 1;
        }
        Ok(report)
    }

    async fn settle(&self, claim: Claim, phase: Phase, report: &mut TickReport) {
        match claim {
            Claim::Send(row) => {
                let message = AlertMessage {
                    key: row.key.clone(),
                    title: row.title,
                    detail: row.detail,
                    phase,
                    since: row.first_seen_at,
                    now: Utc::now(),
                };
                deliver::deliver(&self.state, &row.key, render_alert(&message)).await;
                report.sent += 1;
            }
            Claim::Suppressed => report.suppressed += 1,
            Claim::Nothing => {}
        }
    }

    /// Every condition that holds now, from every source.
    async fn observe(
        &self,
        database: facts::DatabaseFacts,
    ) -> Result<Vec<Observation>, sqlx::Error> {
        let state = &self.state;
        let config = &state.config;
        let (bursts, command_bursts, failed, left) = tokio::try_join!(
            sources::error_bursts(&state.pool, config.error_window, config.error_count),
            sources::command_bursts(&state.pool, config.error_window, config.error_count),
            sources::failed_broadcasts(&state.pool, config.broadcast_failed_percent),
            sources::servers_left_last_hour(&state.pool),
        )?;
        let mut observations = error_alerts(&bursts, config);
        observations.extend(command_alerts(&command_bursts, config));
        observations.extend(broadcast_alerts(&failed, config));
        observations.extend(server_alert(left, config));
        let window = state.guard.invalid_requests();
        observations.extend(invalid_request_alert(
            state.instance_id,
            &state.host,
            window.in_window(),
            window.budget(),
        ));
        observations.extend(self.memory.health_alerts(state, database).await?);
        Ok(observations)
    }
}
