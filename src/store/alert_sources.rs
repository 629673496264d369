//! What the alert evaluator reads: bursts of errors in `system_logs` and of
//! a command's internal errors in the command events, finished broadcasts
//! with many failed deliveries, servers leaving.

use std::time::Duration;

use sqlx::PgPool;

/// One event type with at least the threshold of errors in the window.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ErrorBurst {
    pub event_type: String,
    pub count: i64,
    /// The newest error's message.
    pub example: String,
}

/// Event types with at least `min_count` error entries in the last `window`,
/// most first; at most 500. Command failures (`command_error`) are left to
/// [`command_bursts`], which tells one command from another.
pub async fn error_bursts(
    pool: &PgPool,
    window: Duration,
    min_count: u32,
) -> Result<Vec<ErrorBurst>, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_as(
        "WITH bursts AS (
             SELECT event_type, count(*) AS count, max(id) AS newest
               FROM system_logs
              WHERE severity = 'error' AND created_at > now() - make_interval(secs => $1)
                AND event_type <> 'command_error'
              GROUP BY event_type
             HAVING count(*) >= $2)
         SELECT b.event_type, b.count, l.message AS example
           FROM bursts b JOIN system_logs l ON l.id = b.newest
          ORDER BY b.count DESC, b.event_type
          LIMIT 500",
    )
    .bind(window.as_secs_f64())
    .bind(i64::from(min_count))
    .fetch_all(pool)
    .await
}

/// One command with at least the threshold of internal errors in the window.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CommandBurst {
    /// Full path, e.g. `admin stats`.
    pub command: String,
    pub count: i64,
    /// The newest `command_error` entry of the command in the window.
    pub example: Option<String>,
}

/// Commands (their buttons and forms included) that ended in an internal
/// error at least `min_count` times in the last `window`, most first; at
/// most 500. Read through the partial index of internal errors.
pub async fn command_bursts(
    pool: &PgPool,
    window: Duration,
    min_count: u32,
) -> Result<Vec<CommandBurst>, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_as(
        "WITH bursts AS (
             SELECT command, count(*) AS count
               FROM command_stats
              WHERE outcome = 3 AND executed_at > now() - make_interval(secs => $1)
              GROUP BY command
             HAVING count(*) >= $2)
         SELECT b.command, b.count,
                (SELECT l.message FROM system_logs l
                  WHERE l.event_type = 'command_error'
                    AND l.created_at > now() - make_interval(secs => $1)
                    AND starts_with(l.message, '/' || b.command || ' failed')
                  ORDER BY l.id DESC LIMIT 1) AS example
           FROM bursts b
          ORDER BY b.count DESC, b.command
          LIMIT 500",
    )
    .bind(window.as_secs_f64())
    .bind(i64::from(min_count))
    .fetch_all(pool)
    .await
}

/// A broadcast that finished in the last day with too many failures.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FailedBroadcast {
    pub id: i64,
    pub title: String,
    pub sent: i64,
    pub failed: i64,
}

/// Broadcasts finished in the last day where more than `percent` % of the
/// deliveries attempted (sent + failed; skipped servers had no channel)
/// failed.
pub async fn failed_broadcasts(
    pool: &PgPool,
    percent: u32,
) -> Result<Vec<FailedBroadcast>, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_as(
        "SELECT b.id, b.title,
                count(*) FILTER (WHERE d.status = 'sent') AS sent,
                count(*) FILTER (WHERE d.status = 'failed') AS failed
           FROM broadcasts b JOIN broadcast_deliveries d ON d.broadcast_id = b.id
          WHERE b.status = 'sent' AND b.finished_at > now() - interval '1 day'
          GROUP BY b.id, b.title
         HAVING count(*) FILTER (WHERE d.status = 'failed') * 100
                > $1 * count(*) FILTER (WHERE d.status IN ('sent', 'failed'))
          ORDER BY b.id",
    )
    .bind(i64::from(percent))
    .fetch_all(pool)
    .await
}

/// Servers the bot left (or was removed from) in the last hour.
pub async fn servers_left_last_hour(pool: &PgPool) -> Result<i64, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_scalar(
        "SELECT count(*) FROM system_logs
          WHERE event_type = 'guild_leave' AND created_at > now() - interval '1 hour'",
    )
    .fetch_one(pool)
    .await
}
