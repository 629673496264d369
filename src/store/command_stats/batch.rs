//! Writing a batch of command events with every rollup it adds to.

use std::collections::BTreeMap;

use chrono::{DateTime, DurationRound, NaiveDate, TimeDelta, Utc};
use sqlx::{PgConnection, PgPool};

use super::{CommandEvent, Failures};
use crate::store::db_id;
use crate::store::latency::{BUCKETS, Histogram};

/// What one rollup row (a command's hour or day) gains from a batch.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Tally {
    uses: i64,
    failures: Failures,
    total_duration_ms: i64,
    response: Histogram,
    completion: Histogram,
}

impl Tally {
    fn add(&mut self, event: &CommandEvent) {
        self.uses += 1;
        self.failures.count(event.outcome);
        self.total_duration_ms += i64::from(event.duration_ms);
        self.response.record(event.first_response_ms);
        self.completion.record(event.duration_ms);
    }
}

/// Rollup rows as the columns of one UNNEST: histograms flattened, each row's
/// [`BUCKETS`] counts after the previous row's, sliced apart again in SQL.
#[derive(Debug, Default)]
struct TallyColumns {
    uses: Vec<i64>,
    failures: Vec<i64>,
    refused: Vec<i64>,
    user_errors: Vec<i64>,
    internal_errors: Vec<i64>,
    total_duration_ms: Vec<i64>,
    response: Vec<i64>,
    completion: Vec<i64>,
}

impl TallyColumns {
    fn of<'t>(tallies: impl ExactSizeIterator<Item = &'t Tally>) -> Self {
        let rows = tallies.len();
        let mut columns = Self {
            response: Vec::with_capacity(rows * BUCKETS),
            completion: Vec::with_capacity(rows * BUCKETS),
            ..Self::default()
        };
        for tally in tallies {
            columns.uses.push(tally.uses);
            columns.failures.push(tally.failures.total());
            columns.refused.push(tally.failures.refused);
            columns.user_errors.push(tally.failures.user_errors);
            columns.internal_errors.push(tally.failures.internal_errors);
            columns.total_duration_ms.push(tally.total_duration_ms);
            columns.response.extend_from_slice(&tally.response.0);
            columns.completion.extend_from_slice(&tally.completion.0);
        }
        columns
    }
}

/// The rollup rows one batch adds to, summed in Rust so the database gets a
/// few hundred pre-aggregated rows instead of grouping a thousand events four
/// times. Every map is ordered by its table's key, the order rows are locked
/// in, so two writers flushing at once queue up instead of deadlocking.
#[derive(Debug, Default)]
struct BatchRollups<'a> {
    hourly: BTreeMap<(DateTime<Utc>, &'a str), Tally>,
    daily: BTreeMap<(NaiveDate, &'a str), Tally>,
    guild_daily: BTreeMap<(i64, NaiveDate), i64>,
    first_seen: BTreeMap<i64, DateTime<Utc>>,
}

impl<'a> BatchRollups<'a> {
    fn of(events: &'a [CommandEvent]) -> Self {
        let mut rollups = Self::default();
        for event in events {
            let day = event.executed_at.date_naive();
            let hour = event
                .executed_at
                .duration_trunc(TimeDelta::hours(1))
                .unwrap_or(event.executed_at);
            let command = event.command.as_str();
            rollups
                .hourly
                .entry((hour, command))
                .or_default()
                .add(event);
            rollups.daily.entry((day, command)).or_default().add(event);
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
    let successes: Vec<bool> = events.iter().map(CommandEvent::succeeded).collect();
    let outcomes: Vec<i16> = events.iter().map(|e| e.outcome.code()).collect();
    let millis = |ms: u32| i32::try_from(ms).unwrap_or(i32::MAX);
    let durations: Vec<i32> = events.iter().map(|e| millis(e.duration_ms)).collect();
    let first_responses: Vec<i32> = events.iter().map(|e| millis(e.first_response_ms)).collect();
    let (guild_ids, guild_days, guild_uses): (Vec<i64>, Vec<NaiveDate>, Vec<i64>) = rollups
        .guild_daily
        .iter()
        .map(|(&(guild, day), &uses)| (guild, day, uses))
        .collect();
    // language=PostgreSQL
    sqlx::query(
        r#"
        WITH raw AS (
            INSERT INTO command_stats (command, guild_id, user_id, executed_at, success, duration_ms,
                                       outcome, first_response_ms)
            SELECT * FROM UNNEST($1::text[], $2::int8[], $3::int8[], $4::timestamptz[], $5::bool[],
                                 $6::int4[], $7::int2[], $8::int4[])
        )
        INSERT INTO command_stats_guild_daily AS g (guild_id, day, uses)
        SELECT * FROM UNNEST($9::int8[], $10::date[], $11::int8[])
        ON CONFLICT (guild_id, day) DO UPDATE SET uses = g.uses + EXCLUDED.uses
        "#,
    )
    .bind(&commands)
    .bind(&guilds)
    .bind(&users)
    .bind(&times)
    .bind(&successes)
    .bind(&durations)
    .bind(&outcomes)
    .bind(&first_responses)
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

/// The rows every batch shares: per-command hourly and daily counts and
/// histograms, and the unique-user counter. Each row's histograms arrive
/// flattened and are sliced out by its ordinal.
async fn add_to_shared_rollups(
    connection: &mut PgConnection,
    rollups: &BatchRollups<'_>,
    new_users: i64,
) -> Result<(), sqlx::Error> {
    let hours: Vec<DateTime<Utc>> = rollups.hourly.keys().map(|&(hour, _)| hour).collect();
    let hour_commands: Vec<&str> = rollups.hourly.keys().map(|&(_, command)| command).collect();
    let hourly = TallyColumns::of(rollups.hourly.values());
    let days: Vec<NaiveDate> = rollups.daily.keys().map(|&(day, _)| day).collect();
    let day_commands: Vec<&str> = rollups.daily.keys().map(|&(_, command)| command).collect();
    let daily = TallyColumns::of(rollups.daily.values());
    // language=PostgreSQL
    sqlx::query(
        r#"
        WITH hourly AS (
            INSERT INTO command_stats_hourly AS h
                   (hour, command, uses, failures, refused, user_errors, internal_errors,
                    response_ms, completion_ms)
            SELECT r.hour, r.command, r.uses, r.failures, r.refused, r.user_errors, r.internal_errors,
                   ($8::int8[])[(r.i - 1) * $21 + 1 : r.i * $21],
                   ($9::int8[])[(r.i - 1) * $21 + 1 : r.i * $21]
              FROM UNNEST($1::timestamptz[], $2::text[], $3::int8[], $4::int8[], $5::int8[],
                          $6::int8[], $7::int8[])
                   WITH ORDINALITY AS r(hour, command, uses, failures, refused, user_errors,
                                        internal_errors, i)
            ON CONFLICT (hour, command) DO UPDATE
               SET uses = h.uses + EXCLUDED.uses, failures = h.failures + EXCLUDED.failures,
                   refused = h.refused + EXCLUDED.refused,
                   user_errors = h.user_errors + EXCLUDED.user_errors,
                   internal_errors = h.internal_errors + EXCLUDED.internal_errors,
                   response_ms = admin_panel_add_counts(h.response_ms, EXCLUDED.response_ms),
                   completion_ms = admin_panel_add_counts(h.completion_ms, EXCLUDED.completion_ms)
        ),
        daily AS (
            INSERT INTO command_stats_daily AS d
                   (day, command, uses, failures, refused, user_errors, internal_errors,
                    total_duration_ms, response_ms, completion_ms)
            SELECT r.day, r.command, r.uses, r.failures, r.refused, r.user_errors,
                   r.internal_errors, r.total_duration_ms,
                   ($18::int8[])[(r.i - 1) * $21 + 1 : r.i * $21],
                   ($19::int8[])[(r.i - 1) * $21 + 1 : r.i * $21]
              FROM UNNEST($10::date[], $11::text[], $12::int8[], $13::int8[], $14::int8[],
                          $15::int8[], $16::int8[], $17::int8[])
                   WITH ORDINALITY AS r(day, command, uses, failures, refused, user_errors,
                                        internal_errors, total_duration_ms, i)
            ON CONFLICT (day, command) DO UPDATE
               SET uses = d.uses + EXCLUDED.uses, failures = d.failures + EXCLUDED.failures,
                   refused = d.refused + EXCLUDED.refused,
                   user_errors = d.user_errors + EXCLUDED.user_errors,
                   internal_errors = d.internal_errors + EXCLUDED.internal_errors,
                   total_duration_ms = d.total_duration_ms + EXCLUDED.total_duration_ms,
                   response_ms = admin_panel_add_counts(d.response_ms, EXCLUDED.response_ms),
                   completion_ms = admin_panel_add_counts(d.completion_ms, EXCLUDED.completion_ms)
        )
        UPDATE stat_counters SET value = value + $20
         WHERE name = 'unique_users' AND $20 > 0
        "#,
    )
    .bind(&hours)
    .bind(&hour_commands)
    .bind(&hourly.uses)
    .bind(&hourly.failures)
    .bind(&hourly.refused)
    .bind(&hourly.user_errors)
    .bind(&hourly.internal_errors)
    .bind(&hourly.response)
    .bind(&hourly.completion)
    .bind(&days)
    .bind(&day_commands)
    .bind(&daily.uses)
    .bind(&daily.failures)
    .bind(&daily.refused)
    .bind(&daily.user_errors)
    .bind(&daily.internal_errors)
    .bind(&daily.total_duration_ms)
    .bind(&daily.response)
    .bind(&daily.completion)
    .bind(new_users)
    .bind(BUCKETS as i32)
    .execute(connection)
    .await?;
    Ok(())
}
