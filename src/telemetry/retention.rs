//! Retention: deletes operational logs older than `LOG_RETENTION_DAYS` and raw
//! command events older than `STATS_RETENTION_DAYS` (their rollups stay; the
//! hourly rollup itself goes after a week), in
//! small batches with a pause between them, so a first run over millions of
//! old rows never holds a long transaction or starves the bot's own queries.
//! The same pass recounts module adoption, healing any drift.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::config::Retention;
use crate::error::cause_chain;
use crate::store::{broadcasts, command_stats, duties, logs, modules, views};

/// Rows per DELETE.
pub const DELETE_BATCH: i64 = 5_000;
/// Pause between batches.
const BATCH_PAUSE: Duration = Duration::from_millis(50);
/// How long the hourly command rollup is kept (it serves the last 48 hours;
/// the daily rollup keeps the same figures for good).
pub const HOURLY_ROLLUP_DAYS: i64 = 7;
/// First look shortly after start (not during the startup rush).
const FIRST_PASS_AFTER: Duration = Duration::from_secs(60);
/// One pass an hour for the whole bot, run by whichever process claims it.
const PASS_INTERVAL: Duration = Duration::from_secs(60 * 60);
/// How often each process looks whether the pass is due: the pass runs at
/// most this late, and a process that died mid-pass is replaced this soon.
const CLAIM_INTERVAL: Duration = Duration::from_secs(5 * 60);

/// What one pass deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Operational log entries.
    pub log_entries: u64,
    /// Raw command events.
    pub command_events: u64,
    /// Hourly rollup rows older than [`HOURLY_ROLLUP_DAYS`].
    pub command_hours: u64,
    /// Stored arguments of lists whose controls expired a day ago or more.
    pub views: u64,
}

/// Until `shutdown`, runs the hourly pass whenever this process (its
/// `bot_instances` id is `instance_id`) claims it: one process does it for
/// the whole bot (`periodic_duties`), not each of them.
pub async fn run_retention(
    pool: PgPool,
    retention: Retention,
    instance_id: i64,
    shutdown: CancellationToken,
) {
    let mut wait = FIRST_PASS_AFTER;
    loop {
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = shutdown.cancelled() => return,
        }
        wait = CLAIM_INTERVAL;
        match duties::claim_if_due(&pool, duties::RETENTION, instance_id, PASS_INTERVAL).await {
            Ok(true) => run_pass(&pool, retention, &shutdown).await,
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(error = %cause_chain(&error), "could not claim the retention pass; trying again later")
            }
        }
    }
}

/// One retention pass: old rows, expired progress tokens, module adoption.
async fn run_pass(pool: &PgPool, retention: Retention, shutdown: &CancellationToken) {
    match purge(pool, retention, Utc::now(), shutdown).await {
        Ok(purged) if purged != Purged::default() => tracing::info!(
            log_entries = purged.log_entries,
            command_events = purged.command_events,
            command_hours = purged.command_hours,
            views = purged.views,
            "retention deleted old rows"
        ),
        Ok(_) => {}
        Err(error) => {
            tracing::warn!(error = %cause_chain(&error), "retention pass failed; retrying next hour")
        }
    }
    if let Err(error) = broadcasts::clear_expired_progress_tokens(pool).await {
        tracing::warn!(error = %cause_chain(&error), "could not clear expired progress tokens");
    }
    if let Err(error) = modules::recount(pool).await {
        tracing::warn!(error = %cause_chain(&error), "module adoption recount failed");
    }
}

/// Deletes every row past its retention as of `now`, batch by batch; stops
/// early (keeping what it did) when `shutdown` fires.
pub async fn purge(
    pool: &PgPool,
    retention: Retention,
    now: DateTime<Utc>,
    shutdown: &CancellationToken,
) -> Result<Purged, sqlx::Error> {
    let log_cutoff = now - TimeDelta::days(i64::from(retention.log_days));
    let stats_cutoff = now - TimeDelta::days(i64::from(retention.stats_days));
    let log_entries = drain(shutdown, || {
        logs::delete_older_than(pool, log_cutoff, DELETE_BATCH)
    })
    .await?;
    let command_events = drain(shutdown, || {
        command_stats::delete_events_older_than(pool, stats_cutoff, DELETE_BATCH)
    })
    .await?;
    let command_hours = drain(shutdown, || {
        let cutoff = now - TimeDelta::days(HOURLY_ROLLUP_DAYS);
        command_stats::delete_hours_older_than(pool, cutoff, DELETE_BATCH)
    })
    .await?;
    let views = drain(shutdown, || {
        views::delete_expired(pool, now - TimeDelta::days(1), DELETE_BATCH)
    })
    .await?;
    Ok(Purged {
        log_entries,
        command_events,
        command_hours,
        views,
    })
}

async fn drain<F, Fut>(
    shutdown: &CancellationToken,
    mut delete_batch: F,
) -> Result<u64, sqlx::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<u64, sqlx::Error>>,
{
    let mut total = 0;
    loop {
        let deleted = delete_batch().await?;
        total += deleted;
        if deleted < DELETE_BATCH as u64 || shutdown.is_cancelled() {
            return Ok(total);
        }
        tokio::time::sleep(BATCH_PAUSE).await;
    }
}
