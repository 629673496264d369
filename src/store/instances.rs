//! The `bot_instances` table: one row per running bot process, so any process can
//! report uptime and restarts for all of them.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// Registers this process at start-up; returns its instance id.
pub async fn register(
    pool: &PgPool,
    host: &str,
    pid: u32,
    version: &str,
    started_at: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_scalar(
        "INSERT INTO bot_instances (host, pid, version, started_at, last_heartbeat_at)
         VALUES ($1, $2, $3, $4, now()) RETURNING id",
    )
    .bind(host)
    .bind(i32::try_from(pid).unwrap_or(i32::MAX))
    .bind(version)
    .bind(started_at)
    .fetch_one(pool)
    .await
}

/// Records that a shard of this process is connected (shards are only known
/// once Discord has said how many there are).
pub async fn add_shard(
    pool: &PgPool,
    instance_id: i64,
    shard_id: u32,
    shard_count: u32,
) -> Result<(), sqlx::Error> {
    // language=PostgreSQL
    sqlx::query(
        "UPDATE bot_instances
            SET shard_ids = ARRAY(SELECT DISTINCT s FROM unnest(array_append(shard_ids, $2)) AS s ORDER BY s),
                shard_count = $3
          WHERE id = $1",
    )
    .bind(instance_id)
    .bind(i32::try_from(shard_id).unwrap_or(i32::MAX))
    .bind(i32::try_from(shard_count).unwrap_or(i32::MAX))
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn heartbeat(
    pool: &PgPool,
    instance_id: i64,
    memory_bytes: Option<u64>,
    connected_shards: Option<Vec<i32>>,
) -> Result<(), sqlx::Error> {
    // language=PostgreSQL
    sqlx::query(
        "UPDATE bot_instances SET last_heartbeat_at = now(), memory_bytes = $2, connected_shards = $3
          WHERE id = $1",
    )
    .bind(instance_id)
    .bind(memory_bytes.map(|bytes| i64::try_from(bytes).unwrap_or(i64::MAX)))
    .bind(connected_shards)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn mark_stopped(pool: &PgPool, instance_id: i64) -> Result<(), sqlx::Error> {
    // language=PostgreSQL
    sqlx::query("UPDATE bot_instances SET stopped_at = now() WHERE id = $1")
        .bind(instance_id)
        .execute(pool)
        .await?;
    Ok(())
}

/// When the most recent bot process started: the last restart.
pub async fn last_restart(
    db: impl sqlx::PgExecutor<'_>,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_scalar("SELECT max(started_at) FROM bot_instances")
        .fetch_one(db)
        .await
}

/// Processes that are running (not stopped, heartbeat within three 30 s
/// intervals): the broadcast worker splits `BROADCAST_RATE` between them.
pub async fn running_count(pool: &PgPool) -> Result<i64, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_scalar(
        "SELECT count(*) FROM bot_instances
          WHERE stopped_at IS NULL AND last_heartbeat_at > now() - interval '90 seconds'",
    )
    .fetch_one(pool)
    .await
}
