//! Module ("cog") adoption: how many active servers have each module enabled.
//! Read from `module_adoption`, which triggers keep current (migration 0003).

use sqlx::PgPool;

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
