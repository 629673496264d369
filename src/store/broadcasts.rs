//! Broadcasts and their delivery rows: drafts, the dry run, the due-queue, the
//! crash-safe claim of deliveries (`FOR UPDATE SKIP LOCKED` plus a lease), and
//! the report.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::broadcast::draft::{Category, Draft};

/// The channel every process LISTENs on; the payload is the broadcast id.
pub const CHANNEL: &str = "admin_panel_broadcasts";

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BroadcastRow {
    pub id: i64,
    pub category: String,
    pub title: String,
    pub content: Option<String>,
    pub color: Option<i32>,
    pub image_url: Option<String>,
    pub footer: Option<String>,
    pub status: String,
    pub created_by: i64,
    pub created_at: DateTime<Utc>,
    pub scheduled_for: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub progress_application_id: Option<i64>,
    pub progress_token: Option<String>,
    pub progress_token_expires_at: Option<DateTime<Utc>>,
}

impl BroadcastRow {
    /// The message as composed.
    pub fn draft(&self) -> Draft {
        Draft {
            category: Category::parse(&self.category).unwrap_or(Category::Announcement),
            title: self.title.clone(),
            content: self.content.clone(),
            colour: self.color.map(|c| c as u32),
            image_url: self.image_url.clone(),
            footer: self.footer.clone(),
        }
    }
}

const COLUMNS: &str = "id, category, title, content, color, image_url, footer, status, created_by, created_at, scheduled_for, started_at, finished_at, progress_application_id, progress_token, progress_token_expires_at";

pub async fn create_draft(
    pool: &PgPool,
    draft: &Draft,
    created_by: u64,
    scheduled_for: Option<DateTime<Utc>>,
) -> Result<i64, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_scalar(
        "INSERT INTO broadcasts (category, title, content, color, image_url, footer, created_by, scheduled_for)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(draft.category.as_str())
    .bind(&draft.title)
    .bind(&draft.content)
    .bind(draft.colour.map(|c| c as i32))
    .bind(&draft.image_url)
    .bind(&draft.footer)
    .bind(created_by as i64)
    .bind(scheduled_for)
    .fetch_one(pool)
    .await
}

/// Replaces a draft's message; false when it is no longer a draft.
pub async fn update_draft(pool: &PgPool, id: i64, draft: &Draft) -> Result<bool, sqlx::Error> {
    // language=PostgreSQL
    let result = sqlx::query(
        "UPDATE broadcasts SET category = $2, title = $3, content = $4, color = $5, image_url = $6, footer = $7
          WHERE id = $1 AND status = 'draft'",
    )
    .bind(id)
    .bind(draft.category.as_str())
    .bind(&draft.title)
    .bind(&draft.content)
    .bind(draft.colour.map(|c| c as i32))
    .bind(&draft.image_url)
    .bind(&draft.footer)
    .execute(pool)
    .await?;
    Ok(result.rows_affected() == 1)
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

pub async fn get(pool: &PgPool, id: i64) -> Result<Option<BroadcastRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM broadcasts WHERE id = $1");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await
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

pub async fn dry_run(pool: &PgPool, category: Category) -> Result<DryRun, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_as(
        "SELECT count(*) AS targeted,
                count(*) FILTER (WHERE s.broadcast_channel_id IS NULL) AS no_channel,
                count(*) FILTER (WHERE s.broadcast_channel_id IS NOT NULL
                                   AND NOT ($1 = ANY (s.broadcast_categories))) AS category_refused
           FROM guilds g LEFT JOIN guild_settings s ON s.guild_id = g.id
          WHERE g.left_at IS NULL",
    )
    .bind(category.as_str())
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

/// Queues a draft: due at `at` (now for Send). Returns false when it is not a
/// draft any more (pressed twice, discarded, ...). Wakes the workers.
pub async fn queue(
    pool: &PgPool,
    id: i64,
    at: DateTime<Utc>,
    progress: &ProgressTarget,
) -> Result<bool, sqlx::Error> {
    let mut transaction = pool.begin().await?;
    // language=PostgreSQL
    let result = sqlx::query(
        "UPDATE broadcasts SET status = 'scheduled', scheduled_for = $2,
                progress_application_id = $3, progress_token = $4, progress_token_expires_at = $5
          WHERE id = $1 AND status = 'draft'",
    )
    .bind(id)
    .bind(at)
    .bind(progress.application_id as i64)
    .bind(&progress.token)
    .bind(progress.expires_at)
    .execute(&mut *transaction)
    .await?;
    if result.rows_affected() == 1 {
        notify(&mut transaction, id).await?;
    }
    transaction.commit().await?;
    Ok(result.rows_affected() == 1)
}

async fn notify(connection: &mut sqlx::PgConnection, id: i64) -> Result<(), sqlx::Error> {
    // language=PostgreSQL
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(id.to_string())
        .execute(connection)
        .await?;
    Ok(())
}

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
/// once write the rows once. Returns false when another process already did.
pub async fn start(pool: &PgPool, id: i64) -> Result<bool, sqlx::Error> {
    let mut transaction = pool.begin().await?;
    // language=PostgreSQL
    let category: Option<String> = sqlx::query_scalar(
        "SELECT category FROM broadcasts WHERE id = $1 AND status = 'scheduled' FOR UPDATE SKIP LOCKED",
    )
    .bind(id)
    .fetch_optional(&mut *transaction)
    .await?;
    let Some(category) = category else {
        return Ok(false);
    };
    // language=PostgreSQL
    sqlx::query(
        "INSERT INTO broadcast_deliveries (broadcast_id, guild_id, channel_id, status, skip_reason)
         SELECT $1, g.id, s.broadcast_channel_id,
                CASE WHEN s.broadcast_channel_id IS NULL OR NOT ($2 = ANY (s.broadcast_categories))
                     THEN 'skipped' ELSE 'pending' END,
                CASE WHEN s.broadcast_channel_id IS NULL THEN 'no_channel'
                     WHEN NOT ($2 = ANY (s.broadcast_categories)) THEN 'category_refused' END
           FROM guilds g LEFT JOIN guild_settings s ON s.guild_id = g.id
          WHERE g.left_at IS NULL
         ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(&category)
    .execute(&mut *transaction)
    .await?;
    // language=PostgreSQL
    sqlx::query("UPDATE broadcasts SET status = 'sending', started_at = now() WHERE id = $1")
        .bind(id)
        .execute(&mut *transaction)
        .await?;
    transaction.commit().await?;
    Ok(true)
}

/// A delivery this process holds.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Claimed {
    pub guild_id: i64,
    pub channel_id: i64,
    pub attempts: i32,
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
    // language=PostgreSQL
    sqlx::query_as(
        "WITH picked AS (
             SELECT guild_id FROM broadcast_deliveries
              WHERE broadcast_id = $1 AND status = 'pending' AND next_attempt_at <= now()
              ORDER BY next_attempt_at, guild_id
              LIMIT $3
              FOR UPDATE SKIP LOCKED
         )
         UPDATE broadcast_deliveries d
            SET attempts = d.attempts + 1, claimed_by = $2, updated_at = now(),
                next_attempt_at = now() + make_interval(secs => $4)
           FROM picked
          WHERE d.broadcast_id = $1 AND d.guild_id = picked.guild_id
         RETURNING d.guild_id, d.channel_id, d.attempts",
    )
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
    },
    Failed {
        code: Option<i32>,
        message: String,
    },
}

/// Records an attempt. A sent message is recorded even if the broadcast was
/// cancelled meanwhile (it was posted); a retry or failure only while pending.
/// `claimed_by` stays on finished rows: the report can tell which process
/// delivered what.
pub async fn record(
    pool: &PgPool,
    broadcast: i64,
    guild: i64,
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
        .bind(guild)
        .bind(*message_id as i64),
        Outcome::Retry {
            after_secs,
            code,
            message,
            ..
        } => sqlx::query(
            "UPDATE broadcast_deliveries SET next_attempt_at = now() + make_interval(secs => $3),
                    error_code = $4, error_message = $5, claimed_by = NULL, updated_at = now()
              WHERE broadcast_id = $1 AND guild_id = $2 AND status = 'pending'",
        )
        .bind(broadcast)
        .bind(guild)
        .bind(*after_secs)
        .bind(*code)
        .bind(message),
        Outcome::Failed { code, message } => sqlx::query(
            "UPDATE broadcast_deliveries SET status = 'failed', error_code = $3, error_message = $4,
                    updated_at = now()
              WHERE broadcast_id = $1 AND guild_id = $2 AND status = 'pending'",
        )
        .bind(broadcast)
        .bind(guild)
        .bind(*code)
        .bind(message),
    };
    query.execute(pool).await?;
    Ok(())
}

/// Releases, at once, the leases held by processes on `host` whose pid is in
/// `dead_pids` (they crashed), so their deliveries need not wait out the lease.
pub async fn release_dead_claims(
    pool: &PgPool,
    host: &str,
    dead_pids: &[i32],
) -> Result<u64, sqlx::Error> {
    // language=PostgreSQL
    let result = sqlx::query(
        "UPDATE broadcast_deliveries SET next_attempt_at = now(), claimed_by = NULL
          WHERE status = 'pending' AND claimed_by IN (
                SELECT id FROM bot_instances WHERE host = $1 AND pid = ANY ($2))",
    )
    .bind(host)
    .bind(dead_pids)
    .execute(pool)
    .await?;
    Ok(result.rows_affected())
}

/// Pids of other processes recorded on `host` that may still hold claims.
pub async fn claiming_pids(
    pool: &PgPool,
    host: &str,
    except: i64,
) -> Result<Vec<i32>, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_scalar(
        "SELECT DISTINCT i.pid FROM bot_instances i JOIN broadcast_deliveries d ON d.claimed_by = i.id
          WHERE i.host = $1 AND i.id <> $2 AND d.status = 'pending'",
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
        Some(_) => Ok(Some(counts(pool, id).await?)),
        None => Ok(None),
    }
}

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
    /// successful / (targeted - skipped), as a percentage; `None` when nothing
    /// was to be sent.
    pub fn success_rate(&self) -> Option<f64> {
        let deliverable = self.targeted - self.skipped;
        (deliverable > 0).then(|| self.sent as f64 * 100.0 / deliverable as f64)
    }
}

pub async fn counts(pool: &PgPool, id: i64) -> Result<Counts, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_as(
        "SELECT count(*) AS targeted,
                count(*) FILTER (WHERE status = 'pending') AS pending,
                count(*) FILTER (WHERE status = 'sent') AS sent,
                count(*) FILTER (WHERE status = 'skipped') AS skipped,
                count(*) FILTER (WHERE status = 'failed') AS failed,
                count(*) FILTER (WHERE status = 'cancelled') AS cancelled
           FROM broadcast_deliveries WHERE broadcast_id = $1",
    )
    .bind(id)
    .fetch_one(pool)
    .await
}

/// Failures grouped by Discord's error, most frequent first, with up to 10
/// example server ids each.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FailureGroup {
    pub error_code: Option<i32>,
    pub error_message: String,
    pub count: i64,
    pub examples: Vec<i64>,
}

pub async fn failures(pool: &PgPool, id: i64) -> Result<Vec<FailureGroup>, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_as(
        "SELECT error_code, coalesce(error_message, 'unknown error') AS error_message, count(*) AS count,
                (array_agg(guild_id ORDER BY guild_id))[1:10] AS examples
           FROM broadcast_deliveries WHERE broadcast_id = $1 AND status = 'failed'
          GROUP BY 1, 2 ORDER BY count DESC, 1 NULLS LAST",
    )
    .bind(id)
    .fetch_all(pool)
    .await
}

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

/// Puts failed deliveries back in the queue (same rows, so the same nonces)
/// and the broadcast back to sending. Returns how many were re-queued.
pub async fn retry_failed(pool: &PgPool, id: i64) -> Result<u64, sqlx::Error> {
    let mut transaction = pool.begin().await?;
    // language=PostgreSQL
    let requeued = sqlx::query(
        "UPDATE broadcast_deliveries SET status = 'pending', attempts = 0, next_attempt_at = now(),
                error_code = NULL, error_message = NULL, updated_at = now()
          WHERE broadcast_id = $1 AND status = 'failed'",
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
    let status: Option<String> = sqlx::query_scalar(
        "UPDATE broadcasts b SET status = 'cancelled', cancelled_by = $2, finished_at = now()
           FROM (SELECT id, status FROM broadcasts WHERE id = $1 FOR UPDATE) old
          WHERE b.id = old.id AND old.status IN ('draft', 'scheduled', 'sending')
         RETURNING old.status",
    )
    .bind(id)
    .bind(by as i64)
    .fetch_optional(&mut *transaction)
    .await?;
    let outcome = match status.as_deref() {
        Some("sending") => {
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

/// One line of the history.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct HistoryRow {
    pub id: i64,
    pub title: String,
    pub category: String,
    pub status: String,
    pub scheduled_for: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
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
    // language=PostgreSQL
    sqlx::query_as(
        "SELECT b.id, b.title, b.category, b.status, b.scheduled_for, b.started_at, b.created_at,
                coalesce(c.targeted, 0) AS targeted, coalesce(c.pending, 0) AS pending,
                coalesce(c.sent, 0) AS sent, coalesce(c.skipped, 0) AS skipped,
                coalesce(c.failed, 0) AS failed, coalesce(c.cancelled, 0) AS cancelled
           FROM (SELECT * FROM broadcasts ORDER BY created_at DESC, id DESC OFFSET $1 LIMIT $2) b
           LEFT JOIN LATERAL (
                SELECT count(*) AS targeted,
                       count(*) FILTER (WHERE status = 'pending') AS pending,
                       count(*) FILTER (WHERE status = 'sent') AS sent,
                       count(*) FILTER (WHERE status = 'skipped') AS skipped,
                       count(*) FILTER (WHERE status = 'failed') AS failed,
                       count(*) FILTER (WHERE status = 'cancelled') AS cancelled
                  FROM broadcast_deliveries d WHERE d.broadcast_id = b.id) c ON true
          ORDER BY b.created_at DESC, b.id DESC",
    )
    .bind(offset)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// One delivery row for the CSV export.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DeliveryRow {
    pub guild_id: i64,
    pub guild_name: Option<String>,
    pub channel_id: Option<i64>,
    pub status: String,
    pub skip_reason: Option<String>,
    pub error_code: Option<i32>,
    pub error_message: Option<String>,
    pub message_id: Option<i64>,
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

/// Clears a server's broadcast channel when Discord says it no longer exists;
/// only if it is still that channel (the server may have set a new one).
pub async fn clear_unknown_channel(
    pool: &PgPool,
    guild: i64,
    channel: i64,
) -> Result<bool, sqlx::Error> {
    // language=PostgreSQL
    let result = sqlx::query(
        "UPDATE guild_settings SET broadcast_channel_id = NULL, updated_at = now()
          WHERE guild_id = $1 AND broadcast_channel_id = $2",
    )
    .bind(guild)
    .bind(channel)
    .execute(pool)
    .await?;
    Ok(result.rows_affected() == 1)
}
