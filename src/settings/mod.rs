//! `/settings`: server settings for members with Manage Server and for the
//! server's managers (`/settings managers`), so broadcasts have somewhere to go
//! and the server views have something to show. Every change is validated
//! first (invalid input changes nothing) and logged as a `config_update`
//! entry for the server, naming who made it.

pub mod categories;
mod channel;
pub mod managers;
pub mod module;
mod publish;

use poise::CreateReply;
use serenity::all::{CreateEmbed, GuildId, PartialChannel, User};

use crate::access::{NEEDS_MANAGE_SERVER, can_change_settings};
use crate::broadcast::channel::CheckedChannel;
use crate::error::{Error, UserError, cause_chain};
use crate::panel::{AdminPanel, HasAdminPanel};
use crate::store::logs::Severity;
use crate::store::permission_snapshots;
use crate::store::settings::{self as store, Change};
use crate::telemetry::oplog;
use crate::validate::{Language, parse_color};

type Context<'a, U> = poise::Context<'a, U, Error>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, poise::ChoiceParameter)]
pub enum OnOff {
    #[name = "on"]
    On,
    #[name = "off"]
    Off,
}

/// The invoker's permissions, as Discord computed them into the interaction.
fn member_permissions<U>(ctx: Context<'_, U>) -> Option<serenity::all::Permissions> {
    let poise::Context::Application(app) = ctx else {
        return None;
    };
    app.interaction
        .member
        .as_ref()
        .and_then(|member| member.permissions)
}

/// Manage Server, or a manager of this server. The command is registered
/// without a default permission: managers need to see it, and Discord would
/// hide it from members without Manage Server otherwise.
async fn manage_server_check<U: HasAdminPanel>(ctx: Context<'_, U>) -> Result<bool, Error> {
    if !matches!(ctx, poise::Context::Application(_)) {
        return Err(UserError::new("Use the slash command.").into());
    }
    let panel = ctx.data().admin_panel();
    let permissions = member_permissions(ctx);
    if can_change_settings(panel, ctx.guild_id(), ctx.author().id, permissions).await? {
        Ok(true)
    } else {
        Err(UserError::new(NEEDS_MANAGE_SERVER).into())
    }
}

/// This server's settings: broadcasts, language, color, modules, managers.
#[poise::command(
    slash_command,
    guild_only,
    check = "manage_server_check",
    subcommands(
        "broadcast_channel",
        "categories::broadcast_categories",
        "publish::broadcast_publish",
        "language",
        "color",
        "module::module",
        "managers::managers",
        "show"
    ),
    subcommand_required
)]
pub async fn settings<U: HasAdminPanel>(_ctx: Context<'_, U>) -> Result<(), Error> {
    Ok(())
}

fn guild(ctx: Context<'_, impl HasAdminPanel>) -> Result<GuildId, UserError> {
    ctx.guild_id()
        .ok_or_else(|| UserError::new("Use this in a server."))
}

/// Stores one change of server `guild_id` by `author` and logs it; an
/// unknown server is the user's error.
async fn persist(
    panel: &AdminPanel,
    guild_id: u64,
    author: &User,
    change: Change,
    what: &str,
) -> Result<(), Error> {
    if !store::apply(&panel.pool, guild_id, &change).await? {
        return Err(unknown_server().into());
    }
    let message = format!("{} ({}) changed {what}", author.name, author.id);
    oplog::write_entry(
        &panel.pool,
        Severity::Info,
        "config_update",
        Some(guild_id),
        &message,
    )
    .await?;
    Ok(())
}

/// Stores one change, logs it, and confirms.
async fn save<U: HasAdminPanel>(
    ctx: Context<'_, U>,
    change: Change,
    what: String,
) -> Result<(), Error> {
    let guild_id = guild(ctx)?;
    persist(
        ctx.data().admin_panel(),
        guild_id.get(),
        ctx.author(),
        change,
        &what,
    )
    .await?;
    ctx.send(
        CreateReply::default()
            .content(format!("Saved: {what}."))
            .ephemeral(true),
    )
    .await?;
    Ok(())
}

fn unknown_server() -> UserError {
    UserError::new(
        "I do not know this server yet (Discord announces it when I connect); try again in a minute.",
    )
}

/// Where broadcasts go (without a channel: nowhere).
#[poise::command(slash_command, rename = "broadcast-channel", ephemeral)]
pub async fn broadcast_channel<U: HasAdminPanel>(
    ctx: Context<'_, U>,
    #[description = "A text or announcement channel; leave empty to stop broadcasts here"]
    #[channel_types("Text", "News")]
    channel: Option<PartialChannel>,
) -> Result<(), Error> {
    let guild_id = guild(ctx)?;
    match channel {
        None => {
            save(
                ctx,
                Change::BroadcastChannel(None),
                "the broadcast channel to none".to_owned(),
            )
            .await?;
            let panel = ctx.data().admin_panel();
            panel.watched_channels.set(guild_id.get(), None);
            Ok(())
        }
        Some(channel) => {
            // Three REST calls follow: acknowledge first so a slow Discord (or
            // proxy) cannot push the first response past 3 seconds.
            crate::hooks::defer(ctx, true).await?;
            let bot_id = ctx.framework().bot_id();
            let checked =
                channel::check_broadcast_channel(ctx.http(), guild_id, channel.id, bot_id).await?;
            save(
                ctx,
                Change::BroadcastChannel(Some(channel.id.get())),
                format!("the broadcast channel to <#{}>", channel.id),
            )
            .await?;
            keep_snapshot(ctx.data().admin_panel(), guild_id.get(), checked).await;
            Ok(())
        }
    }
}

/// From now on the gateway handler keeps the new channel's snapshot; the
/// fresh one the check read is stored at once (this process may not hold
/// the server's shard). A failure only delays what the next events write.
async fn keep_snapshot(panel: &AdminPanel, guild: u64, checked: CheckedChannel) {
    panel.watched_channels.set(guild, Some(checked.channel.id));
    let stored =
        permission_snapshots::save(&panel.pool, guild, &checked.server, &[checked.channel]).await;
    if let Err(error) = stored {
        tracing::warn!(guild, error = %cause_chain(&error), "could not store the broadcast channel's permission snapshot");
    }
}

/// The language the bot uses in this server.
#[poise::command(slash_command, ephemeral)]
pub async fn language<U: HasAdminPanel>(
    ctx: Context<'_, U>,
    #[description = "Language code"] code: Language,
) -> Result<(), Error> {
    let code = poise::ChoiceParameter::name(&code).to_owned();
    save(
        ctx,
        Change::Language(code.clone()),
        format!("the language to {code}"),
    )
    .await
}

/// The color of the bot's embeds in this server.
#[poise::command(slash_command, ephemeral)]
pub async fn color<U: HasAdminPanel>(
    ctx: Context<'_, U>,
    #[description = "Hex color, e.g. #5865F2"]
    #[max_length = 7]
    hex: String,
) -> Result<(), Error> {
    let color = parse_color(&hex)?;
    save(
        ctx,
        Change::EmbedColor(color),
        format!("the embed color to #{color:06X}"),
    )
    .await
}

/// This server's whole configuration.
#[poise::command(slash_command, ephemeral)]
pub async fn show<U: HasAdminPanel>(ctx: Context<'_, U>) -> Result<(), Error> {
    let panel = ctx.data().admin_panel();
    let guild_id = guild(ctx)?;
    let settings = store::get(&panel.pool, guild_id.get())
        .await?
        .ok_or_else(unknown_server)?;
    let modules = store::modules(&panel.pool, guild_id.get()).await?;
    let module_lines: Vec<String> = panel
        .options
        .modules
        .iter()
        .map(|name| {
            let on = modules
                .iter()
                .any(|(module, enabled)| module == name && *enabled);
            format!("**{name}**: {}", if on { "on" } else { "off" })
        })
        .collect();
    let embed = CreateEmbed::new()
        .title("Server settings")
        .color((settings.embed_color & 0xFF_FFFF) as u32)
        .field("Language", settings.language.clone(), true)
        .field(
            "Embed color",
            format!("#{:06X}", settings.embed_color & 0xFF_FFFF),
            true,
        )
        .field(
            "Broadcast channel",
            settings.broadcast_channel_id.map_or_else(
                || "not set (no broadcasts)".to_owned(),
                |id| format!("<#{id}>"),
            ),
            true,
        )
        .field(
            "Accepted broadcasts",
            if settings.broadcast_categories.is_empty() {
                "none".to_owned()
            } else {
                settings.broadcast_categories.join(", ")
            },
            true,
        )
        .field(
            "Published to followers",
            if settings.broadcast_publish {
                "on (`/settings broadcast-publish`)"
            } else {
                "off"
            },
            true,
        )
        .field(
            "Modules",
            if module_lines.is_empty() {
                "none".to_owned()
            } else {
                module_lines.join("\n")
            },
            false,
        )
        .timestamp(chrono::Utc::now());
    ctx.send(CreateReply::default().embed(embed).ephemeral(true))
        .await?;
    Ok(())
}
