//! What happened to a broadcast: delivery counts, failures grouped by
//! Discord's error, skip reasons, the history list and the CSV rows.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::{BroadcastStatus, DeliveryStatus, FollowupKind};

/// Delivery counts of one broadcast.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct Counts {
    pub targeted: i64,
    pub pending: i64,
    pub sent: i64,
    pub skipped: i64,
    pub failed: i64,
    pub cancelled: i64,
}

impl Counts {
    /// The success rate as the mission defines it: the share of targeted
    /// servers the broadcast reached (successful / targeted), as a
    /// percentage; `None` when no server was targeted. A broadcast that
    /// reached one server in ten because nine had no channel shows 10 %.
    pub fn success_rate(&self) -> Option<f64> {
        (self.targeted > 0).then(|| self.sent as f64 * 100.0 / self.targeted as f64)
    }

    /// successful / (targeted - skipped): how well delivery itself went, among
    /// the servers with a broadcast channel that accepts the category;
    /// `None` when there were none.
    pub fn delivery_rate(&self) -> Option<f64> {
        let deliverable = self.targeted - self.skipped;
        (deliverable > 0).then(|| self.sent as f64 * 100.0 / deliverable as f64)
    }
}

/// The select list of [`Counts`] over `broadcast_deliveries` rows; the one
/// place these counts are written, for one broadcast and for the history.
const COUNTS_SELECT: &str = "count(*) AS targeted,
        count(*) FILTER (WHERE status = 'pending') AS pending,
        count(*) FILTER (WHERE status = 'sent') AS sent,
        count(*) FILTER (WHERE status = 'skipped') AS skipped,
        count(*) FILTER (WHERE status = 'failed') AS failed,
        count(*) FILTER (WHERE status = 'cancelled') AS cancelled";

pub async fn counts(pool: &PgPool, id: i64) -> Result<Counts, sqlx::Error> {
    let sql = format!("SELECT {COUNTS_SELECT} FROM broadcast_deliveries WHERE broadcast_id = $1");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_one(pool)
        .await
}

/// Failures grouped by Discord's error, most frequent first, with up to 10
/// example server ids each. Those the permission snapshot ruled out (no
/// request made) are grouped by the missing permission, not by channel.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FailureGroup {
    pub error_code: Option<i32>,
    pub error_message: String,
    /// Checked before sending: no request was made.
    pub before_sending: bool,
    pub count: i64,
    #[sqlx(try_from = "crate::store::DbIds")]
    pub examples: Vec<u64>,
}

pub async fn failures(pool: &PgPool, id: i64) -> Result<Vec<FailureGroup>, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_as(
        "SELECT error_code,
                CASE WHEN missing_permission IS NOT NULL
                     THEN 'missing permission: ' || missing_permission
                     ELSE coalesce(error_message, 'unknown error') END AS error_message,
                missing_permission IS NOT NULL AS before_sending, count(*) AS count,
                (array_agg(guild_id ORDER BY guild_id))[1:10] AS examples
           FROM broadcast_deliveries WHERE broadcast_id = $1 AND status = 'failed'
          GROUP BY 1, 2, 3 ORDER BY count DESC, 1 NULLS LAST, 2",
    )
    .bind(id)
    .fetch_all(pool)
    .await
}

/// Skipped deliveries by reason (`no_channel`, `category_refused`), most first.
pub async fn skipped(pool: &PgPool, id: i64) -> Result<Vec<(String, i64)>, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_as(
        "SELECT skip_reason, count(*) FROM broadcast_deliveries
          WHERE broadcast_id = $1 AND status = 'skipped' GROUP BY 1 ORDER BY 2 DESC, 1",
    )
    .bind(id)
    .fetch_all(pool)
    .await
}

/// One edit or recall of a broadcast, for its report.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct FollowupReport {
    pub id: i64,
    pub kind: FollowupKind,
    #[sqlx(try_from = "crate::store::DbId")]
    pub requested_by: u64,
    pub requested_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub targeted: i64,
    pub pending: i64,
    pub done: i64,
    pub gone: i64,
    pub failed: i64,
    /// The most frequent errors of failed targets: "50013 Missing Permissions × 3".
    pub errors: Vec<String>,
    /// Why it is holding back right now, if it is.
    pub paused_reason: Option<String>,
}

/// Every edit and recall of `broadcast`, oldest first.
pub async fn followup_reports(
    pool: &PgPool,
    broadcast: i64,
) -> Result<Vec<FollowupReport>, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_as(
        "SELECT f.id, f.kind, f.requested_by, f.requested_at, f.finished_at, f.paused_reason,
                c.targeted, c.pending, c.done, c.gone, c.failed,
                coalesce(e.errors, ARRAY[]::text[]) AS errors
           FROM broadcast_followups f
           CROSS JOIN LATERAL (
                SELECT count(*) AS targeted,
                       count(*) FILTER (WHERE status = 'pending') AS pending,
                       count(*) FILTER (WHERE status = 'done') AS done,
                       count(*) FILTER (WHERE status = 'gone') AS gone,
                       count(*) FILTER (WHERE status = 'failed') AS failed
                  FROM broadcast_followup_targets t WHERE t.followup_id = f.id) c
           CROSS JOIN LATERAL (
                SELECT array_agg(line ORDER BY n DESC) AS errors FROM (
                    SELECT concat_ws(' ', error_code, coalesce(error_message, 'unknown error')) || ' × ' || count(*) AS line,
                           count(*) AS n
                      FROM broadcast_followup_targets t
                     WHERE t.followup_id = f.id AND t.status = 'failed'
                     GROUP BY error_code, error_message
                     ORDER BY n DESC LIMIT 3) top) e
          WHERE f.broadcast_id = $1
          ORDER BY f.id",
    )
    .bind(broadcast)
    .fetch_all(pool)
    .await
}

/// Publishing to followers: (`published` or `not_published`, the reason
/// when not, count), most first; empty when no server asked for it.
pub async fn publishing(
    pool: &PgPool,
    id: i64,
) -> Result<Vec<(String, Option<String>, i64)>, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_as(
        "SELECT publish_status, publish_error, count(*) FROM broadcast_deliveries
          WHERE broadcast_id = $1 AND publish AND publish_status IS NOT NULL
          GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2",
    )
    .bind(id)
    .fetch_all(pool)
    .await
}

/// One line of the history.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct HistoryRow {
    pub id: i64,
    pub title: String,
    pub category: String,
    pub status: BroadcastStatus,
    pub scheduled_for: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    pub recalled_at: Option<DateTime<Utc>>,
    #[sqlx(flatten)]
    pub audience: super::Audience,
    #[sqlx(flatten)]
    pub counts: Counts,
}

pub async fn history_count(pool: &PgPool) -> Result<i64, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_scalar("SELECT count(*) FROM broadcasts")
        .fetch_one(pool)
        .await
}

/// Newest first, `limit` from `offset` (broadcasts number in the hundreds, not
/// millions, so an offset is fine here).
pub async fn history(
    pool: &PgPool,
    offset: i64,
    limit: i64,
) -> Result<Vec<HistoryRow>, sqlx::Error> {
    let sql = format!(
        "SELECT b.id, b.title, b.category, b.status, b.scheduled_for, b.started_at, b.created_at,
                b.edited_at, b.recalled_at, b.audience_language, b.audience_module, b.audience_min_members,
                coalesce(b.audience_guild_ids, '{{}}') AS audience_guild_ids, c.*
           FROM (SELECT * FROM broadcasts ORDER BY created_at DESC, id DESC OFFSET $1 LIMIT $2) b
           CROSS JOIN LATERAL (
                SELECT {COUNTS_SELECT} FROM broadcast_deliveries d WHERE d.broadcast_id = b.id) c
          ORDER BY b.created_at DESC, b.id DESC"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(offset)
        .bind(limit)
        .fetch_all(pool)
        .await
}

/// One delivery row for the CSV export.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DeliveryRow {
    #[sqlx(try_from = "crate::store::DbId")]
    pub guild_id: u64,
    pub guild_name: Option<String>,
    #[sqlx(try_from = "crate::store::NullableDbId")]
    pub channel_id: Option<u64>,
    pub status: DeliveryStatus,
    pub skip_reason: Option<String>,
    pub error_code: Option<i32>,
    pub error_message: Option<String>,
    #[sqlx(try_from = "crate::store::NullableDbId")]
    pub message_id: Option<u64>,
    pub attempts: i32,
    pub updated_at: DateTime<Utc>,
}

pub async fn deliveries(pool: &PgPool, id: i64) -> Result<Vec<DeliveryRow>, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_as(
        "SELECT d.guild_id, g.name AS guild_name, d.channel_id, d.status, d.skip_reason, d.error_code,
                d.error_message, d.message_id, d.attempts, d.updated_at
           FROM broadcast_deliveries d LEFT JOIN guilds g ON g.id = d.guild_id
          WHERE d.broadcast_id = $1 ORDER BY d.guild_id",
    )
    .bind(id)
    .fetch_all(pool)
    .await
}
