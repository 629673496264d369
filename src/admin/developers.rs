//! `/admin developers list|add|remove`: who may use the panel. The primary
//! developer (`DEVELOPER_USER_ID`) is always one and can never be removed, so
//! someone can always get in. Every change is an operational log entry.

use std::time::Duration;

use futures_util::StreamExt;
use poise::CreateReply;
use serenity::all::{
    ButtonStyle, ComponentInteractionCollector, CreateActionRow, CreateButton,
    CreateInteractionResponse, CreateInteractionResponseMessage, User,
};

use super::Context;
use crate::access::{REFUSAL, is_developer};
use crate::error::{Error, UserError};
use crate::panel::{AdminPanel, HasAdminPanel};
use crate::store::developers;
use crate::store::logs::Severity;
use crate::telemetry::oplog;
use crate::ui::developers::render_list;

/// How long the remove confirmation waits for a press.
pub const CONFIRM_TIMEOUT: Duration = Duration::from_secs(60);

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
    let message = format!(
        "{} ({}) added developer {} ({})",
        ctx.author().name,
        ctx.author().id,
        user.name,
        user.id
    );
    log_change(panel, "developer_added", &message).await?;
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

    let prefix = format!("devrm{}", ctx.id());
    let (confirm, cancel) = (format!("{prefix}:confirm"), format!("{prefix}:cancel"));
    let wanted = format!("{prefix}:");
    let mut presses = ComponentInteractionCollector::new(ctx.serenity_context())
        .filter(move |press| press.data.custom_id.starts_with(&wanted))
        .timeout(CONFIRM_TIMEOUT)
        .stream();
    let buttons = |disabled: bool| {
        vec![CreateActionRow::Buttons(vec![
            CreateButton::new(&confirm)
                .label("Remove")
                .style(ButtonStyle::Danger)
                .disabled(disabled),
            CreateButton::new(&cancel)
                .label("Cancel")
                .style(ButtonStyle::Secondary)
                .disabled(disabled),
        ])]
    };
    let question = format!(
        "Remove <@{}> from the developers? They lose access at once.",
        user.id
    );
    let handle = ctx
        .send(
            CreateReply::default()
                .content(&question)
                .components(buttons(false))
                .ephemeral(true),
        )
        .await?;

    while let Some(press) = presses.next().await {
        let reply = |text: &str| {
            CreateInteractionResponseMessage::new()
                .content(text)
                .ephemeral(true)
        };
        if press.user.id != ctx.author().id {
            let answer = CreateInteractionResponse::Message(reply(super::pager::NOT_YOURS));
            press.create_response(ctx, answer).await?;
            continue;
        }
        if !is_developer(panel, press.user.id).await? {
            press
                .create_response(ctx, CreateInteractionResponse::Message(reply(REFUSAL)))
                .await?;
            continue;
        }
        let outcome = if press.data.custom_id.ends_with(":confirm") {
            if developers::remove(&panel.pool, user.id.get()).await? {
                let message = format!(
                    "{} ({}) removed developer {} ({})",
                    ctx.author().name,
                    ctx.author().id,
                    user.name,
                    user.id
                );
                log_change(panel, "developer_removed", &message).await?;
                format!("<@{}> is no longer a developer.", user.id)
            } else {
                format!("<@{}> was already removed.", user.id)
            }
        } else {
            "Cancelled: nothing changed.".to_owned()
        };
        let update = CreateInteractionResponseMessage::new()
            .content(outcome)
            .components(buttons(true));
        press
            .create_response(ctx, CreateInteractionResponse::UpdateMessage(update))
            .await?;
        return Ok(());
    }
    let expired = CreateReply::default()
        .content(format!(
            "{question}\nNo answer within {} s: nothing changed.",
            CONFIRM_TIMEOUT.as_secs()
        ))
        .components(buttons(true));
    handle.edit(ctx, expired).await?;
    Ok(())
}

async fn log_change(
    panel: &AdminPanel,
    event_type: &str,
    message: &str,
) -> Result<(), sqlx::Error> {
    oplog::record(&panel.pool, Severity::Info, event_type, None, message).await
}
