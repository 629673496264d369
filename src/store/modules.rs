//! Modules ("cogs"): each server's settings of a module (`cog_settings`), and
//! adoption, how many active servers have each module enabled (read from
//! `module_adoption`, which triggers keep current, migration 0003).

use serde_json::Value;
use sqlx::{PgConnection, PgPool};

use super::db_id;

/// A module's stored settings in one server; `None` without a row.
pub async fn settings(
    pool: &PgPool,
    guild_id: u64,
    module: &str,
) -> Result<Option<Value>, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_scalar("SELECT settings FROM cog_settings WHERE guild_id = $1 AND module = $2")
        .bind(db_id(guild_id))
        .bind(module)
        .fetch_optional(pool)
        .await
}

/// In a transaction: makes sure the module has a row in the server (off, no
/// settings, if it had none) and locks it until the transaction ends. Returns
/// its settings, or `None` if the server is unknown.
pub async fn lock_settings(
    connection: &mut PgConnection,
    guild_id: u64,
    module: &str,
) -> Result<Option<Value>, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query(
        "INSERT INTO cog_settings (guild_id, module)
         SELECT id, $2 FROM guilds WHERE id = $1
         ON CONFLICT (guild_id, module) DO NOTHING",
    )
    .bind(db_id(guild_id))
    .bind(module)
    .execute(&mut *connection)
    .await?;
    // language=PostgreSQL
    sqlx::query_scalar(
        "SELECT settings FROM cog_settings WHERE guild_id = $1 AND module = $2 FOR UPDATE",
    )
    .bind(db_id(guild_id))
    .bind(module)
    .fetch_optional(&mut *connection)
    .await
}

/// Replaces the settings of a row [`lock_settings`] locked; `enabled`, if
/// given, turns the module on or off in the same statement.
pub async fn write_settings(
    connection: &mut PgConnection,
    guild_id: u64,
    module: &str,
    enabled: Option<bool>,
    settings: &Value,
) -> Result<(), sqlx::Error> {
    // language=PostgreSQL
    sqlx::query(
        "UPDATE cog_settings SET settings = $3, enabled = coalesce($4, enabled), updated_at = now()
          WHERE guild_id = $1 AND module = $2",
    )
    .bind(db_id(guild_id))
    .bind(module)
    .bind(settings)
    .bind(enabled)
    .execute(connection)
    .await?;
    Ok(())
}

/// One module and the active servers that have it enabled.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Adoption {
    pub module: String,
    pub enabled_guilds: i64,
}

/// Every module that ever had a settings row, most adopted first.
#[tracing::instrument(skip_all)]
pub async fn adoption(pool: &PgPool) -> Result<Vec<Adoption>, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_as(
        "SELECT module, enabled_guilds FROM module_adoption ORDER BY enabled_guilds DESC, module",
    )
    .fetch_all(pool)
    .await
}

/// Recounts adoption from the module and guild tables (a full scan: run it
/// from the maintenance task, not from a view). Returns how many modules' counts
/// had drifted and were corrected.
#[tracing::instrument(skip_all)]
pub async fn recount(pool: &PgPool) -> Result<u64, sqlx::Error> {
    // language=PostgreSQL
    let corrected = sqlx::query(
        r#"
        WITH actual AS (
            SELECT c.module, count(*) FILTER (WHERE c.enabled AND g.left_at IS NULL) AS enabled_guilds
              FROM cog_settings c JOIN guilds g ON g.id = c.guild_id
             GROUP BY c.module
        )
        INSERT INTO module_adoption AS a (module, enabled_guilds)
        SELECT module, enabled_guilds FROM actual ORDER BY module
        ON CONFLICT (module) DO UPDATE SET enabled_guilds = EXCLUDED.enabled_guilds
         WHERE a.enabled_guilds IS DISTINCT FROM EXCLUDED.enabled_guilds
        "#,
    )
    .execute(pool)
    .await?
    .rows_affected();
    // Modules no server has a row for any more count zero.
    // language=PostgreSQL
    let emptied = sqlx::query(
        "UPDATE module_adoption a SET enabled_guilds = 0
          WHERE enabled_guilds <> 0
            AND NOT EXISTS (SELECT 1 FROM cog_settings c WHERE c.module = a.module)",
    )
    .execute(pool)
    .await?
    .rows_affected();
    Ok(corrected + emptied)
}
