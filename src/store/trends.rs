//! The last 24 hours against the 24 before, for `/admin stats`: commands and
//! internal errors from the hourly rollup (whole hours: the current hour and the 23
//! before it, against the 24 before those), users seen for the first time,
//! and servers joined and left (exact times, through indexes).

use chrono::{DateTime, Utc};

/// One 24-hour window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct Window {
    pub commands: i64,
    /// Internal errors (refusals and users' mistakes are not failures).
    pub failures: i64,
    pub new_users: i64,
    pub joined: i64,
    pub left: i64,
}

impl Window {
    /// Failed commands as a percentage of all; `None` without commands.
    pub fn error_rate(&self) -> Option<f64> {
        (self.commands > 0).then(|| self.failures as f64 * 100.0 / self.commands as f64)
    }
}

/// (the last 24 h, the 24 h before) as of `now`.
pub async fn last_two_days(
    connection: &mut sqlx::PgConnection,
    now: DateTime<Utc>,
) -> Result<(Window, Window), sqlx::Error> {
    // language=PostgreSQL
    let rows: Vec<Window> = sqlx::query_as(
        "WITH w(n, since, until, from_hour, to_hour) AS (
             VALUES (0, $1::timestamptz - interval '24 hours', $1::timestamptz,
                        date_trunc('hour', $1::timestamptz) - interval '23 hours',
                        date_trunc('hour', $1::timestamptz) + interval '1 hour'),
                    (1, $1::timestamptz - interval '48 hours', $1::timestamptz - interval '24 hours',
                        date_trunc('hour', $1::timestamptz) - interval '47 hours',
                        date_trunc('hour', $1::timestamptz) - interval '23 hours'))
         SELECT coalesce(h.uses, 0)::int8 AS commands, coalesce(h.failures, 0)::int8 AS failures,
                (SELECT count(*) FROM command_users u
                  WHERE u.first_seen_at >= w.since AND u.first_seen_at < w.until) AS new_users,
                (SELECT count(*) FROM guilds g
                  WHERE g.joined_at >= w.since AND g.joined_at < w.until) AS joined,
                (SELECT count(*) FROM guilds g
                  WHERE g.left_at >= w.since AND g.left_at < w.until) AS left
           FROM w
           CROSS JOIN LATERAL (
                SELECT sum(uses) AS uses, sum(internal_errors) AS failures FROM command_stats_hourly
                 WHERE hour >= w.from_hour AND hour < w.to_hour) h
          ORDER BY w.n",
    )
    .bind(now)
    .fetch_all(connection)
    .await?;
    let mut windows = rows.into_iter();
    Ok((
        windows.next().unwrap_or_default(),
        windows.next().unwrap_or_default(),
    ))
}
