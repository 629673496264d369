//! Each process refreshes its `bot_instances` row, so every process can show
//! which others are alive and when the bot last restarted.

use std::time::Duration;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::error::cause_chain;
use crate::store::instances;

/// How often the row is refreshed; a row three intervals old is stale.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(30);

/// The resident memory of this process, if the OS tells us.
pub fn process_memory_bytes() -> Option<u64> {
    let pid = sysinfo::get_current_pid().ok()?;
    let mut system = sysinfo::System::new().ok()?;
    system.refresh_processes(sysinfo::ProcessesToUpdate::Some(&[pid]), true);
    system.process(pid).map(sysinfo::Process::memory)
}

pub async fn run_heartbeat(pool: PgPool, instance_id: i64, shutdown: CancellationToken) {
    let mut ticker = tokio::time::interval(HEARTBEAT_INTERVAL);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = ticker.tick() => {
                let memory = tokio::task::spawn_blocking(process_memory_bytes).await.ok().flatten();
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
