//! Each process refreshes its `bot_instances` row, so every process can show
//! which others are alive and when the bot last restarted.

use std::time::Duration;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::error::cause_chain;
use crate::store::instances;
use crate::telemetry::system::SystemSampler;

/// How often the row is refreshed; a row three intervals old is stale.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(30);

/// Refreshes this process's row (with its memory, from the shared sampler)
/// until `shutdown`, then marks it stopped.
pub async fn run_heartbeat(
    pool: PgPool,
    instance_id: i64,
    system: SystemSampler,
    shutdown: CancellationToken,
) {
    let mut ticker = tokio::time::interval(HEARTBEAT_INTERVAL);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = ticker.tick() => {
                let memory = system.snapshot().process_rss;
                if let Err(error) = instances::heartbeat(&pool, instance_id, memory).await {
                    tracing::warn!(error = %cause_chain(&error), "heartbeat failed");
                }
            }
        }
    }
    if let Err(error) = instances::mark_stopped(&pool, instance_id).await {
        tracing::warn!(error = %cause_chain(&error), "could not mark this instance stopped");
    }
}
