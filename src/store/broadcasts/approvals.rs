//! Approvals (`BROADCAST_APPROVALS=1`): a draft whose Send or Schedule was
//! pressed waits, frozen, for another developer. Approving queues it exactly
//! as Send would; rejecting returns it to its composer with a reason. Every
//! decision runs under a lock on the row, so two reviewers cannot both act.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::{ProgressTarget, notify};
use crate::store::db_id;

/// Asks for approval; false when it is not a draft or already waiting.
pub async fn request(pool: &PgPool, id: i64, by: u64) -> Result<bool, sqlx::Error> {
    // language=PostgreSQL
    let result = sqlx::query(
        "UPDATE broadcasts SET approval_requested_at = now(), approval_requested_by = $2,
                rejected_by = NULL, rejected_at = NULL, rejection_reason = NULL
          WHERE id = $1 AND status = 'draft' AND approval_requested_at IS NULL",
    )
    .bind(id)
    .bind(db_id(by))
    .execute(pool)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// A broadcast waiting for a second developer.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Awaiting {
    pub id: i64,
    pub title: String,
    pub category: String,
    #[sqlx(try_from = "crate::store::DbId")]
    pub created_by: u64,
    #[sqlx(try_from = "crate::store::DbId")]
    pub approval_requested_by: u64,
    pub approval_requested_at: DateTime<Utc>,
    pub scheduled_for: Option<DateTime<Utc>>,
}

/// The oldest 25 broadcasts waiting for approval, and how many wait in all.
pub async fn awaiting(pool: &PgPool) -> Result<(Vec<Awaiting>, i64), sqlx::Error> {
    // language=PostgreSQL
    let rows = sqlx::query_as(
        "SELECT id, title, category, created_by, approval_requested_by, approval_requested_at, scheduled_for
           FROM broadcasts WHERE status = 'draft' AND approval_requested_at IS NOT NULL
          ORDER BY approval_requested_at, id LIMIT 25",
    )
    .fetch_all(pool)
    .await?;
    // language=PostgreSQL
    let total = sqlx::query_scalar(
        "SELECT count(*) FROM broadcasts WHERE status = 'draft' AND approval_requested_at IS NOT NULL",
    )
    .fetch_one(pool)
    .await?;
    Ok((rows, total))
}

/// What a decision did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Approved and queued for `at`.
    Approved {
        at: DateTime<Utc>,
    },
    Rejected,
    /// It is not waiting for approval (decided meanwhile, withdrawn, sent).
    NotAwaiting,
    /// The one deciding composed it or asked for the approval.
    OwnBroadcast,
}

/// Locks the row of a broadcast waiting for approval: (composer, requester,
/// scheduled_for), or `None`.
async fn lock_awaiting(
    transaction: &mut sqlx::PgConnection,
    id: i64,
) -> Result<Option<(i64, i64, Option<DateTime<Utc>>)>, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_as(
        "SELECT created_by, approval_requested_by, scheduled_for FROM broadcasts
          WHERE id = $1 AND status = 'draft' AND approval_requested_at IS NOT NULL FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(transaction)
    .await
}

/// Approves and queues it (due at its schedule, or now when it has none or
/// it has passed), reporting progress to the approver's interaction.
pub async fn approve(
    pool: &PgPool,
    id: i64,
    by: u64,
    progress: &ProgressTarget,
) -> Result<Decision, sqlx::Error> {
    let mut transaction = pool.begin().await?;
    let Some((composer, requester, scheduled_for)) = lock_awaiting(&mut transaction, id).await?
    else {
        return Ok(Decision::NotAwaiting);
    };
    if [composer, requester].contains(&db_id(by)) {
        return Ok(Decision::OwnBroadcast);
    }
    let at = scheduled_for
        .filter(|at| *at > Utc::now())
        .unwrap_or_else(Utc::now);
    // language=PostgreSQL
    sqlx::query(
        "UPDATE broadcasts SET status = 'scheduled', scheduled_for = $2, approved_by = $3, approved_at = now(),
                progress_application_id = $4, progress_token = $5, progress_token_expires_at = $6
          WHERE id = $1",
    )
    .bind(id)
    .bind(at)
    .bind(db_id(by))
    .bind(db_id(progress.application_id))
    .bind(&progress.token)
    .bind(progress.expires_at)
    .execute(&mut *transaction)
    .await?;
    notify(&mut transaction, id).await?;
    transaction.commit().await?;
    Ok(Decision::Approved { at })
}

/// Rejects it with `reason`: it becomes an ordinary draft again, which its
/// composer can edit and submit anew.
pub async fn reject(
    pool: &PgPool,
    id: i64,
    by: u64,
    reason: &str,
) -> Result<Decision, sqlx::Error> {
    let mut transaction = pool.begin().await?;
    let Some((composer, requester, _)) = lock_awaiting(&mut transaction, id).await? else {
        return Ok(Decision::NotAwaiting);
    };
    if [composer, requester].contains(&db_id(by)) {
        return Ok(Decision::OwnBroadcast);
    }
    // language=PostgreSQL
    sqlx::query(
        "UPDATE broadcasts SET approval_requested_at = NULL, approval_requested_by = NULL,
                rejected_by = $2, rejected_at = now(), rejection_reason = $3
          WHERE id = $1",
    )
    .bind(id)
    .bind(db_id(by))
    .bind(reason)
    .execute(&mut *transaction)
    .await?;
    transaction.commit().await?;
    Ok(Decision::Rejected)
}
