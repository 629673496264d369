//! Command usage over days, for `/admin usage`. Every query reads the daily
//! rollup (50 commands × 90 days is a few thousand rows), never raw events:
//! counts, outcomes and latency histograms are all there, and a period's
//! histogram is the sum of its days' (`admin_panel_sum_counts`).

use chrono::NaiveDate;
use sqlx::PgPool;

use super::latency::Histogram;

/// One UTC day of the period (of every command, or of the filtered one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayFigures {
    pub day: NaiveDate,
    pub uses: i64,
    pub internal_errors: i64,
    /// Time to the first response.
    pub response: Histogram,
}

/// Figures per UTC day from `from` to `to` inclusive, one entry per day:
/// days without a single command are there with zeros, so a chart has no
/// gaps.
#[tracing::instrument(skip(pool))]
pub async fn daily(
    pool: &PgPool,
    from: NaiveDate,
    to: NaiveDate,
    command: Option<&str>,
) -> Result<Vec<DayFigures>, sqlx::Error> {
    // language=PostgreSQL
    let rows: Vec<(NaiveDate, i64, i64, Vec<i64>)> = sqlx::query_as(
        r#"
        SELECT days.day::date AS day, coalesce(sum(s.uses), 0)::int8 AS uses,
               coalesce(sum(s.internal_errors), 0)::int8 AS internal_errors,
               admin_panel_sum_counts(s.response_ms) AS response_ms
          FROM generate_series($1::date, $2::date, interval '1 day') AS days(day)
          LEFT JOIN command_stats_daily s
                 ON s.day = days.day::date AND ($3::text IS NULL OR s.command = $3)
         GROUP BY days.day
         ORDER BY days.day
        "#,
    )
    .bind(from)
    .bind(to)
    .bind(command)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(day, uses, internal_errors, response)| DayFigures {
            day,
            uses,
            internal_errors,
            response: Histogram::from_counts(&response),
        })
        .collect())
}

/// One command over a period: how often it ran, how each run ended, and how
/// long it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandFigures {
    pub command: String,
    pub uses: i64,
    pub refused: i64,
    pub user_errors: i64,
    pub internal_errors: i64,
    /// Arrival to the first response.
    pub response: Histogram,
    /// Arrival to completion.
    pub completion: Histogram,
}

impl CommandFigures {
    /// Internal errors per invocation (refusals and users' mistakes are the
    /// command working as meant).
    pub fn error_rate(&self) -> f64 {
        if self.uses == 0 {
            0.0
        } else {
            self.internal_errors as f64 / self.uses as f64
        }
    }
}

/// A [`CommandFigures`] as the database returns it.
#[derive(sqlx::FromRow)]
struct CommandRow {
    command: String,
    uses: i64,
    refused: i64,
    user_errors: i64,
    internal_errors: i64,
    response_ms: Vec<i64>,
    completion_ms: Vec<i64>,
}

/// The `limit` most used commands between `from` and `to` inclusive (only
/// `command` when given), with their outcomes and latency.
#[tracing::instrument(skip(pool))]
pub async fn top_commands(
    pool: &PgPool,
    from: NaiveDate,
    to: NaiveDate,
    command: Option<&str>,
    limit: i64,
) -> Result<Vec<CommandFigures>, sqlx::Error> {
    // language=PostgreSQL
    let rows: Vec<CommandRow> = sqlx::query_as(
        r#"
        SELECT command, sum(uses)::int8 AS uses, sum(refused)::int8 AS refused,
               sum(user_errors)::int8 AS user_errors,
               sum(internal_errors)::int8 AS internal_errors,
               admin_panel_sum_counts(response_ms) AS response_ms,
               admin_panel_sum_counts(completion_ms) AS completion_ms
          FROM command_stats_daily
         WHERE day BETWEEN $1 AND $2 AND ($3::text IS NULL OR command = $3)
         GROUP BY command
         ORDER BY uses DESC, command
         LIMIT $4
        "#,
    )
    .bind(from)
    .bind(to)
    .bind(command)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| CommandFigures {
            command: row.command,
            uses: row.uses,
            refused: row.refused,
            user_errors: row.user_errors,
            internal_errors: row.internal_errors,
            response: Histogram::from_counts(&row.response_ms),
            completion: Histogram::from_counts(&row.completion_ms),
        })
        .collect())
}

/// Commands used since `since` whose name contains `search`, most used first
/// (for autocomplete; at most 25, Discord's limit for suggestions).
pub async fn command_names(
    pool: &PgPool,
    since: NaiveDate,
    search: &str,
) -> Result<Vec<String>, sqlx::Error> {
    let pattern = super::like_pattern(search);
    // language=PostgreSQL
    sqlx::query_scalar(
        r#"
        SELECT command FROM command_stats_daily
         WHERE day >= $1 AND command ILIKE $2
         GROUP BY command
         ORDER BY sum(uses) DESC, command
         LIMIT 25
        "#,
    )
    .bind(since)
    .bind(pattern)
    .fetch_all(pool)
    .await
}
