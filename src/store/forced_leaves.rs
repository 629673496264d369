//! The `forced_leaves` table: servers a developer asked the bot to leave.
//! A request is stored when it is asked and claimed by the one press that
//! confirms it, so two presses (or two processes) never leave twice and a
//! process that dies between the claim and Discord's answer does not block
//! the request for good.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::{DbId, db_id};

/// A claim older than this is taken to belong to a process that died.
const STALE_CLAIM_SECONDS: i64 = 60;

/// A server the bot is in, as a leave request names it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LeaveTarget {
    /// The request.
    pub id: i64,
    #[sqlx(try_from = "DbId")]
    pub guild_id: u64,
    pub name: String,
    pub member_count: i32,
    pub reason: String,
}

/// Why a request could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotLeavable {
    /// The bot never knew that server.
    Unknown,
    /// The bot is no longer in it.
    AlreadyLeft { name: String, at: DateTime<Utc> },
}

/// Stores a request to leave `guild_id`, if the bot is in that server.
pub async fn request(
    pool: &PgPool,
    guild_id: u64,
    reason: &str,
    requested_by: u64,
) -> Result<Result<LeaveTarget, NotLeavable>, sqlx::Error> {
    // language=PostgreSQL
    let stored: Option<LeaveTarget> = sqlx::query_as(
        "WITH server AS (
             SELECT id, name, member_count FROM guilds WHERE id = $1 AND left_at IS NULL
         ),
         stored AS (
             INSERT INTO forced_leaves (guild_id, reason, requested_by)
             SELECT id, $2, $3 FROM server
             RETURNING id, guild_id, reason
         )
         SELECT stored.id, stored.guild_id, server.name, server.member_count, stored.reason
           FROM stored JOIN server ON server.id = stored.guild_id",
    )
    .bind(db_id(guild_id))
    .bind(reason)
    .bind(db_id(requested_by))
    .fetch_optional(pool)
    .await?;
    if let Some(stored) = stored {
        return Ok(Ok(stored));
    }
    // language=PostgreSQL
    let left: Option<(String, Option<DateTime<Utc>>)> =
        sqlx::query_as("SELECT name, left_at FROM guilds WHERE id = $1")
            .bind(db_id(guild_id))
            .fetch_optional(pool)
            .await?;
    Ok(Err(match left {
        Some((name, Some(at))) => NotLeavable::AlreadyLeft { name, at },
        // Active a moment ago and gone now, or never known.
        Some((name, None)) => NotLeavable::AlreadyLeft {
            name,
            at: Utc::now(),
        },
        None => NotLeavable::Unknown,
    }))
}

/// What a confirming press finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This press goes ahead: nobody else will.
    Go(LeaveTarget),
    /// Another press is leaving right now.
    UnderWay,
    /// The bot left already (this request or the server's own GUILD_DELETE).
    Done { name: String },
    /// No such request.
    Unknown,
}

/// Claims request `id` for the press of `by`.
pub async fn claim(pool: &PgPool, id: i64, by: u64) -> Result<Claim, sqlx::Error> {
    // language=PostgreSQL
    let claimed: Option<LeaveTarget> = sqlx::query_as(
        "UPDATE forced_leaves f SET started_by = $2, started_at = now()
           FROM guilds g
          WHERE f.id = $1 AND g.id = f.guild_id AND g.left_at IS NULL AND f.left_at IS NULL
            AND (f.started_at IS NULL OR f.started_at < now() - make_interval(secs => $3))
         RETURNING f.id, f.guild_id, g.name, g.member_count, f.reason",
    )
    .bind(id)
    .bind(db_id(by))
    .bind(STALE_CLAIM_SECONDS as f64)
    .fetch_optional(pool)
    .await?;
    if let Some(target) = claimed {
        return Ok(Claim::Go(target));
    }
    // language=PostgreSQL
    let found: Option<(String, bool)> = sqlx::query_as(
        "SELECT g.name, f.left_at IS NULL AND g.left_at IS NULL
           FROM forced_leaves f JOIN guilds g ON g.id = f.guild_id
          WHERE f.id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(match found {
        Some((_, true)) => Claim::UnderWay,
        Some((name, false)) => Claim::Done { name },
        None => Claim::Unknown,
    })
}

/// Discord confirmed the bot is out.
pub async fn finish(pool: &PgPool, id: i64) -> Result<(), sqlx::Error> {
    // language=PostgreSQL
    sqlx::query("UPDATE forced_leaves SET left_at = now() WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

/// Discord did not let the bot leave: the question may be answered again.
pub async fn release(pool: &PgPool, id: i64) -> Result<(), sqlx::Error> {
    // language=PostgreSQL
    sqlx::query("UPDATE forced_leaves SET started_by = NULL, started_at = NULL WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}
