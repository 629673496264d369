//! Command events and their rollups. A batch insert updates the hourly, daily,
//! per-guild and distinct-user rollups in the same statement, so readers never
//! scan raw events and the rollups can never drift from the events.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::db_id;

/// One command invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandEvent {
    /// Full path, e.g. `admin stats`.
    pub command: String,
    pub guild_id: Option<u64>,
    pub user_id: u64,
    pub executed_at: DateTime<Utc>,
    pub success: bool,
    pub duration_ms: u32,
}

/// Inserts events and updates every rollup in one statement (one round trip,
/// one transaction). Rollup rows are written in key order so that two processes
/// flushing at once wait for each other instead of deadlocking.
///
/// The transaction commits with `synchronous_commit = off`: it does not wait
/// for its WAL flush, which is most of a small transaction's latency. A crash
/// of PostgreSQL itself can lose the last fraction of a second of command
/// statistics (never corrupt them, never split events from their rollups);
/// nothing else the panel writes is committed this way.
#[tracing::instrument(skip_all, fields(events = events.len()))]
pub async fn insert_batch(pool: &PgPool, events: &[CommandEvent]) -> Result<(), sqlx::Error> {
    if events.is_empty() {
        return Ok(());
    }
    let mut commands = Vec::with_capacity(events.len());
    let mut guilds = Vec::with_capacity(events.len());
    let mut users = Vec::with_capacity(events.len());
    let mut times = Vec::with_capacity(events.len());
    let mut successes = Vec::with_capacity(events.len());
    let mut durations = Vec::with_capacity(events.len());
    for event in events {
        commands.push(event.command.as_str());
        guilds.push(event.guild_id.map(db_id));
        users.push(db_id(event.user_id));
        times.push(event.executed_at);
        successes.push(event.success);
        durations.push(i32::try_from(event.duration_ms).unwrap_or(i32::MAX));
    }
    let mut transaction = pool.begin().await?;
    // language=PostgreSQL
    sqlx::query("SET LOCAL synchronous_commit = off")
        .execute(&mut *transaction)
        .await?;
    // language=PostgreSQL
    sqlx::query(
        r#"
        WITH batch AS (
            SELECT * FROM UNNEST($1::text[], $2::int8[], $3::int8[], $4::timestamptz[], $5::bool[], $6::int4[])
                AS b(command, guild_id, user_id, executed_at, success, duration_ms)
        ),
        raw AS (
            INSERT INTO command_stats (command, guild_id, user_id, executed_at, success, duration_ms)
            SELECT command, guild_id, user_id, executed_at, success, duration_ms FROM batch
        ),
        hourly AS (
            INSERT INTO command_stats_hourly AS h (hour, command, uses, failures)
            SELECT date_trunc('hour', executed_at, 'UTC'), command,
                   count(*), count(*) FILTER (WHERE NOT success)
              FROM batch GROUP BY 1, 2 ORDER BY 1, 2
            ON CONFLICT (hour, command) DO UPDATE
               SET uses = h.uses + EXCLUDED.uses, failures = h.failures + EXCLUDED.failures
        ),
        daily AS (
            INSERT INTO command_stats_daily AS d (day, command, uses, failures, total_duration_ms)
            SELECT (executed_at AT TIME ZONE 'UTC')::date, command,
                   count(*), count(*) FILTER (WHERE NOT success), sum(duration_ms)
              FROM batch GROUP BY 1, 2 ORDER BY 1, 2
            ON CONFLICT (day, command) DO UPDATE
               SET uses = d.uses + EXCLUDED.uses, failures = d.failures + EXCLUDED.failures,
                   total_duration_ms = d.total_duration_ms + EXCLUDED.total_duration_ms
        ),
        guild_daily AS (
            INSERT INTO command_stats_guild_daily AS g (day, guild_id, uses)
            SELECT (executed_at AT TIME ZONE 'UTC')::date, guild_id, count(*)
              FROM batch WHERE guild_id IS NOT NULL GROUP BY 1, 2 ORDER BY 2, 1
            ON CONFLICT (guild_id, day) DO UPDATE SET uses = g.uses + EXCLUDED.uses
        ),
        new_users AS (
            INSERT INTO command_users (user_id, first_seen_at)
            SELECT user_id, min(executed_at) FROM batch GROUP BY user_id ORDER BY user_id
            ON CONFLICT (user_id) DO NOTHING
            RETURNING user_id
        )
        UPDATE stat_counters SET value = value + (SELECT count(*) FROM new_users)
         WHERE name = 'unique_users'
        "#,
    )
    .bind(&commands)
    .bind(&guilds)
    .bind(&users)
    .bind(&times)
    .bind(&successes)
    .bind(&durations)
    .execute(&mut *transaction)
    .await?;
    transaction.commit().await?;
    Ok(())
}

/// Uses of one command over a period.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CommandUses {
    pub command: String,
    pub uses: i64,
}

/// Every command used in the 24 hours before `now`, most used first. Whole hours
/// come from the hourly rollup; only the partial hour at the window's start is
/// read from raw events (an index range of at most one hour), so the answer is
/// exact without scanning a day of events.
#[tracing::instrument(skip_all)]
pub async fn last_24h_by_command(
    pool: &PgPool,
    now: DateTime<Utc>,
) -> Result<Vec<CommandUses>, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_as(
        r#"
        WITH bounds AS (
            SELECT $1::timestamptz - interval '24 hours' AS since,
                   date_trunc('hour', $1::timestamptz - interval '24 hours', 'UTC') + interval '1 hour' AS first_full_hour
        ),
        per_command AS (
            SELECT h.command, h.uses
              FROM command_stats_hourly h, bounds
             WHERE h.hour >= bounds.first_full_hour AND h.hour <= $1
            UNION ALL
            SELECT c.command, count(*)
              FROM command_stats c, bounds
             WHERE c.executed_at >= bounds.since AND c.executed_at < bounds.first_full_hour
             GROUP BY c.command
        )
        SELECT command, sum(uses)::int8 AS uses
          FROM per_command GROUP BY command ORDER BY uses DESC, command
        "#,
    )
    .bind(now)
    .fetch_all(pool)
    .await
}

/// Distinct users who ever ran a command (a maintained counter, not a count).
pub async fn unique_users(pool: &PgPool) -> Result<i64, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_scalar("SELECT value FROM stat_counters WHERE name = 'unique_users'")
        .fetch_one(pool)
        .await
}

/// Deletes up to `batch` raw events older than `cutoff` (the rollups keep their
/// counts); returns how many went. The table has no key, so rows are picked by
/// their physical address through the BRIN time index.
pub async fn delete_events_older_than(
    pool: &PgPool,
    cutoff: DateTime<Utc>,
    batch: i64,
) -> Result<u64, sqlx::Error> {
    // language=PostgreSQL
    let result = sqlx::query(
        r#"
        DELETE FROM command_stats WHERE ctid = ANY (ARRAY (
            SELECT ctid FROM command_stats WHERE executed_at < $1 LIMIT $2
        ))
        "#,
    )
    .bind(cutoff)
    .bind(batch)
    .execute(pool)
    .await?;
    Ok(result.rows_affected())
}
