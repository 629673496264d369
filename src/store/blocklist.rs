//! The `blocklist` table: servers the bot leaves whenever they add it, and
//! users whose interactions it refuses. Every process holds the ids in memory
//! ([`crate::blocked_set`]); this is the table behind it.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::{DbId, db_id};

/// What an entry blocks.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    poise::ChoiceParameter,
    serde::Serialize,
    serde::Deserialize,
)]
pub enum BlockKind {
    #[name = "server"]
    Server,
    #[name = "user"]
    User,
}

impl BlockKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Server => "server",
            Self::User => "user",
        }
    }

    fn parse(kind: &str) -> Option<Self> {
        match kind {
            "server" => Some(Self::Server),
            "user" => Some(Self::User),
            _ => None,
        }
    }
}

/// Adds an entry; `false` if that server or user is blocked already.
pub async fn add(
    pool: &PgPool,
    kind: BlockKind,
    id: u64,
    reason: &str,
    added_by: u64,
) -> Result<bool, sqlx::Error> {
    // language=PostgreSQL
    let added = sqlx::query(
        "INSERT INTO blocklist (kind, id, reason, added_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (kind, id) DO NOTHING",
    )
    .bind(kind.as_str())
    .bind(db_id(id))
    .bind(reason)
    .bind(db_id(added_by))
    .execute(pool)
    .await?;
    Ok(added.rows_affected() == 1)
}

/// Removes an entry; `false` if there was none.
pub async fn remove(pool: &PgPool, kind: BlockKind, id: u64) -> Result<bool, sqlx::Error> {
    // language=PostgreSQL
    let removed = sqlx::query("DELETE FROM blocklist WHERE kind = $1 AND id = $2")
        .bind(kind.as_str())
        .bind(db_id(id))
        .execute(pool)
        .await?;
    Ok(removed.rows_affected() == 1)
}

/// Every blocked id, for the in-memory copy.
pub async fn ids(pool: &PgPool) -> Result<Vec<(BlockKind, u64)>, sqlx::Error> {
    // language=PostgreSQL
    let rows: Vec<(String, DbId)> = sqlx::query_as("SELECT kind, id FROM blocklist")
        .fetch_all(pool)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(kind, id)| Some((BlockKind::parse(&kind)?, u64::from(id))))
        .collect())
}

/// The reason an entry was added with, if it exists.
pub async fn reason(
    pool: &PgPool,
    kind: BlockKind,
    id: u64,
) -> Result<Option<String>, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_scalar("SELECT reason FROM blocklist WHERE kind = $1 AND id = $2")
        .bind(kind.as_str())
        .bind(db_id(id))
        .fetch_optional(pool)
        .await
}

/// One entry as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockEntry {
    pub kind: BlockKind,
    pub id: u64,
    /// A blocked server's name, if the bot ever was in it.
    pub name: Option<String>,
    pub reason: String,
    pub added_by: u64,
    pub added_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct EntryRow {
    kind: String,
    #[sqlx(try_from = "DbId")]
    id: u64,
    name: Option<String>,
    reason: String,
    #[sqlx(try_from = "DbId")]
    added_by: u64,
    added_at: DateTime<Utc>,
}

pub async fn count(pool: &PgPool) -> Result<i64, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_scalar("SELECT count(*) FROM blocklist")
        .fetch_one(pool)
        .await
}

/// `limit` entries from `offset`, newest first.
pub async fn page(pool: &PgPool, offset: i64, limit: i64) -> Result<Vec<BlockEntry>, sqlx::Error> {
    // language=PostgreSQL
    let rows: Vec<EntryRow> = sqlx::query_as(
        "SELECT b.kind, b.id, g.name, b.reason, b.added_by, b.added_at
           FROM blocklist b
           LEFT JOIN guilds g ON b.kind = 'server' AND g.id = b.id
          ORDER BY b.added_at DESC, b.kind, b.id
         OFFSET $1 LIMIT $2",
    )
    .bind(offset)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            Some(BlockEntry {
                kind: BlockKind::parse(&row.kind)?,
                id: row.id,
                name: row.name,
                reason: row.reason,
                added_by: row.added_by,
                added_at: row.added_at,
            })
        })
        .collect())
}
