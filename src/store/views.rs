//! What the panel's controls need besides their custom id: the shared key
//! that signs the ids, and the arguments of a view (a list's filters) that
//! are too long for an id.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::db_id;

/// The key that signs custom ids: created once (by the first process to ask),
/// then the same for every process and every restart.
pub async fn control_key(pool: &PgPool) -> Result<Vec<u8>, sqlx::Error> {
    let fresh: [u8; 32] = rand::random();
    // language=PostgreSQL
    let created: Option<Vec<u8>> = sqlx::query_scalar(
        "WITH created AS (
             INSERT INTO panel_secrets (name, value) VALUES ('control_key', $1)
             ON CONFLICT (name) DO NOTHING RETURNING value)
         SELECT value FROM created
         UNION ALL SELECT value FROM panel_secrets WHERE name = 'control_key'
         LIMIT 1",
    )
    .bind(&fresh[..])
    .fetch_optional(pool)
    .await?;
    match created {
        Some(key) => Ok(key),
        // Another process inserted it while this statement ran: the insert
        // waited for that one and did nothing, and the statement's snapshot
        // predates it. A new statement sees it.
        // language=PostgreSQL
        None => {
            sqlx::query_scalar("SELECT value FROM panel_secrets WHERE name = 'control_key'")
                .fetch_one(pool)
                .await
        }
    }
}

/// Saves a view's arguments; the returned id goes into its controls.
pub async fn save(
    pool: &PgPool,
    kind: &str,
    owner: u64,
    args: &serde_json::Value,
    expires_at: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_scalar(
        "INSERT INTO panel_views (kind, owner_id, args, expires_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(kind)
    .bind(db_id(owner))
    .bind(args)
    .bind(expires_at)
    .fetch_one(pool)
    .await
}

/// A stored view.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ViewRow {
    pub kind: String,
    #[sqlx(try_from = "super::DbId")]
    pub owner_id: u64,
    pub args: serde_json::Value,
}

pub async fn load(pool: &PgPool, id: i64) -> Result<Option<ViewRow>, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_as("SELECT kind, owner_id, args FROM panel_views WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// Deletes up to `batch` views that expired before `cutoff`.
pub async fn delete_expired(
    pool: &PgPool,
    cutoff: DateTime<Utc>,
    batch: i64,
) -> Result<u64, sqlx::Error> {
    // language=PostgreSQL
    let sql = "DELETE FROM panel_views WHERE id IN (
                   SELECT id FROM panel_views WHERE expires_at < $1 ORDER BY expires_at LIMIT $2)";
    super::delete_batch(pool, sql, cutoff, batch).await
}
