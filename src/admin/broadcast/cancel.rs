//! `/admin broadcast cancel id:<n>`: with a confirm button. A scheduled
//! broadcast never goes out; a sending one stops (pending deliveries become
//! cancelled, sent ones stay).

use std::time::Duration;

use futures_util::StreamExt;
use poise::CreateReply;
use serenity::all::{
    ButtonStyle, ComponentInteractionCollector, CreateActionRow, CreateButton,
    CreateInteractionResponse, CreateInteractionResponseMessage,
};

use super::super::Context;
use super::super::pager::NOT_YOURS;
use crate::access::{REFUSAL, is_developer};
use crate::error::{Error, UserError};
use crate::panel::HasAdminPanel;
use crate::store::broadcasts::{self, Cancelled};

const CONFIRM_TIMEOUT: Duration = Duration::from_secs(120);

/// Cancel a scheduled broadcast, or stop one being sent.
#[poise::command(slash_command, ephemeral)]
pub async fn cancel<U: HasAdminPanel>(
    ctx: Context<'_, U>,
    #[description = "Broadcast number (see /admin broadcast history)"]
    #[min = 1]
    id: i64,
) -> Result<(), Error> {
    let panel = ctx.data().admin_panel();
    let Some(broadcast) = broadcasts::get(&panel.pool, id).await? else {
        return Err(UserError::new(format!("There is no broadcast #{id}.")).into());
    };
    if !matches!(broadcast.status.as_str(), "draft" | "scheduled" | "sending") {
        return Err(UserError::new(format!(
            "Broadcast #{id} is already {}: there is nothing to cancel.",
            broadcast.status
        ))
        .into());
    }
    let prefix = format!("bccancel{}", ctx.id());
    let wanted = format!("{prefix}:");
    let mut presses = ComponentInteractionCollector::new(ctx.serenity_context())
        .filter(move |press| press.data.custom_id.starts_with(&wanted))
        .timeout(CONFIRM_TIMEOUT)
        .stream();
    let buttons = |disabled: bool| {
        vec![CreateActionRow::Buttons(vec![
            CreateButton::new(format!("{prefix}:confirm"))
                .label("Cancel the broadcast")
                .style(ButtonStyle::Danger)
                .disabled(disabled),
            CreateButton::new(format!("{prefix}:keep"))
                .label("Keep it")
                .style(ButtonStyle::Secondary)
                .disabled(disabled),
        ])]
    };
    let question = format!(
        "Cancel broadcast #{id} \"{}\" ({})?",
        crate::ui::text::truncate(&broadcast.title, 100),
        broadcast.status
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
        let refusal = if press.user.id != ctx.author().id {
            Some(NOT_YOURS)
        } else if !is_developer(panel, press.user.id).await? {
            Some(REFUSAL)
        } else {
            None
        };
        if let Some(refusal) = refusal {
            let answer = CreateInteractionResponseMessage::new()
                .content(refusal)
                .ephemeral(true);
            press
                .create_response(ctx, CreateInteractionResponse::Message(answer))
                .await?;
            continue;
        }
        let outcome = if press.data.custom_id.ends_with(":confirm") {
            match broadcasts::cancel(&panel.pool, id, ctx.author().id.get()).await? {
                Cancelled::BeforeSending => {
                    format!("Broadcast #{id} is cancelled: it will not be sent.")
                }
                Cancelled::WhileSending(stopped) => format!(
                    "Broadcast #{id} is stopped: {stopped} pending deliveries were cancelled; messages already sent stay."
                ),
                Cancelled::Nothing => {
                    format!("Broadcast #{id} had already finished: nothing changed.")
                }
            }
        } else {
            "Kept: nothing changed.".to_owned()
        };
        let update = CreateInteractionResponseMessage::new()
            .content(outcome)
            .components(buttons(true));
        press
            .create_response(ctx, CreateInteractionResponse::UpdateMessage(update))
            .await?;
        return Ok(());
    }
    handle
        .edit(
            ctx,
            CreateReply::default()
                .content(format!("{question}\nNo answer: nothing changed."))
                .components(buttons(true)),
        )
        .await?;
    Ok(())
}
