//! Per-server settings written by `/settings` (server administrators) and read
//! by the server views and the broadcast worker.

use sqlx::PgPool;

use super::db_id;

/// One server's settings, as `/settings show` and the broadcast worker read them.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct GuildSettings {
    pub language: String,
    pub embed_color: i32,
    #[sqlx(try_from = "super::NullableDbId")]
    pub broadcast_channel_id: Option<u64>,
    pub broadcast_categories: Vec<String>,
    pub broadcast_publish: bool,
}

/// The server's settings, or `None` if the bot does not know the server (yet).
pub async fn get(pool: &PgPool, guild_id: u64) -> Result<Option<GuildSettings>, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_as(
        "SELECT language, embed_color, broadcast_channel_id, broadcast_categories, broadcast_publish
           FROM guild_settings WHERE guild_id = $1",
    )
    .bind(db_id(guild_id))
    .fetch_optional(pool)
    .await
}

/// Which setting to change. Each update touches one column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Language(String),
    EmbedColor(u32),
    BroadcastChannel(Option<u64>),
    BroadcastCategories(Vec<String>),
    /// Publishes delivered broadcasts to the servers following the
    /// (announcement) broadcast channel.
    BroadcastPublish(bool),
    /// Turns a module on or off (keeping its settings).
    Module {
        name: String,
        enabled: bool,
    },
}

/// Applies one change; returns `false` if the server is unknown.
pub async fn apply(pool: &PgPool, guild_id: u64, change: &Change) -> Result<bool, sqlx::Error> {
    let guild = db_id(guild_id);
    if let Change::Module { name, enabled } = change {
        return set_module(pool, guild_id, name, *enabled).await;
    }
    // language=PostgreSQL
    let query = match change {
        Change::Language(code) => sqlx::query("UPDATE guild_settings SET language = $2, updated_at = now() WHERE guild_id = $1").bind(guild).bind(code.clone()),
        Change::EmbedColor(color) => sqlx::query("UPDATE guild_settings SET embed_color = $2, updated_at = now() WHERE guild_id = $1").bind(guild).bind(*color as i32),
        Change::BroadcastChannel(channel) => sqlx::query("UPDATE guild_settings SET broadcast_channel_id = $2, updated_at = now() WHERE guild_id = $1").bind(guild).bind(channel.map(db_id)),
        Change::Module { .. } => unreachable!("handled above"),
        Change::BroadcastCategories(categories) => sqlx::query("UPDATE guild_settings SET broadcast_categories = $2, updated_at = now() WHERE guild_id = $1").bind(guild).bind(categories.clone()),
        Change::BroadcastPublish(on) => sqlx::query("UPDATE guild_settings SET broadcast_publish = $2, updated_at = now() WHERE guild_id = $1").bind(guild).bind(*on),
    };
    Ok(query.execute(pool).await?.rows_affected() == 1)
}

/// Inserts or updates the module row; `false` if the server is unknown.
async fn set_module(
    pool: &PgPool,
    guild_id: u64,
    module: &str,
    enabled: bool,
) -> Result<bool, sqlx::Error> {
    // language=PostgreSQL
    let result = sqlx::query(
        "INSERT INTO cog_settings (guild_id, module, enabled)
         SELECT id, $2, $3 FROM guilds WHERE id = $1
         ON CONFLICT (guild_id, module) DO UPDATE SET enabled = EXCLUDED.enabled, updated_at = now()",
    )
    .bind(db_id(guild_id))
    .bind(module)
    .bind(enabled)
    .execute(pool)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Modules of a server and whether each is on.
pub async fn modules(pool: &PgPool, guild_id: u64) -> Result<Vec<(String, bool)>, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_as("SELECT module, enabled FROM cog_settings WHERE guild_id = $1 ORDER BY module")
        .bind(db_id(guild_id))
        .fetch_all(pool)
        .await
}

/// Clears a server's broadcast channel when Discord says it no longer exists;
/// only if it is still that channel (the server may have set a new one).
pub async fn clear_unknown_channel(
    pool: &PgPool,
    guild_id: u64,
    channel_id: u64,
) -> Result<bool, sqlx::Error> {
    // language=PostgreSQL
    let result = sqlx::query(
        "UPDATE guild_settings SET broadcast_channel_id = NULL, updated_at = now()
          WHERE guild_id = $1 AND broadcast_channel_id = $2",
    )
    .bind(db_id(guild_id))
    .bind(db_id(channel_id))
    .execute(pool)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Every server's broadcast channel: the channels whose permission snapshot
/// the gateway handler keeps (read at start and at each shard's READY).
pub async fn broadcast_channels(pool: &PgPool) -> Result<Vec<(u64, u64)>, sqlx::Error> {
    // language=PostgreSQL
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT guild_id, broadcast_channel_id FROM guild_settings
          WHERE broadcast_channel_id IS NOT NULL",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(guild, channel)| (guild as u64, channel as u64))
        .collect())
}
