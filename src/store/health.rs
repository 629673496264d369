//! Database facts for `/admin health` and `/metrics`.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// Database size and server connections.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct DatabaseFacts {
    pub size_bytes: i64,
    pub server_connections: i64,
    pub max_connections: i64,
}

pub async fn database_facts(pool: &PgPool) -> Result<DatabaseFacts, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_as(
        "SELECT pg_database_size(current_database()) AS size_bytes,
                (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend') AS server_connections,
                current_setting('max_connections')::int8 AS max_connections",
    )
    .fetch_one(pool)
    .await
}

/// A bot process from `bot_instances`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct InstanceRow {
    pub id: i64,
    pub host: String,
    pub pid: i32,
    pub shard_ids: Vec<i32>,
    pub shard_count: Option<i32>,
    pub started_at: DateTime<Utc>,
    pub last_heartbeat_at: DateTime<Utc>,
    /// Its shards connected at that heartbeat (`None`: not known).
    pub connected_shards: Option<Vec<i32>>,
}

/// Processes that have not stopped, newest first (at most 20).
pub async fn running_instances(pool: &PgPool) -> Result<Vec<InstanceRow>, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_as(
        "SELECT id, host, pid, shard_ids, shard_count, started_at, last_heartbeat_at, connected_shards
           FROM bot_instances
          WHERE stopped_at IS NULL AND last_heartbeat_at > now() - interval '1 day'
          ORDER BY started_at DESC LIMIT 20",
    )
    .fetch_all(pool)
    .await
}
