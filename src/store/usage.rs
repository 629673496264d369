//! Command usage over days, for `/admin usage`. Every query reads the daily
//! rollup (50 commands × 90 days is a few thousand rows), never raw events.

use chrono::NaiveDate;
use sqlx::PgPool;

use super::command_stats::CommandUses;

/// Uses per UTC day from `from` to `to` inclusive, one entry per day: days
/// without a single command are there with 0, so a chart has no gaps.
#[tracing::instrument(skip(pool))]
pub async fn daily(
    pool: &PgPool,
    from: NaiveDate,
    to: NaiveDate,
    command: Option<&str>,
) -> Result<Vec<(NaiveDate, i64)>, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_as(
        r#"
        SELECT days.day::date AS day, coalesce(sum(s.uses), 0)::int8 AS uses
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
    .await
}

/// The `limit` most used commands between `from` and `to` inclusive.
#[tracing::instrument(skip(pool))]
pub async fn top_commands(
    pool: &PgPool,
    from: NaiveDate,
    to: NaiveDate,
    limit: i64,
) -> Result<Vec<CommandUses>, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_as(
        r#"
        SELECT command, sum(uses)::int8 AS uses
          FROM command_stats_daily
         WHERE day BETWEEN $1 AND $2
         GROUP BY command
         ORDER BY uses DESC, command
         LIMIT $3
        "#,
    )
    .bind(from)
    .bind(to)
    .bind(limit)
    .fetch_all(pool)
    .await
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
