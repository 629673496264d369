//! The `maintenance` table: which commands answer a message instead of
//! running, since when and on whose word. Every process holds the rows in
//! memory ([`crate::maintenance`]); this is the table behind it.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::{DbId, db_id};

/// The scope of maintenance over every command (but `/admin`).
pub const EVERY_COMMAND: &str = "*";

/// One scope under maintenance.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MaintenanceRow {
    /// [`EVERY_COMMAND`], or a command's name (`ping`, `settings color`).
    pub command: String,
    /// What the command answers instead of running.
    pub message: String,
    pub since: DateTime<Utc>,
    #[sqlx(try_from = "DbId")]
    pub set_by: u64,
}

/// Puts `command` under maintenance with `message` (replacing the message
/// if it was already).
pub async fn turn_on(
    pool: &PgPool,
    command: &str,
    message: &str,
    by: u64,
) -> Result<(), sqlx::Error> {
    // language=PostgreSQL
    sqlx::query(
        "INSERT INTO maintenance (command, message, set_by) VALUES ($1, $2, $3)
         ON CONFLICT (command) DO UPDATE
            SET message = EXCLUDED.message, since = now(), set_by = EXCLUDED.set_by",
    )
    .bind(command)
    .bind(message)
    .bind(db_id(by))
    .execute(pool)
    .await?;
    Ok(())
}

/// Ends maintenance of `command`; `false` if it was not on.
pub async fn turn_off(pool: &PgPool, command: &str) -> Result<bool, sqlx::Error> {
    // language=PostgreSQL
    let ended = sqlx::query("DELETE FROM maintenance WHERE command = $1")
        .bind(command)
        .execute(pool)
        .await?;
    Ok(ended.rows_affected() == 1)
}

/// Every scope under maintenance, the bot-wide one first.
pub async fn all(pool: &PgPool) -> Result<Vec<MaintenanceRow>, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_as(
        "SELECT command, message, since, set_by FROM maintenance
          ORDER BY command <> '*', command",
    )
    .fetch_all(pool)
    .await
}
