//! Command events and their rollups. A batch insert updates the hourly, daily,
//! per-guild and distinct-user rollups in the same transaction, so readers
//! never scan raw events and the rollups can never drift from the events.

use std::collections::BTreeMap;

use chrono::{DateTime, DurationRound, NaiveDate, TimeDelta, Utc};
use sqlx::{PgConnection, PgPool};

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

/// The rollup rows one batch adds to, summed in Rust so the database gets a
/// few hundred pre-aggregated rows instead of grouping a thousand events four
/// times. Every map is ordered by its table's key, the order rows are locked
/// in, so two writers flushing at once queue up instead of deadlocking.
#[derive(Debug, Default)]
struct BatchRollups<'a> {
    hourly: BTreeMap<(DateTime<Utc>, &'a str), (i64, i64)>,
    daily: BTreeMap<(NaiveDate, &'a str), (i64, i64, i64)>,
    guild_daily: BTreeMap<(i64, NaiveDate), i64>,
    first_seen: BTreeMap<i64, DateTime<Utc>>,
}

impl<'a> BatchRollups<'a> {
    fn of(events: &'a [CommandEvent]) -> Self {
        let mut rollups = Self::default();
        for event in events {
            let failed = i64::from(!event.success);
            let day = event.executed_at.date_naive();
            let hour = event
                .executed_at
                .duration_trunc(TimeDelta::hours(1))
                .unwrap_or(event.executed_at);
            let command = event.command.as_str();
            let hourly = rollups.hourly.entry((hour, command)).or_default();
            hourly.0 += 1;
            hourly.1 += failed;
            let daily = rollups.daily.entry((day, command)).or_default();
            daily.0 += 1;
            daily.1 += failed;
            daily.2 += i64::from(event.duration_ms);
            if let Some(guild) = event.guild_id {
                *rollups.guild_daily.entry((db_id(guild), day)).or_default() += 1;
            }
            rollups
                .first_seen
                .entry(db_id(event.user_id))
                .and_modify(|seen| *seen = (*seen).min(event.executed_at))
                .or_insert(event.executed_at);
        }
        rollups
    }
}

/// Inserts events and updates every rollup in one transaction, so the rollups
/// can never drift from the events.
///
/// Three statements, in lock order. First the raw events and the per-server
/// daily counts: the flusher splits batches between writers by server, so two
/// concurrent batches never share these rows and this part runs in parallel.
/// Then the rows concurrent batches can share, each set sorted by key so
/// writers queue up instead of deadlocking: the first sightings of users
/// (a new user seen by both batches makes the second wait for the first's
/// commit), then the hourly and daily per-command rows and the unique-user
/// counter (shared by every batch). A second writer therefore does the
/// per-server half of its work while the first still holds the shared rows,
/// and waits only for the other's tail, never for its whole transaction.
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
    let rollups = BatchRollups::of(events);
    let mut transaction = pool.begin().await?;
    // language=PostgreSQL
    sqlx::query("SET LOCAL synchronous_commit = off")
        .execute(&mut *transaction)
        .await?;
    insert_events(&mut transaction, events, &rollups).await?;
    let new_users = insert_new_users(&mut transaction, &rollups).await?;
    add_to_shared_rollups(&mut transaction, &rollups, new_users).await?;
    transaction.commit().await?;
    Ok(())
}

/// The raw events and the per-server daily counts.
async fn insert_events(
    connection: &mut PgConnection,
    events: &[CommandEvent],
    rollups: &BatchRollups<'_>,
) -> Result<(), sqlx::Error> {
    let commands: Vec<&str> = events.iter().map(|e| e.command.as_str()).collect();
    let guilds: Vec<Option<i64>> = events.iter().map(|e| e.guild_id.map(db_id)).collect();
    let users: Vec<i64> = events.iter().map(|e| db_id(e.user_id)).collect();
    let times: Vec<DateTime<Utc>> = events.iter().map(|e| e.executed_at).collect();
    let successes: Vec<bool> = events.iter().map(|e| e.success).collect();
    let durations: Vec<i32> = events
        .iter()
        .map(|e| i32::try_from(e.duration_ms).unwrap_or(i32::MAX))
        .collect();
    let (guild_ids, guild_days, guild_uses): (Vec<i64>, Vec<NaiveDate>, Vec<i64>) = rollups
        .guild_daily
        .iter()
        .map(|(&(guild, day), &uses)| (guild, day, uses))
        .collect();
    // language=PostgreSQL
    sqlx::query(
        r#"
        WITH raw AS (
            INSERT INTO command_stats (command, guild_id, user_id, executed_at, success, duration_ms)
            SELECT * FROM UNNEST($1::text[], $2::int8[], $3::int8[], $4::timestamptz[], $5::bool[], $6::int4[])
        )
        INSERT INTO command_stats_guild_daily AS g (guild_id, day, uses)
        SELECT * FROM UNNEST($7::int8[], $8::date[], $9::int8[])
        ON CONFLICT (guild_id, day) DO UPDATE SET uses = g.uses + EXCLUDED.uses
        "#,
    )
    .bind(&commands)
    .bind(&guilds)
    .bind(&users)
    .bind(&times)
    .bind(&successes)
    .bind(&durations)
    .bind(&guild_ids)
    .bind(&guild_days)
    .bind(&guild_uses)
    .execute(connection)
    .await?;
    Ok(())
}

/// First sightings of users, in user order; returns how many users are new.
async fn insert_new_users(
    connection: &mut PgConnection,
    rollups: &BatchRollups<'_>,
) -> Result<i64, sqlx::Error> {
    let (user_ids, first_seen): (Vec<i64>, Vec<DateTime<Utc>>) = rollups
        .first_seen
        .iter()
        .map(|(&user, &at)| (user, at))
        .unzip();
    // language=PostgreSQL
    sqlx::query_scalar(
        r#"
        WITH new_users AS (
            INSERT INTO command_users (user_id, first_seen_at)
            SELECT * FROM UNNEST($1::int8[], $2::timestamptz[])
            ON CONFLICT (user_id) DO NOTHING
            RETURNING user_id
        )
        SELECT count(*) FROM new_users
        "#,
    )
    .bind(&user_ids)
    .bind(&first_seen)
    .fetch_one(connection)
    .await
}

/// The rows every batch shares: per-command hourly and daily counts and the
/// unique-user counter.
async fn add_to_shared_rollups(
    connection: &mut PgConnection,
    rollups: &BatchRollups<'_>,
    new_users: i64,
) -> Result<(), sqlx::Error> {
    let mut hours = Vec::with_capacity(rollups.hourly.len());
    let mut hour_commands = Vec::with_capacity(rollups.hourly.len());
    let mut hour_uses = Vec::with_capacity(rollups.hourly.len());
    let mut hour_failures = Vec::with_capacity(rollups.hourly.len());
    for (&(hour, command), &(uses, failures)) in &rollups.hourly {
        hours.push(hour);
        hour_commands.push(command);
        hour_uses.push(uses);
        hour_failures.push(failures);
    }
    let mut days = Vec::with_capacity(rollups.daily.len());
    let mut day_commands = Vec::with_capacity(rollups.daily.len());
    let mut day_uses = Vec::with_capacity(rollups.daily.len());
    let mut day_failures = Vec::with_capacity(rollups.daily.len());
    let mut day_durations = Vec::with_capacity(rollups.daily.len());
    for (&(day, command), &(uses, failures, duration)) in &rollups.daily {
        days.push(day);
        day_commands.push(command);
        day_uses.push(uses);
        day_failures.push(failures);
        day_durations.push(duration);
    }
    // language=PostgreSQL
    sqlx::query(
        r#"
        WITH hourly AS (
            INSERT INTO command_stats_hourly AS h (hour, command, uses, failures)
            SELECT * FROM UNNEST($1::timestamptz[], $2::text[], $3::int8[], $4::int8[])
            ON CONFLICT (hour, command) DO UPDATE
               SET uses = h.uses + EXCLUDED.uses, failures = h.failures + EXCLUDED.failures
        ),
        daily AS (
            INSERT INTO command_stats_daily AS d (day, command, uses, failures, total_duration_ms)
            SELECT * FROM UNNEST($5::date[], $6::text[], $7::int8[], $8::int8[], $9::int8[])
            ON CONFLICT (day, command) DO UPDATE
               SET uses = d.uses + EXCLUDED.uses, failures = d.failures + EXCLUDED.failures,
                   total_duration_ms = d.total_duration_ms + EXCLUDED.total_duration_ms
        )
        UPDATE stat_counters SET value = value + $10
         WHERE name = 'unique_users' AND $10 > 0
        "#,
    )
    .bind(&hours)
    .bind(&hour_commands)
    .bind(&hour_uses)
    .bind(&hour_failures)
    .bind(&days)
    .bind(&day_commands)
    .bind(&day_uses)
    .bind(&day_failures)
    .bind(&day_durations)
    .bind(new_users)
    .execute(connection)
    .await?;
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
///
/// The bounds are computed here and bound as values so the planner sees how
/// few rows each side reads. Parallel workers and JIT are switched off for the
/// statement: on a small machine starting them costs more (10-15 ms each,
/// measured at 10 million events) than the whole 5 ms query.
#[tracing::instrument(skip_all)]
pub async fn last_24h_by_command(
    connection: &mut sqlx::PgConnection,
    now: DateTime<Utc>,
) -> Result<Vec<CommandUses>, sqlx::Error> {
    use sqlx::Connection as _;
    let since = now - TimeDelta::hours(24);
    let first_full_hour =
        since.duration_trunc(TimeDelta::hours(1)).unwrap_or(since) + TimeDelta::hours(1);
    let mut transaction = connection.begin().await?;
    // language=PostgreSQL
    sqlx::query(
        "SELECT set_config('jit', 'off', true), set_config('max_parallel_workers_per_gather', '0', true)",
    )
    .execute(&mut *transaction)
    .await?;
    // language=PostgreSQL
    let ranking = sqlx::query_as(
        r#"
        WITH per_command AS (
            SELECT command, uses
              FROM command_stats_hourly
             WHERE hour >= $2 AND hour <= $3
            UNION ALL
            SELECT command, count(*)
              FROM command_stats
             WHERE executed_at >= $1 AND executed_at < $2
             GROUP BY command
        )
        SELECT command, sum(uses)::int8 AS uses
          FROM per_command GROUP BY command ORDER BY uses DESC, command
        "#,
    )
    .bind(since)
    .bind(first_full_hour)
    .bind(now)
    .fetch_all(&mut *transaction)
    .await?;
    transaction.commit().await?;
    Ok(ranking)
}

/// Distinct users who ever ran a command (a maintained counter, not a count).
pub async fn unique_users(db: impl sqlx::PgExecutor<'_>) -> Result<i64, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_scalar("SELECT value FROM stat_counters WHERE name = 'unique_users'")
        .fetch_one(db)
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
    let sql = "DELETE FROM command_stats WHERE ctid = ANY (ARRAY (
                   SELECT ctid FROM command_stats WHERE executed_at < $1 LIMIT $2))";
    super::delete_batch(pool, sql, cutoff, batch).await
}
