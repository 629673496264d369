//! Server managers (`dashboard_users`): members a server's admins let change
//! its `/settings` without holding Manage Server themselves.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::db_id;

/// The role `/settings managers add` gives. The schema also knows `owner`,
/// `admin` (allowed as well) and `viewer` (not allowed to change settings).
pub const MANAGER_ROLE: &str = "editor";

/// One manager of a server.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ManagerRow {
    #[sqlx(try_from = "super::DbId")]
    pub user_id: u64,
    pub role: String,
    #[sqlx(try_from = "super::NullableDbId")]
    pub added_by: Option<u64>,
    pub added_at: DateTime<Utc>,
}

/// What [`add`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    Added,
    AlreadyManager,
    /// The server already has `limit` managers; nothing was added.
    Full,
    /// The bot does not know the server (yet).
    UnknownServer,
}

/// Adds `user_id` as a manager of `guild_id`, unless the server already has
/// `limit`. The server's row is locked first, so two concurrent adds cannot
/// both take the last place.
pub async fn add(
    pool: &PgPool,
    guild_id: u64,
    user_id: u64,
    added_by: u64,
    limit: i64,
) -> Result<Added, sqlx::Error> {
    let guild = db_id(guild_id);
    let mut transaction = pool.begin().await?;
    // language=PostgreSQL
    let known: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM guilds WHERE id = $1 FOR NO KEY UPDATE")
            .bind(guild)
            .fetch_optional(&mut *transaction)
            .await?;
    if known.is_none() {
        return Ok(Added::UnknownServer);
    }
    // language=PostgreSQL
    let (count, present): (i64, bool) = sqlx::query_as(
        "SELECT count(*), coalesce(bool_or(user_id = $2), false)
           FROM dashboard_users WHERE guild_id = $1",
    )
    .bind(guild)
    .bind(db_id(user_id))
    .fetch_one(&mut *transaction)
    .await?;
    if present {
        return Ok(Added::AlreadyManager);
    }
    if count >= limit {
        return Ok(Added::Full);
    }
    // language=PostgreSQL
    sqlx::query(
        "INSERT INTO dashboard_users (guild_id, user_id, role, added_by) VALUES ($1, $2, $3, $4)",
    )
    .bind(guild)
    .bind(db_id(user_id))
    .bind(MANAGER_ROLE)
    .bind(db_id(added_by))
    .execute(&mut *transaction)
    .await?;
    transaction.commit().await?;
    Ok(Added::Added)
}

/// Removes a manager; `false` if `user_id` was not one.
pub async fn remove(pool: &PgPool, guild_id: u64, user_id: u64) -> Result<bool, sqlx::Error> {
    // language=PostgreSQL
    let result = sqlx::query("DELETE FROM dashboard_users WHERE guild_id = $1 AND user_id = $2")
        .bind(db_id(guild_id))
        .bind(db_id(user_id))
        .execute(pool)
        .await?;
    Ok(result.rows_affected() == 1)
}

/// A server's managers, first added first (at most `limit`).
pub async fn list(
    pool: &PgPool,
    guild_id: u64,
    limit: i64,
) -> Result<Vec<ManagerRow>, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_as(
        "SELECT user_id, role, added_by, added_at FROM dashboard_users
          WHERE guild_id = $1 ORDER BY added_at, user_id LIMIT $2",
    )
    .bind(db_id(guild_id))
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Whether `user_id` may change server `guild_id`'s settings as a manager
/// (any role but `viewer`). One primary-key lookup.
pub async fn is_manager(pool: &PgPool, guild_id: u64, user_id: u64) -> Result<bool, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM dashboard_users
                         WHERE guild_id = $1 AND user_id = $2 AND role <> 'viewer')",
    )
    .bind(db_id(guild_id))
    .bind(db_id(user_id))
    .fetch_one(pool)
    .await
}
