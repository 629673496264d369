//! The delivery queue: starting a due broadcast (one row per server), claiming
//! rows with `FOR UPDATE SKIP LOCKED` under a lease, recording each attempt,
//! releasing a crashed process's claims, finishing, and re-queueing failures.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::{Counts, notify};
use crate::store::db_id;

/// Scheduled broadcasts whose time has come.
pub async fn due(pool: &PgPool, now: DateTime<Utc>) -> Result<Vec<i64>, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_scalar(
        "SELECT id FROM broadcasts WHERE status = 'scheduled' AND scheduled_for <= $1 ORDER BY scheduled_for, id",
    )
    .bind(now)
    .fetch_all(pool)
    .await
}

/// Broadcasts being delivered.
pub async fn sending(pool: &PgPool) -> Result<Vec<i64>, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_scalar("SELECT id FROM broadcasts WHERE status = 'sending' ORDER BY started_at, id")
        .fetch_all(pool)
        .await
}

/// Starts delivery of a due broadcast: one delivery row per active server
/// (skipped ones with their reason), in one transaction with the status
/// change, under a lock on the broadcast, so two processes starting it at
/// once write the rows once. Returns how many servers were skipped, or
/// `None` when another process already started it.
pub async fn start(pool: &PgPool, id: i64) -> Result<Option<u64>, sqlx::Error> {
    let mut transaction = pool.begin().await?;
    // language=PostgreSQL
    let category: Option<String> = sqlx::query_scalar(
        "SELECT category FROM broadcasts WHERE id = $1 AND status = 'scheduled' FOR UPDATE SKIP LOCKED",
    )
    .bind(id)
    .fetch_optional(&mut *transaction)
    .await?;
    let Some(category) = category else {
        return Ok(None);
    };
    // Only the broadcast's audience gets rows: "targeted" counts it alone.
    let sql = format!(
        "WITH inserted AS (
         INSERT INTO broadcast_deliveries (broadcast_id, guild_id, channel_id, status, skip_reason, publish)
         SELECT $1, g.id, s.broadcast_channel_id,
                CASE WHEN s.broadcast_channel_id IS NULL OR NOT ($2 = ANY (s.broadcast_categories))
                     THEN 'skipped' ELSE 'pending' END,
                CASE WHEN s.broadcast_channel_id IS NULL THEN 'no_channel'
                     WHEN NOT ($2 = ANY (s.broadcast_categories)) THEN 'category_refused' END,
                coalesce(s.broadcast_publish, false)
           FROM guilds g LEFT JOIN guild_settings s ON s.guild_id = g.id
          CROSS JOIN (SELECT audience_language, audience_module, audience_min_members, audience_guild_ids
                        FROM broadcasts WHERE id = $1) a
          WHERE g.left_at IS NULL AND {}
         ON CONFLICT DO NOTHING
         RETURNING status)
         SELECT count(*) FILTER (WHERE status = 'skipped') FROM inserted",
        super::audience::IN_AUDIENCE
    );
    let skipped: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(&category)
        .fetch_one(&mut *transaction)
        .await?;
    // language=PostgreSQL
    sqlx::query("UPDATE broadcasts SET status = 'sending', started_at = now() WHERE id = $1")
        .bind(id)
        .execute(&mut *transaction)
        .await?;
    transaction.commit().await?;
    Ok(Some(skipped as u64))
}

/// A delivery this process holds.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Claimed {
    #[sqlx(try_from = "crate::store::DbId")]
    pub guild_id: u64,
    #[sqlx(try_from = "crate::store::DbId")]
    pub channel_id: u64,
    pub attempts: i32,
    /// Publish the message to the channel's followers once it is sent.
    pub publish: bool,
}

/// Claims up to `limit` due pending deliveries of `broadcast` for `instance`:
/// rows another process is claiming are skipped, not waited for, and each
/// claimed row is leased for `lease_secs` (if this process dies, it becomes
/// claimable again after that, or at once when its host sees the pid gone).
pub async fn claim(
    pool: &PgPool,
    broadcast: i64,
    instance: i64,
    limit: i64,
    lease_secs: i64,
) -> Result<Vec<Claimed>, sqlx::Error> {
    let sql = super::claim_sql(
        "broadcast_deliveries",
        "broadcast_id",
        &["guild_id", "channel_id", "attempts", "publish"],
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(broadcast)
        .bind(instance)
        .bind(limit)
        .bind(lease_secs as f64)
        .fetch_all(pool)
        .await
}

/// How one attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Sent {
        message_id: u64,
    },
    /// Try again after `after_secs` (a 429, 5xx or timeout with attempts left).
    Retry {
        after_secs: f64,
        /// A 429: every send of this process pauses, not just this one.
        rate_limited: bool,
        code: Option<i32>,
        message: String,
        /// Whether the attempt counts towards the delivery's limit: not
        /// while Discord is down as a whole (the server did nothing wrong).
        counted: bool,
    },
    Failed {
        code: Option<i32>,
        message: String,
    },
    /// Not sent: the permission snapshot says the bot lacks `missing`
    /// (no request was made).
    NotSent {
        missing: String,
        message: String,
    },
    /// Skipped: the gateway said the channel was deleted.
    ChannelDeleted,
}

/// Records how an attempt ended. A sent message is recorded even if the broadcast was
/// cancelled meanwhile (it was posted); a retry or failure only while pending.
/// `claimed_by` stays on finished rows: the report can tell which process
/// delivered what.
pub async fn record_attempt(
    pool: &PgPool,
    broadcast: i64,
    guild: u64,
    outcome: &Outcome,
) -> Result<(), sqlx::Error> {
    // language=PostgreSQL
    let query = match outcome {
        Outcome::Sent { message_id } => sqlx::query(
            "UPDATE broadcast_deliveries SET status = 'sent', message_id = $3, error_code = NULL,
                    error_message = NULL, updated_at = now()
              WHERE broadcast_id = $1 AND guild_id = $2",
        )
        .bind(broadcast)
        .bind(db_id(guild))
        .bind(db_id(*message_id)),
        Outcome::Retry {
            after_secs,
            code,
            message,
            counted,
            ..
        } => sqlx::query(
            "UPDATE broadcast_deliveries SET next_attempt_at = now() + make_interval(secs => $3),
                    error_code = $4, error_message = $5, claimed_by = NULL, updated_at = now(),
                    attempts = CASE WHEN $6 THEN attempts ELSE greatest(attempts - 1, 0) END
              WHERE broadcast_id = $1 AND guild_id = $2 AND status = 'pending'",
        )
        .bind(broadcast)
        .bind(db_id(guild))
        .bind(*after_secs)
        .bind(*code)
        .bind(message)
        .bind(*counted),
        Outcome::Failed { code, message } => sqlx::query(
            "UPDATE broadcast_deliveries SET status = 'failed', error_code = $3, error_message = $4,
                    updated_at = now()
              WHERE broadcast_id = $1 AND guild_id = $2 AND status = 'pending'",
        )
        .bind(broadcast)
        .bind(db_id(guild))
        .bind(*code)
        .bind(message),
        Outcome::NotSent { missing, message } => sqlx::query(
            "UPDATE broadcast_deliveries SET status = 'failed', error_code = NULL, error_message = $3,
                    missing_permission = $4, updated_at = now()
              WHERE broadcast_id = $1 AND guild_id = $2 AND status = 'pending'",
        )
        .bind(broadcast)
        .bind(db_id(guild))
        .bind(message)
        .bind(missing),
        Outcome::ChannelDeleted => sqlx::query(
            "UPDATE broadcast_deliveries SET status = 'skipped', skip_reason = 'channel_deleted',
                    error_code = NULL, error_message = NULL, updated_at = now()
              WHERE broadcast_id = $1 AND guild_id = $2 AND status = 'pending'",
        )
        .bind(broadcast)
        .bind(db_id(guild)),
    };
    query.execute(pool).await?;
    Ok(())
}

/// Releases, at once, the leases held by processes on `host` whose pid is in
/// `dead_pids` (they crashed), so their deliveries (and the edits and deletes
/// of follow-ups) need not wait out the lease.
pub async fn release_dead_claims(
    pool: &PgPool,
    host: &str,
    dead_pids: &[i32],
) -> Result<u64, sqlx::Error> {
    let mut released = 0;
    for table in ["broadcast_deliveries", "broadcast_followup_targets"] {
        let sql = format!(
            "UPDATE {table} SET next_attempt_at = now(), claimed_by = NULL
              WHERE status = 'pending' AND claimed_by IN (
                    SELECT id FROM bot_instances WHERE host = $1 AND pid = ANY ($2))"
        );
        released += sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(host)
            .bind(dead_pids)
            .execute(pool)
            .await?
            .rows_affected();
    }
    Ok(released)
}

/// Puts every pending delivery and follow-up target `instance` still holds
/// back in the queue at once, the attempt it was claimed for not counted:
/// called when this process stops sending (shutdown, a refused token) after
/// its requests in flight have ended, so what it claimed but never sent
/// waits for no lease, and no delivery gives up early for attempts never
/// made.
pub async fn release_claims_of(pool: &PgPool, instance: i64) -> Result<u64, sqlx::Error> {
    let mut released = 0;
    for table in ["broadcast_deliveries", "broadcast_followup_targets"] {
        let sql = format!(
            "UPDATE {table} SET next_attempt_at = now(), claimed_by = NULL,
                    attempts = greatest(attempts - 1, 0), updated_at = now()
              WHERE status = 'pending' AND claimed_by = $1"
        );
        released += sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(instance)
            .execute(pool)
            .await?
            .rows_affected();
    }
    Ok(released)
}

/// Pids of other processes recorded on `host` that may still hold claims.
pub async fn claiming_pids(
    pool: &PgPool,
    host: &str,
    except: i64,
) -> Result<Vec<i32>, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_scalar(
        "SELECT DISTINCT i.pid FROM bot_instances i
           JOIN (SELECT claimed_by FROM broadcast_deliveries WHERE status = 'pending'
                 UNION SELECT claimed_by FROM broadcast_followup_targets WHERE status = 'pending') c
             ON c.claimed_by = i.id
          WHERE i.host = $1 AND i.id <> $2",
    )
    .bind(host)
    .bind(except)
    .fetch_all(pool)
    .await
}

/// Marks a broadcast sent when no delivery is pending. Exactly one caller gets
/// `Some` (the one that made the change), so the final log entry is written once.
pub async fn finish_if_done(pool: &PgPool, id: i64) -> Result<Option<Counts>, sqlx::Error> {
    // language=PostgreSQL
    let finished: Option<i64> = sqlx::query_scalar(
        "UPDATE broadcasts SET status = 'sent', finished_at = now()
          WHERE id = $1 AND status = 'sending'
            AND NOT EXISTS (SELECT 1 FROM broadcast_deliveries WHERE broadcast_id = $1 AND status = 'pending')
         RETURNING id",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    match finished {
        Some(_) => Ok(Some(super::counts(pool, id).await?)),
        None => Ok(None),
    }
}

/// Puts failed deliveries back in the queue (same rows, so the same nonces)
/// and the broadcast back to sending. Returns how many were re-queued; none
/// for a broadcast that was cancelled (or never started).
pub async fn retry_failed(pool: &PgPool, id: i64) -> Result<u64, sqlx::Error> {
    let mut transaction = pool.begin().await?;
    // language=PostgreSQL
    let requeued = sqlx::query(
        "UPDATE broadcast_deliveries SET status = 'pending', attempts = 0, next_attempt_at = now(),
                error_code = NULL, error_message = NULL, updated_at = now()
          WHERE broadcast_id = $1 AND status = 'failed'
            AND EXISTS (SELECT 1 FROM broadcasts WHERE id = $1 AND status IN ('sent', 'sending')
                                                     AND recalled_at IS NULL)",
    )
    .bind(id)
    .execute(&mut *transaction)
    .await?
    .rows_affected();
    if requeued > 0 {
        // language=PostgreSQL
        sqlx::query(
            "UPDATE broadcasts SET status = 'sending', finished_at = NULL WHERE id = $1 AND status IN ('sent', 'sending')",
        )
        .bind(id)
        .execute(&mut *transaction)
        .await?;
        notify(&mut transaction, id).await?;
    }
    transaction.commit().await?;
    Ok(requeued)
}

/// Records whether a delivered message was published (crossposted):
/// `refused` is Discord's reason when it was not.
pub async fn record_publish(
    pool: &PgPool,
    broadcast: i64,
    guild: u64,
    refused: Option<&str>,
) -> Result<(), sqlx::Error> {
    // language=PostgreSQL
    sqlx::query(
        "UPDATE broadcast_deliveries SET publish_status = $3, publish_error = $4
          WHERE broadcast_id = $1 AND guild_id = $2",
    )
    .bind(broadcast)
    .bind(db_id(guild))
    .bind(if refused.is_some() {
        "not_published"
    } else {
        "published"
    })
    .bind(refused)
    .execute(pool)
    .await?;
    Ok(())
}
