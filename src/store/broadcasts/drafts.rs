//! Drafts: saving, editing and discarding what a developer composed, the dry
//! run shown in the preview, queueing (Send / Schedule) and cancelling.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use sqlx::{PgPool, Postgres, Row as _};

use super::audience::IN_AUDIENCE;
use super::{Audience, BroadcastStatus, MessageFields, notify};
use crate::store::db_id;

pub async fn create_draft(
    pool: &PgPool,
    message: &MessageFields,
    audience: &Audience,
    created_by: u64,
    scheduled_for: Option<DateTime<Utc>>,
) -> Result<i64, sqlx::Error> {
    // language=PostgreSQL
    let sql = "INSERT INTO broadcasts (category, title, content, color, image_url, footer, created_by, scheduled_for,
                                       audience_language, audience_module, audience_min_members, audience_guild_ids)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id";
    let row = bind_message(sqlx::query(sql), message)
        .bind(db_id(created_by))
        .bind(scheduled_for)
        .bind(&audience.audience_language)
        .bind(&audience.audience_module)
        .bind(audience.audience_min_members)
        .bind(audience.guild_ids_param())
        .fetch_one(pool)
        .await?;
    row.try_get("id")
}

/// Replaces a draft's message; false when it is no longer a draft, or waits
/// for approval (what a reviewer approves must be what goes out).
pub async fn update_draft(
    pool: &PgPool,
    id: i64,
    message: &MessageFields,
) -> Result<bool, sqlx::Error> {
    // language=PostgreSQL
    let sql = "UPDATE broadcasts SET category = $1, title = $2, content = $3, color = $4, image_url = $5, footer = $6
                WHERE id = $7 AND status = 'draft' AND approval_requested_at IS NULL";
    let result = bind_message(sqlx::query(sql), message)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Binds the message's fields as `$1` to `$6`, in the column order of
/// [`MessageFields`].
fn bind_message<'q>(
    query: Query<'q, Postgres, PgArguments>,
    message: &'q MessageFields,
) -> Query<'q, Postgres, PgArguments> {
    query
        .bind(&message.category)
        .bind(&message.title)
        .bind(&message.content)
        .bind(message.color)
        .bind(&message.image_url)
        .bind(&message.footer)
}

/// Deletes a draft; false when it is no longer a draft.
pub async fn discard_draft(pool: &PgPool, id: i64) -> Result<bool, sqlx::Error> {
    // language=PostgreSQL
    let result = sqlx::query("DELETE FROM broadcasts WHERE id = $1 AND status = 'draft'")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(result.rows_affected() == 1)
}

/// What a send would do right now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct DryRun {
    /// Active servers (each gets a delivery row).
    pub targeted: i64,
    pub no_channel: i64,
    pub category_refused: i64,
}

impl DryRun {
    pub fn reachable(&self) -> i64 {
        self.targeted - self.no_channel - self.category_refused
    }
}

/// The dry run of a broadcast in `category` to `audience`: the same
/// membership test delivery uses when it starts.
pub async fn dry_run(
    pool: &PgPool,
    category: &str,
    audience: &Audience,
) -> Result<DryRun, sqlx::Error> {
    let sql = format!(
        "SELECT count(*) AS targeted,
                count(*) FILTER (WHERE s.broadcast_channel_id IS NULL) AS no_channel,
                count(*) FILTER (WHERE s.broadcast_channel_id IS NOT NULL
                                   AND NOT ($1 = ANY (s.broadcast_categories))) AS category_refused
           FROM guilds g LEFT JOIN guild_settings s ON s.guild_id = g.id
          CROSS JOIN (SELECT $2::text AS audience_language, $3::text AS audience_module,
                             $4::int AS audience_min_members, $5::bigint[] AS audience_guild_ids) a
          WHERE g.left_at IS NULL AND {IN_AUDIENCE}"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(category)
        .bind(&audience.audience_language)
        .bind(&audience.audience_module)
        .bind(audience.audience_min_members)
        .bind(audience.guild_ids_param())
        .fetch_one(pool)
        .await
}

/// Where the worker reports progress: the interaction that pressed Send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgressTarget {
    pub application_id: u64,
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// What pressing Send or Schedule on a draft did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queueing {
    /// Queued, due at the time given.
    Queued,
    /// It is not a draft any more (pressed twice, discarded, sent, ...).
    NotADraft,
    /// It waits for another developer's approval: only an approval queues
    /// it, whatever `BROADCAST_APPROVALS` the pressing process runs with.
    AwaitsApproval,
}

/// Queues a draft: due at `at` (now for Send), unless it is no longer a
/// draft or waits for approval. Wakes the workers.
pub async fn queue(
    pool: &PgPool,
    id: i64,
    at: DateTime<Utc>,
    progress: &ProgressTarget,
) -> Result<Queueing, sqlx::Error> {
    let mut transaction = pool.begin().await?;
    // The row is locked for the check, so an approval request in between
    // cannot slip past it.
    // language=PostgreSQL
    let awaiting: Option<bool> = sqlx::query_scalar(
        "SELECT approval_requested_at IS NOT NULL FROM broadcasts
          WHERE id = $1 AND status = 'draft' FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *transaction)
    .await?;
    match awaiting {
        None => return Ok(Queueing::NotADraft),
        Some(true) => return Ok(Queueing::AwaitsApproval),
        Some(false) => {}
    }
    // language=PostgreSQL
    sqlx::query(
        "UPDATE broadcasts SET status = 'scheduled', scheduled_for = $2,
                progress_application_id = $3, progress_token = $4, progress_token_expires_at = $5
          WHERE id = $1",
    )
    .bind(id)
    .bind(at)
    .bind(db_id(progress.application_id))
    .bind(&progress.token)
    .bind(progress.expires_at)
    .execute(&mut *transaction)
    .await?;
    notify(&mut transaction, id).await?;
    transaction.commit().await?;
    Ok(Queueing::Queued)
}

/// What a cancel did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cancelled {
    /// It was scheduled (or a draft) and will not go out.
    BeforeSending,
    /// It was sending: this many pending deliveries were cancelled.
    WhileSending(u64),
    /// Already sent or cancelled: nothing to do.
    Nothing,
}

pub async fn cancel(pool: &PgPool, id: i64, by: u64) -> Result<Cancelled, sqlx::Error> {
    let mut transaction = pool.begin().await?;
    // language=PostgreSQL
    let status: Option<BroadcastStatus> = sqlx::query_scalar(
        "UPDATE broadcasts b SET status = 'cancelled', cancelled_by = $2, finished_at = now(),
                progress_token = NULL
           FROM (SELECT id, status FROM broadcasts WHERE id = $1 FOR UPDATE) old
          WHERE b.id = old.id AND old.status IN ('draft', 'scheduled', 'sending')
         RETURNING old.status",
    )
    .bind(id)
    .bind(db_id(by))
    .fetch_optional(&mut *transaction)
    .await?;
    let outcome = match status {
        Some(BroadcastStatus::Sending) => {
            // language=PostgreSQL
            let rows = sqlx::query(
                "UPDATE broadcast_deliveries SET status = 'cancelled', updated_at = now()
                  WHERE broadcast_id = $1 AND status = 'pending'",
            )
            .bind(id)
            .execute(&mut *transaction)
            .await?
            .rows_affected();
            Cancelled::WhileSending(rows)
        }
        Some(_) => Cancelled::BeforeSending,
        None => Cancelled::Nothing,
    };
    transaction.commit().await?;
    Ok(outcome)
}
