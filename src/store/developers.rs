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
