//! The `system_logs` table: the operational log developers read in `/admin logs`.

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, QueryBuilder};

use super::db_id;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub const ALL: [Self; 3] = [Self::Info, Self::Warning, Self::Error];

    /// The value stored in (and constrained by) the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }

    /// The severity a stored or typed value names (`warn` is accepted too).
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "info" => Some(Self::Info),
            "warning" | "warn" => Some(Self::Warning),
            "error" => Some(Self::Error),
            _ => None,
        }
    }
}

/// Maximum stored message length (a database constraint too).
pub const MAX_MESSAGE_CHARS: usize = 4000;
/// Most entries `/admin logs` shows or exports at once.
pub const MAX_LIMIT: i64 = 500;

/// An entry to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLogEntry {
    pub created_at: DateTime<Utc>,
    pub severity: Severity,
    /// Must match `^[a-z0-9_]{1,64}$` (see [`sanitize_event_type`]).
    pub event_type: String,
    pub guild_id: Option<u64>,
    pub message: String,
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LogEntry {
    pub id: i64,
    pub created_at: DateTime<Utc>,
    pub severity: String,
    pub event_type: String,
    #[sqlx(try_from = "super::NullableDbId")]
    pub guild_id: Option<u64>,
    pub message: String,
}

/// Which entries `/admin logs` wants; `None` means any.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LogFilter {
    pub severity: Option<Severity>,
    pub event_type: Option<String>,
    pub guild_id: Option<u64>,
    /// 1 to [`MAX_LIMIT`].
    pub limit: i64,
}

/// An event type the database accepts: lower case, `[a-z0-9_]`, 1 to 64
/// characters. Anything else is mapped onto that alphabet rather than refused,
/// because a log line must never be lost for its label.
pub fn sanitize_event_type(raw: &str) -> String {
    let cleaned: String = raw
        .trim()
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '_') => c,
            _ => '_',
        })
        .take(64)
        .collect();
    if cleaned.is_empty() {
        "unknown".to_owned()
    } else {
        cleaned
    }
}

/// What is stored of a message: no token or secret (see [`crate::redact`]),
/// and no more than the column holds.
fn cut_message(message: &str) -> String {
    crate::redact::redact(message)
        .chars()
        .take(MAX_MESSAGE_CHARS)
        .collect()
}

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
    // language=PostgreSQL
    sqlx::query(
        "INSERT INTO system_logs (severity, event_type, guild_id, message) VALUES ($1, $2, $3, $4)",
    )
    .bind(severity.as_str())
    .bind(sanitize_event_type(event_type))
    .bind(guild_id.map(db_id))
    .bind(cut_message(message))
    .execute(pool)
    .await?;
    Ok(())
}

/// Appends many entries in one statement (the tracing layer's writer).
pub async fn insert_batch(pool: &PgPool, entries: &[NewLogEntry]) -> Result<(), sqlx::Error> {
    if entries.is_empty() {
        return Ok(());
    }
    let mut times = Vec::with_capacity(entries.len());
    let mut severities = Vec::with_capacity(entries.len());
    let mut types = Vec::with_capacity(entries.len());
    let mut guilds = Vec::with_capacity(entries.len());
    let mut messages = Vec::with_capacity(entries.len());
    for entry in entries {
        times.push(entry.created_at);
        severities.push(entry.severity.as_str());
        types.push(sanitize_event_type(&entry.event_type));
        guilds.push(entry.guild_id.map(db_id));
        messages.push(cut_message(&entry.message));
    }
    // language=PostgreSQL
    sqlx::query(
        r#"
        INSERT INTO system_logs (created_at, severity, event_type, guild_id, message)
        SELECT * FROM UNNEST($1::timestamptz[], $2::text[], $3::text[], $4::int8[], $5::text[])
        "#,
    )
    .bind(&times)
    .bind(&severities)
    .bind(&types)
    .bind(&guilds)
    .bind(&messages)
    .execute(pool)
    .await?;
    Ok(())
}

/// The newest entries matching `filter`, newest first. Only the filters given
/// appear in the SQL, so each combination gets a plan that uses its index
/// (a catch-all `$1 IS NULL OR ...` query would not).
pub async fn newest(pool: &PgPool, filter: &LogFilter) -> Result<Vec<LogEntry>, sqlx::Error> {
    newest_up_to(pool, filter, None).await
}

/// [`newest`] among the entries with an id up to `up_to_id`: the list as it
/// was when `/admin logs` drew its first page, so later pages and the CSV
/// show the same entries however many arrived since.
#[tracing::instrument(skip(pool))]
pub async fn newest_up_to(
    pool: &PgPool,
    filter: &LogFilter,
    up_to_id: Option<i64>,
) -> Result<Vec<LogEntry>, sqlx::Error> {
    let mut query: QueryBuilder<Postgres> = QueryBuilder::new(
        "SELECT id, created_at, severity, event_type, guild_id, message FROM system_logs WHERE true",
    );
    if let Some(id) = up_to_id {
        query.push(" AND id <= ").push_bind(id);
    }
    if let Some(severity) = filter.severity {
        query.push(" AND severity = ").push_bind(severity.as_str());
    }
    if let Some(event_type) = &filter.event_type {
        query
            .push(" AND event_type = ")
            .push_bind(event_type.clone());
    }
    if let Some(guild_id) = filter.guild_id {
        query.push(" AND guild_id = ").push_bind(db_id(guild_id));
    }
    query
        .push(" ORDER BY created_at DESC, id DESC LIMIT ")
        .push_bind(filter.limit.clamp(1, MAX_LIMIT));
    query.build_query_as().fetch_all(pool).await
}

/// Every event type present in the table, found by skipping through the
/// event-type index (one probe per distinct type, not a scan of every entry).
pub async fn event_types(pool: &PgPool) -> Result<Vec<String>, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_scalar(
        r#"
        WITH RECURSIVE types AS (
            (SELECT event_type FROM system_logs ORDER BY event_type LIMIT 1)
            UNION ALL
            SELECT (SELECT s.event_type FROM system_logs s
                     WHERE s.event_type > types.event_type ORDER BY s.event_type LIMIT 1)
              FROM types WHERE types.event_type IS NOT NULL
        )
        SELECT event_type FROM types WHERE event_type IS NOT NULL LIMIT 200
        "#,
    )
    .fetch_all(pool)
    .await
}

/// Deletes up to `batch` entries older than `cutoff`; returns how many went.
/// Small batches keep each transaction short, so retention never holds locks
/// or bloats WAL the way one huge DELETE would.
pub async fn delete_older_than(
    pool: &PgPool,
    cutoff: DateTime<Utc>,
    batch: i64,
) -> Result<u64, sqlx::Error> {
    // language=PostgreSQL
    let sql = "DELETE FROM system_logs WHERE id IN (
                   SELECT id FROM system_logs WHERE created_at < $1 ORDER BY created_at LIMIT $2)";
    super::delete_batch(pool, sql, cutoff, batch).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_are_mapped_onto_what_the_database_accepts() {
        assert_eq!(sanitize_event_type("guild_join"), "guild_join");
        assert_eq!(sanitize_event_type("Config-Update"), "config_update");
        assert_eq!(sanitize_event_type(""), "unknown");
        assert_eq!(sanitize_event_type(&"x".repeat(100)).len(), 64);
    }

    #[test]
    fn severities_parse_from_what_people_type() {
        assert_eq!(Severity::parse("WARN"), Some(Severity::Warning));
        assert_eq!(Severity::parse(" error "), Some(Severity::Error));
        assert_eq!(Severity::parse("fatal"), None);
    }
}
