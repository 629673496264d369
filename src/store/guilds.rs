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

/// Inserts or refreshes a guild (and its default settings row). Returns `true`
/// when this is a join: the guild was unknown or had left. A GUILD_CREATE for a
/// guild we already have (every reconnect sends one) is only a refresh.
#[tracing::instrument(skip_all, fields(guild_id = guild.id))]
pub async fn upsert(pool: &PgPool, guild: &GuildSnapshot) -> Result<bool, sqlx::Error> {
    // language=PostgreSQL
    let joined: bool = sqlx::query_scalar(
        r#"
        WITH previous AS (SELECT left_at FROM guilds WHERE id = $1),
        upserted AS (
            INSERT INTO guilds (id, name, icon_hash, member_count, joined_at, left_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, NULL, now())
            ON CONFLICT (id) DO UPDATE
               SET name = EXCLUDED.name, icon_hash = EXCLUDED.icon_hash,
                   member_count = EXCLUDED.member_count, joined_at = EXCLUDED.joined_at,
                   left_at = NULL, updated_at = now()
            RETURNING id
        ),
        settings AS (
            INSERT INTO guild_settings (guild_id) SELECT id FROM upserted
            ON CONFLICT (guild_id) DO NOTHING
        )
        SELECT NOT EXISTS (SELECT 1 FROM previous WHERE left_at IS NULL) FROM upserted
        "#,
    )
    .bind(db_id(guild.id))
    .bind(&guild.name)
    .bind(&guild.icon_hash)
    .bind(i32::try_from(guild.member_count).unwrap_or(i32::MAX))
    .bind(guild.joined_at)
    .fetch_one(pool)
    .await?;
    Ok(joined)
}

/// GUILD_UPDATE: name and icon may change; the member count is not in it.
#[tracing::instrument(skip_all, fields(guild_id = id))]
pub async fn refresh(
    pool: &PgPool,
    id: u64,
    name: &str,
    icon_hash: Option<&str>,
) -> Result<(), sqlx::Error> {
    // language=PostgreSQL
    sqlx::query("UPDATE guilds SET name = $2, icon_hash = $3, updated_at = now() WHERE id = $1")
        .bind(db_id(id))
        .bind(name)
        .bind(icon_hash)
        .execute(pool)
        .await?;
    Ok(())
}

/// Marks an active guild as left. Returns `false` if it was unknown or had
/// already left, so a repeated GUILD_DELETE logs nothing twice.
#[tracing::instrument(skip_all, fields(guild_id = id))]
pub async fn mark_left(pool: &PgPool, id: u64, at: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    // language=PostgreSQL
    let result = sqlx::query(
        "UPDATE guilds SET left_at = $2, updated_at = now() WHERE id = $1 AND left_at IS NULL",
    )
    .bind(db_id(id))
    .bind(at)
    .execute(pool)
    .await?;
    Ok(result.rows_affected() == 1)
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
pub async fn count_active(pool: &PgPool) -> Result<i64, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_scalar("SELECT value FROM stat_counters WHERE name = 'active_guilds'")
        .fetch_one(pool)
        .await
}
