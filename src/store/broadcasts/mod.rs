//! Broadcasts and their delivery rows, split by concern: [`drafts`] (compose,
//! dry run, queue, cancel), [`deliveries`](mod@deliveries) (the due-queue and the crash-safe
//! claim of deliveries: `FOR UPDATE SKIP LOCKED` plus a lease) and [`reports`]
//! (counts, failures, history, CSV rows). The rows here are plain: the domain
//! types (`Draft`, `Category`) convert themselves from them.

pub mod approvals;
pub mod audience;
pub mod deliveries;
pub mod drafts;
pub mod followups;
pub mod reports;

use chrono::{DateTime, Utc};
use sqlx::PgPool;

pub use audience::Audience;
pub use deliveries::*;
pub use drafts::*;
pub use followups::{FollowupKind, Refusal};
pub use reports::*;

/// The channel every process LISTENs on; the payload is the broadcast id.
pub const CHANNEL: &str = "admin_panel_broadcasts";

/// Where a broadcast is in its life (the `broadcasts.status` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum BroadcastStatus {
    Draft,
    Scheduled,
    Sending,
    Sent,
    Cancelled,
}

impl BroadcastStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Scheduled => "scheduled",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Cancelled => "cancelled",
        }
    }

    /// Whether a cancel can still change anything.
    pub fn cancellable(self) -> bool {
        matches!(self, Self::Draft | Self::Scheduled | Self::Sending)
    }
}

impl std::fmt::Display for BroadcastStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where one server's delivery is (the `broadcast_deliveries.status` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum DeliveryStatus {
    Pending,
    Sent,
    Skipped,
    Failed,
    Cancelled,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Skipped => "skipped",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }
}

impl std::fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The message as composed, exactly as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MessageFields {
    pub category: String,
    pub title: String,
    pub content: Option<String>,
    pub color: Option<i32>,
    pub image_url: Option<String>,
    pub footer: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BroadcastRow {
    pub id: i64,
    #[sqlx(flatten)]
    pub message: MessageFields,
    pub status: BroadcastStatus,
    #[sqlx(try_from = "super::DbId")]
    pub created_by: u64,
    pub created_at: DateTime<Utc>,
    pub scheduled_for: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    #[sqlx(try_from = "super::NullableDbId")]
    pub progress_application_id: Option<u64>,
    pub progress_token: Option<String>,
    pub progress_token_expires_at: Option<DateTime<Utc>>,
    /// When its delivered messages were last edited, and by whom.
    pub edited_at: Option<DateTime<Utc>>,
    /// When it was recalled (every delivered message deleted).
    pub recalled_at: Option<DateTime<Utc>>,
    #[sqlx(flatten)]
    pub audience: Audience,
    /// Who asked for approval (`BROADCAST_APPROVALS`), while it waits.
    #[sqlx(try_from = "super::NullableDbId")]
    pub approval_requested_by: Option<u64>,
    /// Why the last request was rejected, if it was.
    pub rejection_reason: Option<String>,
    /// Why its deliveries are holding back right now, if they are.
    pub paused_reason: Option<String>,
}

const COLUMNS: &str = "id, category, title, content, color, image_url, footer, status, created_by, created_at, scheduled_for, started_at, finished_at, progress_application_id, progress_token, progress_token_expires_at, edited_at, recalled_at, approval_requested_by, rejection_reason, paused_reason";

pub async fn get(pool: &PgPool, id: i64) -> Result<Option<BroadcastRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS}, {} FROM broadcasts WHERE id = $1",
        audience::AUDIENCE_COLUMNS
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// Forgets the interaction token of a broadcast's progress message once it
/// is no longer needed (the broadcast finished): a token is a credential.
pub async fn clear_progress_token(pool: &PgPool, id: i64) -> Result<(), sqlx::Error> {
    // language=PostgreSQL
    sqlx::query("UPDATE broadcasts SET progress_token = NULL WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

/// Marks broadcast `id` as holding back for `reason` (`None`: going again).
pub async fn set_paused(pool: &PgPool, id: i64, reason: Option<&str>) -> Result<(), sqlx::Error> {
    // language=PostgreSQL
    sqlx::query("UPDATE broadcasts SET paused_reason = $2 WHERE id = $1")
        .bind(id)
        .bind(reason)
        .execute(pool)
        .await?;
    Ok(())
}

/// Forgets every progress token past its expiry (a process that died before
/// clearing its own leaves one behind).
pub async fn clear_expired_progress_tokens(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let mut cleared = 0;
    for sql in [
        // language=PostgreSQL
        "UPDATE broadcasts SET progress_token = NULL
          WHERE progress_token IS NOT NULL AND progress_token_expires_at < now()",
        // language=PostgreSQL
        "UPDATE broadcast_followups SET progress_token = NULL
          WHERE progress_token IS NOT NULL AND progress_token_expires_at < now()",
    ] {
        cleared += sqlx::query(sql).execute(pool).await?.rows_affected();
    }
    Ok(cleared)
}

/// The leased claim that deliveries and follow-up targets share: up to `$3`
/// due pending rows of `$1` (the `key` column), skipping rows another
/// process is claiming rather than waiting for them, each leased to
/// instance `$2` for `$4` seconds (if that process dies, the row becomes
/// claimable again after the lease, or at once when its host sees the pid
/// gone); returns the `returning` columns of the claimed rows.
fn claim_sql(table: &str, key: &str, returning: &[&str]) -> String {
    let returning: Vec<String> = returning
        .iter()
        .map(|column| format!("t.{column}"))
        .collect();
    format!(
        "WITH picked AS (
             SELECT guild_id FROM {table}
              WHERE {key} = $1 AND status = 'pending' AND next_attempt_at <= now()
              ORDER BY next_attempt_at, guild_id
              LIMIT $3
              FOR UPDATE SKIP LOCKED
         )
         UPDATE {table} t
            SET attempts = t.attempts + 1, claimed_by = $2, updated_at = now(),
                next_attempt_at = now() + make_interval(secs => $4)
           FROM picked
          WHERE t.{key} = $1 AND t.guild_id = picked.guild_id
         RETURNING {}",
        returning.join(", ")
    )
}

/// Wakes every process's delivery worker (inside the caller's transaction, so
/// the notification goes out only if the change commits).
async fn notify(connection: &mut sqlx::PgConnection, id: i64) -> Result<(), sqlx::Error> {
    // language=PostgreSQL
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(id.to_string())
        .execute(connection)
        .await?;
    Ok(())
}
