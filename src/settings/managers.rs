//! `/settings managers add|remove|list`: members who may change this server's
//! `/settings` without holding Manage Server (the `dashboard_users` table).
//!
//! Who may do what: anyone who passes `/settings` (Manage Server, or a
//! manager) may list them; only members with Manage Server add or remove
//! them, so a manager cannot make more managers or keep others out. Being a
//! manager opens this server's `/settings` only, never `/admin`.

use poise::CreateReply;
use serenity::all::User;

use super::{Context, guild, member_permissions, unknown_server};
use crate::access::can_manage_server;
use crate::error::{Error, UserError};
use crate::panel::HasAdminPanel;
use crate::store::logs::Severity;
use crate::store::managers::{self as store, Added};
use crate::telemetry::oplog;
use crate::ui::managers::render_list;

/// The most managers a server may have.
pub const MAX_MANAGERS: i64 = 25;

/// What a manager without Manage Server is told by `add` and `remove`.
pub const NEEDS_MANAGE_SERVER_FOR_MANAGERS: &str =
    "Only members with the Manage Server permission can add or remove managers.";

/// Who may change this server's settings without Manage Server.
#[poise::command(
    slash_command,
    subcommands("add", "remove", "list"),
    subcommand_required
)]
pub async fn managers<U: HasAdminPanel>(_ctx: Context<'_, U>) -> Result<(), Error> {
    Ok(())
}

fn require_manage_server<U: HasAdminPanel>(ctx: Context<'_, U>) -> Result<(), UserError> {
    if can_manage_server(member_permissions(ctx)) {
        Ok(())
    } else {
        Err(UserError::new(NEEDS_MANAGE_SERVER_FOR_MANAGERS))
    }
}

async fn reply<U: HasAdminPanel>(ctx: Context<'_, U>, text: String) -> Result<(), Error> {
    ctx.send(CreateReply::default().content(text).ephemeral(true))
        .await?;
    Ok(())
}

/// Logs a change of the managers, naming who made it.
async fn log_change<U: HasAdminPanel>(ctx: Context<'_, U>, guild_id: u64, change: String) {
    let author = ctx.author();
    let message = format!("{} ({}) {change}", author.name, author.id);
    oplog::write_entry_or_warn(
        &ctx.data().admin_panel().pool,
        Severity::Info,
        "config_update",
        Some(guild_id),
        &message,
    )
    .await;
}

/// Lets a member change this server's settings without Manage Server.
#[poise::command(slash_command, ephemeral)]
pub async fn add<U: HasAdminPanel>(
    ctx: Context<'_, U>,
    #[description = "The member who may change this server's settings"] user: User,
) -> Result<(), Error> {
    require_manage_server(ctx)?;
    let guild_id = guild(ctx)?.get();
    if user.bot {
        return Err(UserError::new(format!(
            "<@{}> is a bot: bots cannot be managers. Nothing was changed.",
            user.id
        ))
        .into());
    }
    let pool = &ctx.data().admin_panel().pool;
    match store::add(
        pool,
        guild_id,
        user.id.get(),
        ctx.author().id.get(),
        MAX_MANAGERS,
    )
    .await?
    {
        Added::Added => {}
        Added::AlreadyManager => {
            return Err(UserError::new(format!(
                "<@{}> is already a manager of this server.",
                user.id
            ))
            .into());
        }
        Added::Full => {
            return Err(UserError::new(format!(
                "This server already has {MAX_MANAGERS} managers, the most it can have. \
                 Remove one with `/settings managers remove` first. Nothing was changed."
            ))
            .into());
        }
        Added::UnknownServer => return Err(unknown_server().into()),
    }
    log_change(
        ctx,
        guild_id,
        format!("added {} ({}) as a manager", user.name, user.id),
    )
    .await;
    reply(
        ctx,
        format!(
            "Added <@{}> as a manager: they can now change this server's `/settings` \
             (but not its managers).",
            user.id
        ),
    )
    .await
}

/// Takes a manager's right to change this server's settings away.
#[poise::command(slash_command, ephemeral)]
pub async fn remove<U: HasAdminPanel>(
    ctx: Context<'_, U>,
    #[description = "The manager to remove"] user: User,
) -> Result<(), Error> {
    require_manage_server(ctx)?;
    let guild_id = guild(ctx)?.get();
    let pool = &ctx.data().admin_panel().pool;
    if !store::remove(pool, guild_id, user.id.get()).await? {
        return Err(UserError::new(format!(
            "<@{}> is not a manager of this server. Nothing was changed.",
            user.id
        ))
        .into());
    }
    log_change(
        ctx,
        guild_id,
        format!("removed {} ({}) as a manager", user.name, user.id),
    )
    .await;
    reply(
        ctx,
        format!(
            "Removed <@{}>: they can no longer change this server's settings.",
            user.id
        ),
    )
    .await
}

/// Who may change this server's settings without Manage Server.
#[poise::command(slash_command, ephemeral)]
pub async fn list<U: HasAdminPanel>(ctx: Context<'_, U>) -> Result<(), Error> {
    let guild_id = guild(ctx)?.get();
    let pool = &ctx.data().admin_panel().pool;
    let rows = store::list(pool, guild_id, MAX_MANAGERS).await?;
    ctx.send(
        CreateReply::default()
            .embed(render_list(&rows, MAX_MANAGERS))
            .ephemeral(true),
    )
    .await?;
    Ok(())
}
