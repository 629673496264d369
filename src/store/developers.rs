//! The `developers` table: everyone besides the primary developer who may use `/admin`.

use sqlx::PgPool;

use super::db_id;

pub async fn exists(pool: &PgPool, user_id: u64) -> Result<bool, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM developers WHERE user_id = $1)")
        .bind(db_id(user_id))
        .fetch_one(pool)
        .await
}

/// Adds a developer; returns `false` if they already were one.
pub async fn add(pool: &PgPool, user_id: u64, added_by: u64) -> Result<bool, sqlx::Error> {
    // language=PostgreSQL
    let result = sqlx::query(
        "INSERT INTO developers (user_id, added_by) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING",
    )
    .bind(db_id(user_id))
    .bind(db_id(added_by))
    .execute(pool)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Removes a developer; returns `false` if they were not one.
pub async fn remove(pool: &PgPool, user_id: u64) -> Result<bool, sqlx::Error> {
    // language=PostgreSQL
    let result = sqlx::query("DELETE FROM developers WHERE user_id = $1")
        .bind(db_id(user_id))
        .execute(pool)
        .await?;
    Ok(result.rows_affected() == 1)
}

/// A developer from the table (the primary one is not stored).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DeveloperRow {
    #[sqlx(try_from = "super::DbId")]
    pub user_id: u64,
    #[sqlx(try_from = "super::DbId")]
    pub added_by: u64,
    pub added_at: chrono::DateTime<chrono::Utc>,
}

/// Every developer in the table, oldest first.
pub async fn list(pool: &PgPool) -> Result<Vec<DeveloperRow>, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_as("SELECT user_id, added_by, added_at FROM developers ORDER BY added_at, user_id")
        .fetch_all(pool)
        .await
}
