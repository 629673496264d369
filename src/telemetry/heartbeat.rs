//! Each process refreshes its `bot_instances` row, so every process can show
//! which others are alive, which of their shards are connected, and when the
//! bot last restarted.

use std::sync::Arc;
use std::time::Duration;

use serenity::all::ConnectionStage;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::error::cause_chain;
use crate::store::instances;
use crate::telemetry::health_server::HealthShared;
use crate::telemetry::system::SystemSampler;

/// How often the row is refreshed; a row three intervals old is stale.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(30);
/// A process whose heartbeat is older than this (three intervals) is stale.
pub const STALE_AFTER: Duration = Duration::from_secs(HEARTBEAT_INTERVAL.as_secs() * 3);

/// Refreshes this process's row (with its memory, from the shared sampler)
/// until `shutdown`, then marks it stopped.
pub async fn run_heartbeat(
    pool: PgPool,
    instance_id: i64,
    system: SystemSampler,
    health: Arc<HealthShared>,
    shutdown: CancellationToken,
) {
    let mut ticker = tokio::time::interval(HEARTBEAT_INTERVAL);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = ticker.tick() => {
                let memory = system.snapshot().process_rss;
                let connected = connected_shards(&health).await;
                if let Err(error) = instances::heartbeat(&pool, instance_id, memory, connected).await {
                    tracing::warn!(error = %cause_chain(&error), "heartbeat failed");
                }
            }
        }
    }
    if let Err(error) = instances::mark_stopped(&pool, instance_id).await {
        tracing::warn!(error = %cause_chain(&error), "could not mark this instance stopped");
    }
}

/// The shards of this process connected now, for other processes to see;
/// `None` when the panel does not know this process's shards.
async fn connected_shards(health: &HealthShared) -> Option<Vec<i32>> {
    health.shard_managers.get()?;
    Some(
        health
            .shards()
            .await
            .into_iter()
            .filter(|shard| shard.stage == ConnectionStage::Connected)
            .map(|shard| i32::try_from(shard.id).unwrap_or(i32::MAX))
            .collect(),
    )
}
