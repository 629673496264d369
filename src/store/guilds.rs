//! The `guilds` table: which servers the bot is in, kept current from gateway events.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::db_id;
use crate::permissions::snapshot::{ChannelSnapshot, ServerPermissions};

/// What GUILD_CREATE tells us about a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuildSnapshot {
    pub id: u64,
    pub name: String,
    pub icon_hash: Option<String>,
    pub member_count: u64,
    pub joined_at: DateTime<Utc>,
    /// What decides the bot's permissions there (`None`: not known).
    pub permissions: Option<ServerPermissions>,
    /// The channels the panel posts in, as the event described them.
    pub channels: Vec<ChannelSnapshot>,
}

/// Marks as left every active server of shard `shard` (of `shard_count`)
/// that is not in `present`: READY lists every server of its shard, so one
/// missing from it removed the bot while it was offline (no GUILD_DELETE ever
/// comes for it). Returns the servers marked.
///
/// The difference is taken here, not in SQL: PostgreSQL planned the anti-join
/// against a 100,000-element array as a nested loop (minutes of CPU at a
/// restart), and a plan cannot be pinned. Reading the shard's active ids is
/// one index-free pass of 8 bytes a server; the update then touches only the
/// missing ones. A server refreshed by a GUILD_CREATE since READY (`updated_at`
/// after `at`) is kept. An unchanged GUILD_CREATE leaves `updated_at` as it
/// was, but one for a server missing from READY is never unchanged: that
/// server added the bot back since, and its `joined_at` is new.
pub async fn mark_missing_as_left(
    pool: &PgPool,
    shard: u32,
    shard_count: u32,
    present: &[u64],
    at: DateTime<Utc>,
) -> Result<Vec<u64>, sqlx::Error> {
    // language=PostgreSQL
    let active: Vec<super::DbId> =
        sqlx::query_scalar("SELECT id FROM guilds WHERE left_at IS NULL AND (id >> 22) % $2 = $1")
            .bind(i64::from(shard))
            .bind(i64::from(shard_count.max(1)))
            .fetch_all(pool)
            .await?;
    let present: HashSet<u64> = present.iter().copied().collect();
    let missing: Vec<i64> = active
        .into_iter()
        .map(u64::from)
        .filter(|id| !present.contains(id))
        .map(db_id)
        .collect();
    if missing.is_empty() {
        return Ok(Vec::new());
    }
    // language=PostgreSQL
    let left: Vec<super::DbId> = sqlx::query_scalar(
        "UPDATE guilds SET left_at = $2, updated_at = now()
          WHERE id = ANY($1) AND left_at IS NULL AND updated_at < $2
         RETURNING id",
    )
    .bind(&missing)
    .bind(at)
    .fetch_all(pool)
    .await?;
    Ok(left.into_iter().map(u64::from).collect())
}

/// The number of servers the bot is in now: a counter a trigger keeps in step
/// with the guild rows (migration 0005), so this is one row read, not a count.
pub async fn count_active(db: impl sqlx::PgExecutor<'_>) -> Result<i64, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_scalar("SELECT value FROM stat_counters WHERE name = 'active_guilds'")
        .fetch_one(db)
        .await
}

/// The name of server `id` if the bot is in it now.
pub async fn active_name(pool: &sqlx::PgPool, id: u64) -> Result<Option<String>, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_scalar("SELECT name FROM guilds WHERE id = $1 AND left_at IS NULL")
        .bind(super::db_id(id))
        .fetch_optional(pool)
        .await
}

/// A server's name as last reported by Discord, if the bot knows the server.
pub async fn name(pool: &sqlx::PgPool, guild_id: u64) -> Result<Option<String>, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_scalar("SELECT name FROM guilds WHERE id = $1")
        .bind(super::db_id(guild_id))
        .fetch_optional(pool)
        .await
}
