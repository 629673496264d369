//! `/admin servers` (a page of the server list) and `/admin server` (one
//! server's whole configuration).

use chrono::{DateTime, Utc};
use serenity::all::{CreateEmbed, CreateEmbedFooter};

use super::INFO_COLOR;
use super::limits::{EMBED_DESCRIPTION_CHARS, EMBED_FIELD_VALUE_CHARS};
use super::managers::manager_line;
use super::pager::SelectItem;
use super::text::{discord_time, fit_lines, thousands, truncate};
use crate::store::servers::{ModuleRow, ServerDetail, ServerRow};

/// Servers per page.
pub const PAGE_SIZE: i64 = 10;

/// Discord's CDN address of a server icon (animated icons start with `a_`).
pub fn icon_url(guild_id: u64, hash: &str) -> String {
    let extension = if hash.starts_with("a_") { "gif" } else { "png" };
    format!("https://cdn.discordapp.com/icons/{guild_id}/{hash}.{extension}?size=128")
}

fn color_hex(color: i32) -> String {
    format!("#{:06X}", color & 0xFF_FFFF)
}

/// What the list header says about the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListHeader<'a> {
    pub total: i64,
    pub sort: &'a str,
    pub search: Option<&'a str>,
    pub page: usize,
    pub pages: usize,
}

pub fn render_list(rows: &[ServerRow], header: &ListHeader<'_>) -> (CreateEmbed, Vec<SelectItem>) {
    let lines: Vec<String> = rows
        .iter()
        .map(|row| {
            let name = truncate(&row.name, 60).replace(['[', ']'], "");
            let title = match &row.icon_hash {
                Some(hash) => format!("**[{name}]({})**", icon_url(row.id, hash)),
                None => format!("**{name}**"),
            };
            let modules = if row.enabled_modules.is_empty() {
                "none".to_owned()
            } else {
                truncate(&row.enabled_modules.join(", "), 80)
            };
            format!(
                "{title} `{}`\n{} members · {} · {} · modules: {modules} · installed {}",
                row.id,
                thousands(i64::from(row.member_count)),
                row.language,
                color_hex(row.embed_color),
                discord_time(row.joined_at, 'd'),
            )
        })
        .collect();
    let description = if lines.is_empty() {
        "No servers match.".to_owned()
    } else {
        fit_lines(&lines, EMBED_DESCRIPTION_CHARS)
    };
    let mut title = format!("Servers: {} active", thousands(header.total));
    if let Some(search) = header.search {
        title = truncate(&format!("{title} matching “{search}”"), 256);
    }
    let mut embed = CreateEmbed::new()
        .title(title)
        .color(INFO_COLOR)
        .description(description)
        .footer(CreateEmbedFooter::new(format!(
            "Sorted by {} · page {} of {}",
            header.sort,
            header.page + 1,
            header.pages.max(1)
        )));
    if let Some(hash) = rows.first().and_then(|row| row.icon_hash.as_deref()) {
        embed = embed.thumbnail(icon_url(rows[0].id, hash));
    }
    let items = rows
        .iter()
        .map(|row| SelectItem {
            label: row.name.clone(),
            value: row.id.to_string(),
            description: Some(format!(
                "{} members",
                thousands(i64::from(row.member_count))
            )),
        })
        .collect();
    (embed, items)
}

fn field_text(lines: &[String], empty: &str) -> String {
    if lines.is_empty() {
        empty.to_owned()
    } else {
        fit_lines(lines, EMBED_FIELD_VALUE_CHARS)
    }
}

/// One line per module with stored settings: its compact JSON, cut (with a
/// `…`) so that every module gets a share of one field's 1024 characters.
fn module_settings(modules: &[ModuleRow]) -> Vec<String> {
    let stored: Vec<&ModuleRow> = modules
        .iter()
        .filter(|module| {
            module
                .settings
                .as_object()
                .is_none_or(|map| !map.is_empty())
        })
        .collect();
    let share = (EMBED_FIELD_VALUE_CHARS / stored.len().max(1)).clamp(120, 1000);
    stored
        .into_iter()
        .map(|module| {
            let room = share.saturating_sub(module.module.len() + 10).max(40);
            let json = truncate(&module.settings.to_string(), room).replace('`', "'");
            format!("**{}** `{json}`", module.module)
        })
        .collect()
}

/// One server's view; `reach` says what decides whether the bot works there
/// (one line each: broadcast channel, shard, blocklist).
pub fn render_detail(detail: &ServerDetail, reach: &[String], now: DateTime<Utc>) -> CreateEmbed {
    let guild = &detail.guild;
    let status = match guild.left_at {
        Some(left) => format!(
            "Left {} ({})",
            discord_time(left, 'f'),
            discord_time(left, 'R')
        ),
        None => "Active".to_owned(),
    };
    let channel = guild
        .broadcast_channel_id
        .map_or_else(|| "not set".to_owned(), |id| format!("<#{id}>"));
    let categories = if guild.broadcast_categories.is_empty() {
        "none".to_owned()
    } else {
        guild.broadcast_categories.join(", ")
    };
    let modules: Vec<String> = detail
        .modules
        .iter()
        .map(|module| {
            let mark = if module.enabled { "on" } else { "off" };
            format!("**{}**: {mark}", module.module)
        })
        .collect();
    let users: Vec<String> = detail.dashboard_users.iter().map(manager_line).collect();
    let logs: Vec<String> = detail
        .recent_logs
        .iter()
        .map(|log| {
            format!(
                "{} {} `{}` {}",
                discord_time(log.created_at, 'R'),
                log.severity,
                log.event_type,
                truncate(&log.message, 80)
            )
        })
        .collect();
    let mut embed = CreateEmbed::new()
        .title(truncate(&guild.name, 256))
        // The embed's own color is the server's embed color: a swatch.
        .color((guild.embed_color & 0xFF_FFFF) as u32)
        .field("Server id", format!("`{}`", guild.id), true)
        .field("Members", thousands(i64::from(guild.member_count)), true)
        .field("Status", status, true)
        .field("Language", guild.language.clone(), true)
        .field("Embed color", color_hex(guild.embed_color), true)
        .field(
            "Installed",
            format!(
                "{} ({})",
                discord_time(guild.joined_at, 'd'),
                discord_time(guild.joined_at, 'R')
            ),
            true,
        )
        .field("Broadcast channel", channel, true)
        .field("Accepted broadcasts", categories, true)
        .field("Commands (30 days)", thousands(detail.commands_30d), true)
        .field(
            "Can the bot work here?",
            field_text(reach, "not known"),
            false,
        )
        .field("Modules", field_text(&modules, "none configured"), false)
        .field(
            "Module settings",
            field_text(&module_settings(&detail.modules), "none stored"),
            false,
        )
        .field("Managers", field_text(&users, "none"), false)
        .field("Recent log entries", field_text(&logs, "none"), false)
        .timestamp(now);
    if let Some(hash) = &guild.icon_hash {
        embed = embed.thumbnail(icon_url(guild.id, hash));
    }
    embed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::servers::{DashboardUserRow, GuildRow, LogRow};
    use crate::ui::limits::embed_violations;

    fn row(i: i64) -> ServerRow {
        ServerRow {
            id: i as u64,
            name: "n".repeat(100),
            icon_hash: Some("0123456789abcdef0123456789abcdef".into()),
            member_count: 1000,
            language: "en".into(),
            embed_color: 0x5865F2,
            enabled_modules: (0..30).map(|m| format!("module{m}")).collect(),
            joined_at: Utc::now(),
        }
    }

    #[test]
    fn a_full_page_of_long_names_fits_discords_limits() {
        let rows: Vec<ServerRow> = (1..=10).map(row).collect();
        let header = ListHeader {
            total: 100_000,
            sort: "members",
            search: Some(&"s".repeat(300)),
            page: 0,
            pages: 10_000,
        };
        let (embed, items) = render_list(&rows, &header);
        let json = serde_json::to_value(embed).unwrap();
        assert_eq!(embed_violations(&json), Vec::<String>::new());
        assert_eq!(items.len(), 10);
        assert!(
            json["thumbnail"]["url"]
                .as_str()
                .unwrap()
                .starts_with("https://cdn.discordapp.com/icons/1/")
        );
    }

    fn detail_with(now: DateTime<Utc>) -> ServerDetail {
        ServerDetail {
            guild: GuildRow {
                id: 5,
                name: "x".repeat(100),
                icon_hash: None,
                member_count: 3,
                joined_at: now,
                left_at: Some(now),
                language: "de".into(),
                embed_color: 0xFF0000,
                broadcast_channel_id: Some(77),
                broadcast_categories: vec!["changelog".into()],
                owner_id: Some(u64::MAX / 2),
            },
            modules: (0..50)
                .map(|i| ModuleRow {
                    module: format!("m{i}"),
                    enabled: i % 2 == 0,
                    settings: serde_json::json!({ "k": "v`".repeat(2000) }),
                })
                .collect(),
            dashboard_users: (0..50)
                .map(|i| DashboardUserRow {
                    user_id: u64::MAX / 2 - i,
                    role: "editor".into(),
                    added_by: Some(u64::MAX / 2),
                    added_at: now,
                })
                .collect(),
            recent_logs: (0..10)
                .map(|_| LogRow {
                    created_at: now,
                    severity: "error".into(),
                    event_type: "config_update".into(),
                    message: "m".repeat(4000),
                })
                .collect(),
            commands_30d: 1234,
        }
    }

    /// The reach lines at their longest.
    fn longest_reach() -> Vec<String> {
        vec![
            format!(
                "Broadcasts: ❌ missing permission: {} in #{}",
                "Send Messages, ".repeat(5),
                "c".repeat(100)
            ),
            format!(
                "Shard 2499 of 2500, held by `{}` pid 4194304: ❌ not connected at its process's heartbeat <t:1700000000:R>",
                "h".repeat(40)
            ),
            format!(
                "Blocklist: ⛔ this server is blocked (the bot leaves it); ⛔ its owner <@{}> is blocked",
                u64::MAX
            ),
        ]
    }

    #[test]
    fn a_server_with_everything_configured_fits_discords_limits() {
        let now = Utc::now();
        let detail = detail_with(now);
        let json = serde_json::to_value(render_detail(&detail, &longest_reach(), now)).unwrap();
        assert_eq!(embed_violations(&json), Vec::<String>::new());
        assert_eq!(json["color"], 0xFF0000);
        assert!(json.to_string().contains("<#77>"));
        let field = |name: &str| {
            json["fields"]
                .as_array()
                .unwrap()
                .iter()
                .find(|field| field["name"] == name)
                .unwrap()["value"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        let settings = field("Module settings");
        assert!(settings.starts_with("**m0** `{\"k\":\"v'v'"), "{settings}");
        assert!(settings.contains("…`"), "cut with a marker: {settings}");
        assert!(settings.ends_with("more"), "{settings}");
        assert!(field("Managers").contains("(editor), added by <@"));
    }

    #[test]
    fn one_modules_settings_get_most_of_the_field() {
        let now = Utc::now();
        let mut detail = detail_with(now);
        detail.modules = vec![ModuleRow {
            module: "welcome".into(),
            enabled: true,
            settings: serde_json::json!({ "message": "w".repeat(4000) }),
        }];
        let json = serde_json::to_value(render_detail(&detail, &longest_reach(), now)).unwrap();
        assert_eq!(embed_violations(&json), Vec::<String>::new());
        let text = json.to_string();
        assert!(text.contains("**welcome**: on"), "{text}");
        assert!(
            text.contains(&format!(
                "**welcome** `{{\\\"message\\\":\\\"{}",
                "w".repeat(900)
            )),
            "{text}"
        );
    }
}
