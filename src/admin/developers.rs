//! `/admin developers list|add|remove`: who may use the panel. The primary
//! developer (`DEVELOPER_USER_ID`) is always one and can never be removed, so
//! someone can always get in. Every change is an operational log entry.

use poise::CreateReply;
use serenity::all::{User, UserId};

use super::Context;
use super::confirm::{self, Question, Subject};
use crate::error::{Error, UserError};
use crate::panel::{AdminPanel, HasAdminPanel};
use crate::store::developers;
use crate::store::logs::Severity;
use crate::telemetry::oplog;
use crate::ui::developers::render_list;

pub const PRIMARY_CANNOT_BE_REMOVED: &str = "The primary developer from DEVELOPER_USER_ID cannot be removed: it keeps someone able to get in.";

/// Who may use /admin: list, add or remove developers.
#[poise::command(
    slash_command,
    subcommands("list", "add", "remove"),
    subcommand_required
)]
pub async fn developers<U: HasAdminPanel>(_ctx: Context<'_, U>) -> Result<(), Error> {
    Ok(())
}

/// Every developer: the primary one and those added here.
#[poise::command(slash_command, ephemeral)]
pub async fn list<U: HasAdminPanel>(ctx: Context<'_, U>) -> Result<(), Error> {
    let panel = ctx.data().admin_panel();
    let rows = developers::list(&panel.pool).await?;
    let embed = render_list(panel.options.primary_developer.get(), &rows);
    ctx.send(CreateReply::default().embed(embed).ephemeral(true))
        .await?;
    Ok(())
}

/// Adds a developer (a user, or a pasted user id).
#[poise::command(slash_command, ephemeral)]
pub async fn add<U: HasAdminPanel>(
    ctx: Context<'_, U>,
    #[description = "The user to add"] user: User,
) -> Result<(), Error> {
    let panel = ctx.data().admin_panel();
    if user.bot {
        return Err(UserError::new(format!(
            "{} is a bot account: only people can be developers.",
            user.name
        ))
        .into());
    }
    if user.id == panel.options.primary_developer {
        return Err(
            UserError::new(format!("<@{}> is the primary developer already.", user.id)).into(),
        );
    }
    if !developers::add(&panel.pool, user.id.get(), ctx.author().id.get()).await? {
        return Err(UserError::new(format!("<@{}> is already a developer.", user.id)).into());
    }
    // Every process hears of it by NOTIFY; this one need not wait for that.
    panel.developers.reload(&panel.pool).await?;
    log_change(panel, ctx.author(), "developer_added", "added", &user).await?;
    ctx.send(
        CreateReply::default()
            .content(format!("<@{}> is now a developer.", user.id))
            .ephemeral(true),
    )
    .await?;
    Ok(())
}

/// Removes a developer, after a confirmation.
#[poise::command(slash_command, ephemeral)]
pub async fn remove<U: HasAdminPanel>(
    ctx: Context<'_, U>,
    #[description = "The developer to remove"] user: User,
) -> Result<(), Error> {
    let panel = ctx.data().admin_panel();
    if user.id == panel.options.primary_developer {
        return Err(UserError::new(PRIMARY_CANNOT_BE_REMOVED).into());
    }
    if user.id == ctx.author().id {
        return Err(UserError::new("You cannot remove yourself: ask another developer.").into());
    }
    if !developers::exists(&panel.pool, user.id.get()).await? {
        return Err(UserError::new(format!("<@{}> is not a developer.", user.id)).into());
    }

    let question = Question {
        subject: Subject::RemoveDeveloper(user.id),
        text: format!(
            "Remove <@{}> from the developers? They lose access at once.",
            user.id
        ),
        confirm: "Remove",
        decline: "Cancel",
    };
    confirm::ask(ctx, question).await
}

/// Removes `user` once `by` confirmed it (through the router, maybe in
/// another process or after a restart): every rule is checked again.
pub async fn remove_confirmed(
    panel: &AdminPanel,
    by: &User,
    user: UserId,
) -> Result<String, Error> {
    if user == panel.options.primary_developer {
        return Err(UserError::new(PRIMARY_CANNOT_BE_REMOVED).into());
    }
    if user == by.id {
        return Err(UserError::new("You cannot remove yourself: ask another developer.").into());
    }
    if !developers::remove(&panel.pool, user.get()).await? {
        return Ok(format!("<@{user}> was already removed."));
    }
    panel.developers.reload(&panel.pool).await?;
    let message = format!("{} removed developer {user}", confirm::who(by));
    oplog::write_entry(
        &panel.pool,
        Severity::Info,
        "developer_removed",
        None,
        &message,
    )
    .await?;
    Ok(format!("<@{user}> is no longer a developer."))
}

/// The log entry for a change: who made it, what, and to whom.
async fn log_change(
    panel: &AdminPanel,
    author: &User,
    event_type: &str,
    verb: &str,
    user: &User,
) -> Result<(), sqlx::Error> {
    let message = format!(
        "{} ({}) {verb} developer {} ({})",
        author.name, author.id, user.name, user.id
    );
    oplog::write_entry(&panel.pool, Severity::Info, event_type, None, &message).await
}
