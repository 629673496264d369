//! Server list and server detail queries. The list is paged with keyset queries
//! over the partial indexes in the schema, so any page of 100,000 servers reads
//! only its own ten rows.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::{db_id, like_pattern};

/// Server-list sort orders (the `sort` option of `/admin servers`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, poise::ChoiceParameter, serde::Serialize, serde::Deserialize,
)]
pub enum ServerSort {
    #[name = "members"]
    Members,
    #[name = "newest"]
    Newest,
    #[name = "name"]
    Name,
}

impl ServerSort {
    /// Key expression (over `guilds g`) and whether the list is descending.
    /// Every order ends in `id` in the same direction so row comparisons work.
    fn key(self) -> (&'static str, bool) {
        match self {
            Self::Members => ("g.member_count", true),
            Self::Newest => ("g.joined_at", true),
            Self::Name => ("lower(g.name)", false),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Members => "members",
            Self::Newest => "newest",
            Self::Name => "name",
        }
    }
}

/// Which page to read relative to the current one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageAt {
    First,
    /// The page after the row of this server (in list order).
    After(u64),
    /// The page before the row of this server.
    Before(u64),
    /// The last page, holding `size` rows.
    Last {
        size: i64,
    },
}

/// One row of the server list.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ServerRow {
    #[sqlx(try_from = "super::DbId")]
    pub id: u64,
    pub name: String,
    pub icon_hash: Option<String>,
    pub member_count: i32,
    pub language: String,
    pub embed_color: i32,
    pub enabled_modules: Vec<String>,
    pub joined_at: DateTime<Utc>,
}

/// Active servers matching the optional name search. Without a search this is
/// the trigger-kept counter, so the unfiltered list never counts every row.
pub async fn count_active(pool: &PgPool, search: Option<&str>) -> Result<i64, sqlx::Error> {
    let Some(search) = search else {
        return super::guilds::count_active(pool).await;
    };
    // language=PostgreSQL
    sqlx::query_scalar("SELECT count(*) FROM guilds WHERE left_at IS NULL AND name ILIKE $1")
        .bind(like_pattern(search))
        .fetch_one(pool)
        .await
}

/// One page of active servers in list order.
#[tracing::instrument(skip_all, fields(?sort))]
pub async fn page(
    pool: &PgPool,
    sort: ServerSort,
    search: Option<&str>,
    at: &PageAt,
    page_size: i64,
) -> Result<Vec<ServerRow>, sqlx::Error> {
    let (key, descending) = sort.key();
    // Reading backwards (previous or last page) flips the order; rows are
    // put back in list order below.
    let backwards = matches!(at, PageAt::Before(_) | PageAt::Last { .. });
    let ascending = descending == backwards;
    let direction = if ascending { "ASC" } else { "DESC" };
    let comparison = match at {
        PageAt::First | PageAt::Last { .. } => "",
        // The anchor's own key, read now: a page continues from where that
        // server stands in the list, whatever changed since.
        _ if ascending => {
            "AND (g.key_expr, g.id) > (SELECT a.key_expr, a.id FROM guilds a WHERE a.id = $3)"
        }
        _ => "AND (g.key_expr, g.id) < (SELECT a.key_expr, a.id FROM guilds a WHERE a.id = $3)",
    };
    let limit = match at {
        PageAt::Last { size } => *size,
        _ => page_size,
    };
    let anchor = match at {
        PageAt::After(anchor) | PageAt::Before(anchor) => Some(*anchor),
        _ => None,
    };
    // The sort expression and type come from `ServerSort`, never from input.
    // language=PostgreSQL
    let sql = r#"
        SELECT g.id, g.name, g.icon_hash, g.member_count,
               coalesce(s.language, 'en') AS language, coalesce(s.embed_color, 5793266) AS embed_color,
               ARRAY(SELECT c.module FROM cog_settings c
                      WHERE c.guild_id = g.id AND c.enabled ORDER BY c.module) AS enabled_modules,
               g.joined_at
          FROM guilds g
          LEFT JOIN guild_settings s ON s.guild_id = g.id
         WHERE g.left_at IS NULL AND ($1::text IS NULL OR g.name ILIKE $1) COMPARISON
         ORDER BY g.key_expr DIRECTION, g.id DIRECTION
         LIMIT $2
    "#
    .replace("COMPARISON", comparison)
    .replace("DIRECTION", direction)
    .replace("a.key_expr", &key.replace("g.", "a."))
    .replace("g.key_expr", key);
    let mut query = sqlx::query_as::<_, ServerRow>(sqlx::AssertSqlSafe(sql))
        .bind(search.map(like_pattern))
        .bind(limit);
    if let Some(anchor) = anchor {
        query = query.bind(db_id(anchor));
    }
    let mut rows = query.fetch_all(pool).await?;
    if backwards {
        rows.reverse();
    }
    Ok(rows)
}

/// Servers whose name starts with `prefix` (autocomplete), at most `limit`.
pub async fn search_by_name(
    pool: &PgPool,
    prefix: &str,
    limit: i64,
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    let escaped = like_pattern(prefix);
    let prefix_pattern = escaped.strip_prefix('%').unwrap_or(&escaped).to_owned();
    // language=PostgreSQL
    sqlx::query_as(
        "SELECT id, name FROM guilds
          WHERE left_at IS NULL AND name ILIKE $1
          ORDER BY lower(name), id LIMIT $2",
    )
    .bind(prefix_pattern)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Everything stored about one server, for `/admin server`.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerDetail {
    pub guild: GuildRow,
    pub modules: Vec<ModuleRow>,
    pub dashboard_users: Vec<DashboardUserRow>,
    pub recent_logs: Vec<LogRow>,
    pub commands_30d: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct GuildRow {
    #[sqlx(try_from = "super::DbId")]
    pub id: u64,
    pub name: String,
    pub icon_hash: Option<String>,
    pub member_count: i32,
    pub joined_at: DateTime<Utc>,
    pub left_at: Option<DateTime<Utc>>,
    pub language: String,
    pub embed_color: i32,
    #[sqlx(try_from = "super::NullableDbId")]
    pub broadcast_channel_id: Option<u64>,
    pub broadcast_categories: Vec<String>,
    /// As its last GUILD_CREATE or GUILD_UPDATE said (`None`: not known).
    #[sqlx(try_from = "super::NullableDbId")]
    pub owner_id: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ModuleRow {
    pub module: String,
    pub enabled: bool,
    pub settings: serde_json::Value,
}

/// A manager (`dashboard_users` row), as `/settings managers list` reads it.
pub type DashboardUserRow = super::managers::ManagerRow;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LogRow {
    pub created_at: DateTime<Utc>,
    pub severity: String,
    pub event_type: String,
    pub message: String,
}

/// The server's whole configuration, or `None` if the bot never knew it.
#[tracing::instrument(skip_all, fields(guild_id = id))]
pub async fn detail(
    pool: &PgPool,
    id: u64,
    now: DateTime<Utc>,
) -> Result<Option<ServerDetail>, sqlx::Error> {
    let id = db_id(id);
    // language=PostgreSQL
    let guild = sqlx::query_as::<_, GuildRow>(
        "SELECT g.id, g.name, g.icon_hash, g.member_count, g.joined_at, g.left_at,
                coalesce(s.language, 'en') AS language, coalesce(s.embed_color, 5793266) AS embed_color,
                s.broadcast_channel_id,
                coalesce(s.broadcast_categories, ARRAY['changelog', 'announcement', 'maintenance']) AS broadcast_categories,
                g.owner_id
           FROM guilds g LEFT JOIN guild_settings s ON s.guild_id = g.id
          WHERE g.id = $1",
    )
    .bind(id);
    // language=PostgreSQL
    let modules = sqlx::query_as::<_, ModuleRow>(
        "SELECT module, enabled, settings FROM cog_settings WHERE guild_id = $1 ORDER BY module",
    )
    .bind(id);
    // language=PostgreSQL
    let users = sqlx::query_as::<_, DashboardUserRow>(
        "SELECT user_id, role, added_by, added_at FROM dashboard_users
          WHERE guild_id = $1 ORDER BY added_at, user_id LIMIT 50",
    )
    .bind(id);
    // language=PostgreSQL
    let logs = sqlx::query_as::<_, LogRow>(
        "SELECT created_at, severity, event_type, message FROM system_logs
          WHERE guild_id = $1 ORDER BY created_at DESC, id DESC LIMIT 10",
    )
    .bind(id);
    // language=PostgreSQL
    let commands = sqlx::query_scalar::<_, Option<i64>>(
        "SELECT sum(uses)::int8 FROM command_stats_guild_daily
          WHERE guild_id = $1 AND day > ($2::timestamptz AT TIME ZONE 'UTC')::date - 30",
    )
    .bind(id)
    .bind(now);
    let (guild, modules, dashboard_users, recent_logs, commands_30d) = tokio::try_join!(
        guild.fetch_optional(pool),
        modules.fetch_all(pool),
        users.fetch_all(pool),
        logs.fetch_all(pool),
        commands.fetch_one(pool),
    )?;
    Ok(guild.map(|guild| ServerDetail {
        guild,
        modules,
        dashboard_users,
        recent_logs,
        commands_30d: commands_30d.unwrap_or(0),
    }))
}
