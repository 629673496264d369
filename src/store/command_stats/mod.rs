//! Command events and their rollups. A batch insert updates the hourly, daily,
//! per-guild and distinct-user rollups in the same transaction, so readers
//! never scan raw events and the rollups can never drift from the events.

mod batch;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use sqlx::PgPool;

pub use batch::insert_batch;
/// How an invocation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    Ok,
    /// A check refused it (not a developer, a missing permission).
    Refused,
    /// The user's input was not valid ([`crate::UserError`], a bad option).
    UserError,
    /// Ours: an internal error, an outage or a panic.
    InternalError,
}

impl Outcome {
    pub const ALL: [Self; 4] = [
        Self::Ok,
        Self::Refused,
        Self::UserError,
        Self::InternalError,
    ];

    /// The code stored in `command_stats.outcome`.
    pub fn code(self) -> i16 {
        match self {
            Self::Ok => 0,
            Self::Refused => 1,
            Self::UserError => 2,
            Self::InternalError => 3,
        }
    }

    /// The name `/metrics` labels errors with.
    pub fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Refused => "refused",
            Self::UserError => "user_error",
            Self::InternalError => "internal_error",
        }
    }
}

/// How many runs ended in each way but success.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Failures {
    pub refused: i64,
    pub user_errors: i64,
    pub internal_errors: i64,
}

impl Failures {
    pub fn count(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Ok => {}
            Outcome::Refused => self.refused += 1,
            Outcome::UserError => self.user_errors += 1,
            Outcome::InternalError => self.internal_errors += 1,
        }
    }

    pub fn total(&self) -> i64 {
        self.refused + self.user_errors + self.internal_errors
    }
}

/// One command invocation (a slash command, or a press or submit of the
/// panel's controls, counted under the command that drew them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandEvent {
    /// Full path, e.g. `admin stats`.
    pub command: String,
    pub guild_id: Option<u64>,
    pub user_id: u64,
    pub executed_at: DateTime<Utc>,
    pub outcome: Outcome,
    /// From the interaction's arrival to the first response being sent.
    pub first_response_ms: u32,
    /// From the interaction's arrival to the end of its handling.
    pub duration_ms: u32,
}

impl CommandEvent {
    pub fn succeeded(&self) -> bool {
        self.outcome == Outcome::Ok
    }
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

/// Deletes up to `batch` hourly rollup rows older than `cutoff`: the hourly
/// rollup serves the last 24 and 48 hours (the ranking and the trends) and
/// carries two histograms a row, so it is kept for days, not forever; the
/// daily rollup keeps the same counts and histograms.
pub async fn delete_hours_older_than(
    pool: &PgPool,
    cutoff: DateTime<Utc>,
    batch: i64,
) -> Result<u64, sqlx::Error> {
    // language=PostgreSQL
    let sql = "DELETE FROM command_stats_hourly WHERE (hour, command) IN (
                   SELECT hour, command FROM command_stats_hourly WHERE hour < $1 LIMIT $2)";
    super::delete_batch(pool, sql, cutoff, batch).await
}
