//! Operational log entries the panel writes itself, as part of the operation
//! (a developer added, a setting changed, a server joined): stored at once, so
//! the caller knows the entry exists, and mirrored to the tracing output. The
//! mirror uses [`PERSISTED_TARGET`], which the [`super::log_layer`] skips, so
//! an entry is never stored twice.

use sqlx::PgPool;

use super::log_layer::PERSISTED_TARGET;
use crate::store::logs::{self, Severity};

/// Stores the entry and echoes it to the tracing output.
pub async fn write_entry(
    pool: &PgPool,
    severity: Severity,
    event_type: &str,
    guild_id: Option<u64>,
    message: &str,
) -> Result<(), sqlx::Error> {
    match severity {
        Severity::Info => {
            tracing::info!(target: PERSISTED_TARGET, event_type, guild_id, "{message}")
        }
        Severity::Warning => {
            tracing::warn!(target: PERSISTED_TARGET, event_type, guild_id, "{message}")
        }
        Severity::Error => {
            tracing::error!(target: PERSISTED_TARGET, event_type, guild_id, "{message}")
        }
    }
    logs::insert(pool, severity, event_type, guild_id, message).await
}

/// [`write_entry`] for entries whose loss must not fail the operation: a failure to
/// store is itself only reported on stderr.
pub async fn write_entry_or_warn(
    pool: &PgPool,
    severity: Severity,
    event_type: &str,
    guild_id: Option<u64>,
    message: &str,
) {
    if let Err(error) = write_entry(pool, severity, event_type, guild_id, message).await {
        tracing::warn!(
            target: PERSISTED_TARGET,
            error = %crate::error::cause_chain(&error),
            event_type,
            "could not store an operational log entry"
        );
    }
}
