//! The `alerts`, `alert_mutes`, `alert_budget` and `alert_settings` tables.
//! Every decision that must be made once across processes is one statement
//! or one transaction here: who announces a key, who resolves it, who takes
//! a message from the hourly budget, who sends the suppression summary.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::db_id;

/// A condition seen this tick, to record as active.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    pub key: String,
    pub title: String,
    pub detail: String,
    /// The process whose own state this describes (only it resolves it).
    pub owner: Option<i64>,
}

/// A stored alert.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AlertRow {
    pub key: String,
    pub state: String,
    pub title: String,
    pub detail: String,
    pub first_seen_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub notified: bool,
    pub messages: i32,
}

/// What a claim decided for this process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Send it: this process won the key and a message of the budget.
    Send(AlertRow),
    /// This process won the key, but the hourly budget is spent: it is
    /// counted for the summary instead.
    Suppressed,
    /// Another process got there first, or there is nothing to say.
    Nothing,
}

fn interval_secs(duration: Duration) -> f64 {
    duration.as_secs_f64()
}

/// Records every condition that holds now: new keys become active; resolved
/// ones become active again (a new activation, not yet announced).
pub async fn observe(pool: &PgPool, seen: &[Observation]) -> Result<(), sqlx::Error> {
    if seen.is_empty() {
        return Ok(());
    }
    let keys: Vec<&str> = seen.iter().map(|o| o.key.as_str()).collect();
    let titles: Vec<&str> = seen.iter().map(|o| o.title.as_str()).collect();
    let details: Vec<&str> = seen.iter().map(|o| o.detail.as_str()).collect();
    let owners: Vec<Option<i64>> = seen.iter().map(|o| o.owner).collect();
    // language=PostgreSQL
    sqlx::query(
        "INSERT INTO alerts (key, state, title, detail, owner)
         SELECT key, 'active', title, detail, owner
           FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int8[]) AS t(key, title, detail, owner)
         ON CONFLICT (key) DO UPDATE SET
             first_seen_at = CASE WHEN alerts.state = 'resolved' THEN now() ELSE alerts.first_seen_at END,
             notified = alerts.notified AND alerts.state = 'active',
             state = 'active', resolved_at = NULL, last_seen_at = now(),
             title = EXCLUDED.title, detail = EXCLUDED.detail, owner = EXCLUDED.owner",
    )
    .bind(&keys)
    .bind(&titles)
    .bind(&details)
    .bind(&owners)
    .execute(pool)
    .await?;
    Ok(())
}

/// Active keys not announced yet, not muted, and not announced within
/// `repeat_after`: candidates for [`claim_activation`], oldest first.
pub async fn unannounced(
    pool: &PgPool,
    repeat_after: Duration,
) -> Result<Vec<String>, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_scalar(
        "SELECT key FROM alerts a
          WHERE state = 'active' AND NOT notified
            AND (announced_at IS NULL OR announced_at <= now() - make_interval(secs => $1))
            AND NOT EXISTS (SELECT 1 FROM alert_mutes m WHERE m.key = a.key AND m.until > now())
          ORDER BY first_seen_at, key",
    )
    .bind(interval_secs(repeat_after))
    .fetch_all(pool)
    .await
}

/// Active keys that no longer hold (`firing` is everything that does) and
/// that `me` may resolve: global ones, its own, and those of a process that
/// stopped or whose heartbeat is older than `stale_after`.
pub async fn unresolved(
    pool: &PgPool,
    firing: &[String],
    me: i64,
    stale_after: Duration,
) -> Result<Vec<String>, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_scalar(
        "SELECT key FROM alerts a
          WHERE state = 'active' AND NOT (key = ANY($1))
            AND (owner IS NULL OR owner = $2 OR NOT EXISTS (
                 SELECT 1 FROM bot_instances i
                  WHERE i.id = a.owner AND i.stopped_at IS NULL
                    AND i.last_heartbeat_at > now() - make_interval(secs => $3)))
          ORDER BY key",
    )
    .bind(firing)
    .bind(me)
    .bind(interval_secs(stale_after))
    .fetch_all(pool)
    .await
}

const RETURNING: &str =
    "RETURNING key, state, title, detail, first_seen_at, resolved_at, notified, messages";

/// Takes the announcement of `key` for this process (one process wins it),
/// then a message of the hourly budget (`max_per_hour`), in one transaction.
pub async fn claim_activation(
    pool: &PgPool,
    key: &str,
    repeat_after: Duration,
    max_per_hour: u32,
) -> Result<Claim, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // language=PostgreSQL
    let claimed: Option<AlertRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE alerts a SET notified = true, announced_at = now()
          WHERE key = $1 AND state = 'active' AND NOT notified
            AND (announced_at IS NULL OR announced_at <= now() - make_interval(secs => $2))
            AND NOT EXISTS (SELECT 1 FROM alert_mutes m WHERE m.key = a.key AND m.until > now())
          {RETURNING}"
    )))
    .bind(key)
    .bind(interval_secs(repeat_after))
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = claimed else {
        return Ok(Claim::Nothing);
    };
    let claim = spend(&mut tx, row, max_per_hour).await?;
    tx.commit().await?;
    Ok(claim)
}

/// Resolves `key` for this process (one process wins it). A resolution is
/// announced only when its activation was, the key is not muted, and `loud`
/// (events such as a failed broadcast end quietly).
pub async fn claim_resolution(
    pool: &PgPool,
    key: &str,
    loud: bool,
    max_per_hour: u32,
) -> Result<Claim, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // language=PostgreSQL
    let resolved: Option<AlertRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE alerts a SET state = 'resolved', resolved_at = now()
          WHERE key = $1 AND state = 'active' {RETURNING}"
    )))
    .bind(key)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = resolved else {
        return Ok(Claim::Nothing);
    };
    let muted: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM alert_mutes WHERE key = $1 AND until > now())",
    )
    .bind(key)
    .fetch_one(&mut *tx)
    .await?;
    let claim = if row.notified && loud && !muted {
        spend(&mut tx, row, max_per_hour).await?
    } else {
        Claim::Nothing
    };
    tx.commit().await?;
    Ok(claim)
}

/// Takes one message from the hourly budget, or counts `row` as suppressed.
/// A window starts with the first message after the last one ended; it does
/// not end while suppressed keys wait for their summary.
async fn spend(
    tx: &mut sqlx::PgConnection,
    row: AlertRow,
    max_per_hour: u32,
) -> Result<Claim, sqlx::Error> {
    // language=PostgreSQL
    let taken = sqlx::query(
        "UPDATE alert_budget SET
             sent       = CASE WHEN window_started_at <= now() - interval '1 hour' THEN 1 ELSE sent + 1 END,
             suppressed = CASE WHEN window_started_at <= now() - interval '1 hour' THEN 0 ELSE suppressed END,
             summarized = CASE WHEN window_started_at <= now() - interval '1 hour' THEN 0 ELSE summarized END,
             window_started_at = CASE WHEN window_started_at <= now() - interval '1 hour'
                                      THEN now() ELSE window_started_at END
          WHERE (window_started_at <= now() - interval '1 hour' AND suppressed = summarized)
             OR (window_started_at > now() - interval '1 hour' AND sent < $1)",
    )
    .bind(i64::from(max_per_hour))
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if taken {
        sqlx::query("UPDATE alerts SET messages = messages + 1 WHERE key = $1")
            .bind(&row.key)
            .execute(&mut *tx)
            .await?;
        return Ok(Claim::Send(row));
    }
    // language=PostgreSQL
    sqlx::query(
        "UPDATE alert_budget SET suppressed = suppressed + 1,
             pending_keys = CASE WHEN cardinality(pending_keys) < 1000
                                 THEN array_append(pending_keys, $1) ELSE pending_keys END",
    )
    .bind(&row.key)
    .execute(&mut *tx)
    .await?;
    Ok(Claim::Suppressed)
}

/// Alerts suppressed by the budget and not summarized yet: how many, and
/// their keys (at most 1000).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Suppressed {
    pub count: i32,
    pub keys: Vec<String>,
}

/// Takes the summary of suppressed alerts for this process (one wins it): the
/// first time the budget runs out in a window, and once more for what was
/// suppressed after that when the window has ended.
pub async fn claim_summary(pool: &PgPool) -> Result<Option<Suppressed>, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_as(
        "WITH old AS (SELECT suppressed - summarized AS count, pending_keys AS keys
                        FROM alert_budget FOR UPDATE)
         UPDATE alert_budget b SET summarized = b.suppressed, pending_keys = '{}'
           FROM old
          WHERE b.suppressed > b.summarized
            AND (b.summarized = 0 OR b.window_started_at <= now() - interval '1 hour')
         RETURNING old.count, old.keys",
    )
    .fetch_optional(pool)
    .await
}

/// Messages sent and suppressed in the current budget window (zeros when
/// the last window has ended).
pub async fn budget(pool: &PgPool) -> Result<(i32, i32), sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_as(
        "SELECT CASE WHEN window_started_at > now() - interval '1 hour' THEN sent ELSE 0 END,
                CASE WHEN window_started_at > now() - interval '1 hour' THEN suppressed ELSE 0 END
           FROM alert_budget",
    )
    .fetch_one(pool)
    .await
}

/// Active alerts (newest first) and those resolved in the last day.
pub async fn overview(pool: &PgPool, limit: i64) -> Result<Vec<AlertRow>, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_as(
        "(SELECT key, state, title, detail, first_seen_at, resolved_at, notified, messages
            FROM alerts WHERE state = 'active' ORDER BY first_seen_at DESC LIMIT $1)
         UNION ALL
         (SELECT key, state, title, detail, first_seen_at, resolved_at, notified, messages
            FROM alerts WHERE state = 'resolved' AND resolved_at > now() - interval '1 day'
           ORDER BY resolved_at DESC LIMIT $1)",
    )
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// A mute in force.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MuteRow {
    pub key: String,
    pub until: DateTime<Utc>,
    #[sqlx(try_from = "super::DbId")]
    pub muted_by: u64,
}

/// Mutes `key` until `until` (replacing an earlier mute of it); expired
/// mutes are deleted on the way.
pub async fn mute(
    pool: &PgPool,
    key: &str,
    until: DateTime<Utc>,
    by: u64,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("DELETE FROM alert_mutes WHERE until <= now()")
        .execute(&mut *tx)
        .await?;
    // language=PostgreSQL
    sqlx::query(
        "INSERT INTO alert_mutes (key, until, muted_by) VALUES ($1, $2, $3)
         ON CONFLICT (key) DO UPDATE SET until = EXCLUDED.until, muted_by = EXCLUDED.muted_by,
                                         muted_at = now()",
    )
    .bind(key)
    .bind(until)
    .bind(db_id(by))
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// Ends a mute; whether one was in force.
pub async fn unmute(pool: &PgPool, key: &str) -> Result<bool, sqlx::Error> {
    let ended = sqlx::query("DELETE FROM alert_mutes WHERE key = $1 RETURNING until > now()")
        .bind(key)
        .fetch_optional(pool)
        .await?;
    Ok(ended.is_some_and(|row| sqlx::Row::get::<bool, _>(&row, 0)))
}

/// Mutes in force, ending soonest first.
pub async fn mutes(pool: &PgPool) -> Result<Vec<MuteRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT key, until, muted_by FROM alert_mutes WHERE until > now() ORDER BY until, key",
    )
    .fetch_all(pool)
    .await
}

/// Where alerts go: (server, channel), if set.
pub async fn channel(pool: &PgPool) -> Result<Option<(u64, u64)>, sqlx::Error> {
    let row: Option<(i64, i64)> = sqlx::query_as("SELECT guild_id, channel_id FROM alert_settings")
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|(guild, channel)| (guild as u64, channel as u64)))
}

pub async fn set_channel(
    pool: &PgPool,
    guild: u64,
    channel: u64,
    by: u64,
) -> Result<(), sqlx::Error> {
    // language=PostgreSQL
    sqlx::query(
        "INSERT INTO alert_settings (guild_id, channel_id, set_by) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET guild_id = EXCLUDED.guild_id,
             channel_id = EXCLUDED.channel_id, set_by = EXCLUDED.set_by, set_at = now()",
    )
    .bind(db_id(guild))
    .bind(db_id(channel))
    .bind(db_id(by))
    .execute(pool)
    .await?;
    Ok(())
}
