//! The `system_logs` table: the operational log developers read in `/admin logs`.

use sqlx::PgPool;

use super::db_id;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    /// The value stored in (and constrained by) the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }
}

/// Maximum stored message length (a database constraint too).
pub const MAX_MESSAGE_CHARS: usize = 4000;

/// Appends one entry. The message is cut to the stored maximum rather than refused:
/// losing the tail of a log line beats losing the line.
#[tracing::instrument(skip_all, fields(event_type))]
pub async fn insert(
    pool: &PgPool,
    severity: Severity,
    event_type: &str,
    guild_id: Option<u64>,
    message: &str,
) -> Result<(), sqlx::Error> {
    let message: String = message.chars().take(MAX_MESSAGE_CHARS).collect();
    // language=PostgreSQL
    sqlx::query(
        "INSERT INTO system_logs (severity, event_type, guild_id, message) VALUES ($1, $2, $3, $4)",
    )
    .bind(severity.as_str())
    .bind(event_type)
    .bind(guild_id.map(db_id))
    .bind(message)
    .execute(pool)
    .await?;
    Ok(())
}
