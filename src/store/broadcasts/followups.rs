//! Edits and recalls of delivered broadcast messages ("follow-ups"). A
//! request writes one target row per delivered message in the same
//! transaction as the change it stands for (the broadcast's new message, or
//! its recall mark); workers claim targets like deliveries (`FOR UPDATE SKIP
//! LOCKED` plus a lease), so several processes share the work and a process
//! killed mid-way loses nothing: its claims are released and the rest is done
//! by whoever runs next. A message is edited or deleted once; only a target
//! in flight at the moment of a kill can be done again (an edit with the same
//! content, or a delete that finds the message gone, counted as deleted).

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::{BroadcastStatus, MessageFields, ProgressTarget, notify};
use crate::store::db_id;

/// What a follow-up does to each delivered message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum FollowupKind {
    Edit,
    Recall,
}

impl FollowupKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Edit => "edit",
            Self::Recall => "recall",
        }
    }
}

/// Why an edit or recall was not started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    NoSuchBroadcast,
    /// Draft or scheduled: nothing delivered yet.
    NotSent(BroadcastStatus),
    /// Deliveries are still going out.
    StillSending,
    Recalled,
    /// Another edit or recall of the same broadcast is still running.
    Busy(FollowupKind),
    /// No message of it was delivered (or all were recalled).
    NothingDelivered,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoSuchBroadcast => f.write_str("there is no such broadcast"),
            Self::NotSent(status) => write!(
                f,
                "it has not been sent (it is {status}): nothing was delivered to change"
            ),
            Self::StillSending => f.write_str(
                "it is still being sent; wait until it finishes (or cancel it first), so every delivered message is covered",
            ),
            Self::Recalled => f.write_str("it was recalled: its messages are deleted"),
            Self::Busy(kind) => write!(
                f,
                "an {} of it is still running; try again when it has finished",
                kind.as_str()
            ),
            Self::NothingDelivered => f.write_str("none of its messages was delivered"),
        }
    }
}

/// Starts an edit: the broadcast's message becomes `message` and every
/// delivered message is queued to be edited to it. Returns the follow-up id
/// and how many messages it covers.
pub async fn request_edit(
    pool: &PgPool,
    broadcast: i64,
    message: &MessageFields,
    by: u64,
    progress: Option<&ProgressTarget>,
) -> Result<Result<(i64, i64), Refusal>, sqlx::Error> {
    request(
        pool,
        broadcast,
        FollowupKind::Edit,
        Some(message),
        by,
        progress,
    )
    .await
}

/// Starts a recall: every delivered message is queued to be deleted.
pub async fn request_recall(
    pool: &PgPool,
    broadcast: i64,
    by: u64,
    progress: Option<&ProgressTarget>,
) -> Result<Result<(i64, i64), Refusal>, sqlx::Error> {
    request(pool, broadcast, FollowupKind::Recall, None, by, progress).await
}

/// Whether an edit or recall of `broadcast` could start now, and how many
/// messages it would cover (for the question before it).
pub async fn check(pool: &PgPool, broadcast: i64) -> Result<Result<i64, Refusal>, sqlx::Error> {
    let mut connection = pool.acquire().await?;
    check_on(&mut connection, broadcast, false).await
}

async fn check_on(
    connection: &mut sqlx::PgConnection,
    broadcast: i64,
    lock: bool,
) -> Result<Result<i64, Refusal>, sqlx::Error> {
    let sql = if lock {
        "SELECT status, recalled_at FROM broadcasts WHERE id = $1 FOR UPDATE"
    } else {
        "SELECT status, recalled_at FROM broadcasts WHERE id = $1"
    };
    let row: Option<(BroadcastStatus, Option<DateTime<Utc>>)> = sqlx::query_as(sql)
        .bind(broadcast)
        .fetch_optional(&mut *connection)
        .await?;
    let Some((status, recalled_at)) = row else {
        return Ok(Err(Refusal::NoSuchBroadcast));
    };
    match status {
        BroadcastStatus::Draft | BroadcastStatus::Scheduled => {
            return Ok(Err(Refusal::NotSent(status)));
        }
        BroadcastStatus::Sending => return Ok(Err(Refusal::StillSending)),
        BroadcastStatus::Sent | BroadcastStatus::Cancelled => {}
    }
    if recalled_at.is_some() {
        return Ok(Err(Refusal::Recalled));
    }
    // language=PostgreSQL
    let running: Option<FollowupKind> = sqlx::query_scalar(
        "SELECT kind FROM broadcast_followups WHERE broadcast_id = $1 AND finished_at IS NULL",
    )
    .bind(broadcast)
    .fetch_optional(&mut *connection)
    .await?;
    if let Some(kind) = running {
        return Ok(Err(Refusal::Busy(kind)));
    }
    // language=PostgreSQL
    let delivered: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM broadcast_deliveries
          WHERE broadcast_id = $1 AND status = 'sent' AND message_id IS NOT NULL",
    )
    .bind(broadcast)
    .fetch_one(&mut *connection)
    .await?;
    Ok(if delivered == 0 {
        Err(Refusal::NothingDelivered)
    } else {
        Ok(delivered)
    })
}

async fn request(
    pool: &PgPool,
    broadcast: i64,
    kind: FollowupKind,
    message: Option<&MessageFields>,
    by: u64,
    progress: Option<&ProgressTarget>,
) -> Result<Result<(i64, i64), Refusal>, sqlx::Error> {
    let mut transaction = pool.begin().await?;
    if let Err(refusal) = check_on(&mut transaction, broadcast, true).await? {
        return Ok(Err(refusal));
    }
    match (kind, message) {
        (FollowupKind::Edit, Some(message)) => {
            // language=PostgreSQL
            sqlx::query(
                "UPDATE broadcasts SET category = $1, title = $2, content = $3, color = $4, image_url = $5,
                        footer = $6, edited_at = now(), edited_by = $7
                  WHERE id = $8",
            )
            .bind(&message.category)
            .bind(&message.title)
            .bind(&message.content)
            .bind(message.color)
            .bind(&message.image_url)
            .bind(&message.footer)
            .bind(db_id(by))
            .bind(broadcast)
            .execute(&mut *transaction)
            .await?;
        }
        _ => {
            // language=PostgreSQL
            sqlx::query(
                "UPDATE broadcasts SET recalled_at = now(), recalled_by = $1 WHERE id = $2",
            )
            .bind(db_id(by))
            .bind(broadcast)
            .execute(&mut *transaction)
            .await?;
        }
    }
    // language=PostgreSQL
    let followup: i64 = sqlx::query_scalar(
        "INSERT INTO broadcast_followups (broadcast_id, kind, requested_by, progress_application_id,
                                          progress_token, progress_token_expires_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(broadcast)
    .bind(kind)
    .bind(db_id(by))
    .bind(progress.map(|p| db_id(p.application_id)))
    .bind(progress.map(|p| p.token.as_str()))
    .bind(progress.map(|p| p.expires_at))
    .fetch_one(&mut *transaction)
    .await?;
    // language=PostgreSQL
    let targets = sqlx::query(
        "INSERT INTO broadcast_followup_targets (followup_id, guild_id, channel_id, message_id)
         SELECT $1, guild_id, channel_id, message_id FROM broadcast_deliveries
          WHERE broadcast_id = $2 AND status = 'sent' AND message_id IS NOT NULL AND channel_id IS NOT NULL",
    )
    .bind(followup)
    .bind(broadcast)
    .execute(&mut *transaction)
    .await?
    .rows_affected();
    notify(&mut transaction, broadcast).await?;
    transaction.commit().await?;
    Ok(Ok((followup, targets as i64)))
}

/// A follow-up still running.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Followup {
    pub id: i64,
    pub broadcast_id: i64,
    pub kind: FollowupKind,
    pub requested_at: DateTime<Utc>,
    /// The interaction whose message shows progress, while its token lives.
    pub progress_token: Option<String>,
    pub progress_token_expires_at: Option<DateTime<Utc>>,
    /// Why it holds back right now, if it does.
    pub paused_reason: Option<String>,
}

/// Marks follow-up `id` as holding back for `reason` (`None`: going again).
pub async fn set_paused(pool: &PgPool, id: i64, reason: Option<&str>) -> Result<(), sqlx::Error> {
    // language=PostgreSQL
    sqlx::query("UPDATE broadcast_followups SET paused_reason = $2 WHERE id = $1")
        .bind(id)
        .bind(reason)
        .execute(pool)
        .await?;
    Ok(())
}

/// Every follow-up still running, oldest first.
pub async fn running(pool: &PgPool) -> Result<Vec<Followup>, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_as(
        "SELECT id, broadcast_id, kind, requested_at, progress_token, progress_token_expires_at,
                paused_reason
           FROM broadcast_followups WHERE finished_at IS NULL ORDER BY id",
    )
    .fetch_all(pool)
    .await
}

/// A delivered message this process holds, to edit or delete.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Target {
    #[sqlx(try_from = "crate::store::DbId")]
    pub guild_id: u64,
    #[sqlx(try_from = "crate::store::DbId")]
    pub channel_id: u64,
    #[sqlx(try_from = "crate::store::DbId")]
    pub message_id: u64,
    pub attempts: i32,
}

/// Claims up to `limit` due targets of `followup`, leased for `lease_secs`
/// (as [`super::claim`] does for deliveries).
pub async fn claim_targets(
    pool: &PgPool,
    followup: i64,
    instance: i64,
    limit: i64,
    lease_secs: i64,
) -> Result<Vec<Target>, sqlx::Error> {
    let sql = super::claim_sql(
        "broadcast_followup_targets",
        "followup_id",
        &["guild_id", "channel_id", "message_id", "attempts"],
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(followup)
        .bind(instance)
        .bind(limit)
        .bind(lease_secs as f64)
        .fetch_all(pool)
        .await
}

/// How one edit or delete ended.
#[derive(Debug, Clone, PartialEq)]
pub enum TargetOutcome {
    Done,
    /// The message or its channel no longer exists (deleted by the server).
    Gone {
        code: i32,
        message: String,
    },
    Retry {
        after_secs: f64,
        rate_limited: bool,
        code: Option<i32>,
        message: String,
        /// Whether the attempt counts towards the target's limit: not while
        /// Discord is down as a whole.
        counted: bool,
    },
    Failed {
        code: Option<i32>,
        message: String,
    },
    /// Not made: the permission snapshot says the bot lacks `missing`.
    NotSent {
        missing: String,
        message: String,
    },
}

/// Records how an attempt on one target ended.
pub async fn record_target(
    pool: &PgPool,
    followup: i64,
    guild: u64,
    outcome: &TargetOutcome,
) -> Result<(), sqlx::Error> {
    let missing = match outcome {
        TargetOutcome::NotSent { missing, .. } => Some(missing),
        _ => None,
    };
    let (status, code, message, retry_after, counted) = match outcome {
        TargetOutcome::Done => ("done", None, None, None, true),
        TargetOutcome::NotSent { message, .. } => ("failed", None, Some(message), None, true),
        TargetOutcome::Gone { code, message } => ("gone", Some(*code), Some(message), None, true),
        TargetOutcome::Retry {
            after_secs,
            code,
            message,
            counted,
            ..
        } => ("pending", *code, Some(message), Some(*after_secs), *counted),
        TargetOutcome::Failed { code, message } => ("failed", *code, Some(message), None, true),
    };
    // language=PostgreSQL
    sqlx::query(
        "UPDATE broadcast_followup_targets
            SET status = $3, error_code = $4, error_message = $5, missing_permission = $8,
                updated_at = now(),
                next_attempt_at = CASE WHEN $6::float8 IS NULL THEN next_attempt_at
                                       ELSE now() + make_interval(secs => $6) END,
                claimed_by = CASE WHEN $6::float8 IS NULL THEN claimed_by END,
                attempts = CASE WHEN $7 THEN attempts ELSE greatest(attempts - 1, 0) END
          WHERE followup_id = $1 AND guild_id = $2 AND status = 'pending'",
    )
    .bind(followup)
    .bind(db_id(guild))
    .bind(status)
    .bind(code)
    .bind(message)
    .bind(retry_after)
    .bind(counted)
    .bind(missing)
    .execute(pool)
    .await?;
    Ok(())
}

/// Marks a follow-up finished when no target is pending. Exactly one caller
/// gets `true` (the one that made the change).
pub async fn finish_if_done(pool: &PgPool, followup: i64) -> Result<bool, sqlx::Error> {
    // The progress token is a credential: forgotten once it is not needed.
    // language=PostgreSQL
    let finished = sqlx::query(
        "UPDATE broadcast_followups SET finished_at = now(), progress_token = NULL
          WHERE id = $1 AND finished_at IS NULL
            AND NOT EXISTS (SELECT 1 FROM broadcast_followup_targets
                             WHERE followup_id = $1 AND status = 'pending')",
    )
    .bind(followup)
    .execute(pool)
    .await?;
    Ok(finished.rows_affected() == 1)
}
