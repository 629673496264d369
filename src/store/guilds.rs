//! The `guilds` table: which servers the bot is in, kept current from gateway events.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::db_id;

/// What GUILD_CREATE tells us about a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuildSnapshot {
    pub id: u64,
    pub name: String,
    pub icon_hash: Option<String>,
    pub member_count: u64,
    pub joined_at: DateTime<Utc>,
}

/// Marks as left every active server of shard `shard` (of `shard_count`)
/// that is not in `present`: READY lists every server of its shard, so one
/// missing from it removed the bot while it was offline (no GUILD_DELETE ever
/// comes for it). Returns the servers marked. One statement; the anti-join
/// over the READY list is a hash join, so 100,000 servers cost one pass.
pub async fn mark_missing_as_left(
    pool: &PgPool,
    shard: u32,
    shard_count: u32,
    present: &[u64],
    at: DateTime<Utc>,
) -> Result<Vec<u64>, sqlx::Error> {
    let present: Vec<i64> = present.iter().map(|id| db_id(*id)).collect();
    // language=PostgreSQL
    let left: Vec<super::DbId> = sqlx::query_scalar(
        "UPDATE guilds g SET left_at = $4, updated_at = now()
          WHERE g.left_at IS NULL
            AND (g.id >> 22) % $2 = $1
            AND NOT EXISTS (SELECT 1 FROM unnest($3::int8[]) AS p(id) WHERE p.id = g.id)
         RETURNING g.id",
    )
    .bind(i64::from(shard))
    .bind(i64::from(shard_count.max(1)))
    .bind(&present)
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
