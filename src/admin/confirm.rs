//! A yes/no question with two buttons, for the admin actions that cannot be
//! undone (removing a developer, cancelling a broadcast). Only the asker may
//! answer, and only while still a developer; anyone else gets an ephemeral
//! refusal and the question stays open. Unanswered, it closes itself.

use std::time::Duration;

use futures_util::StreamExt;
use poise::CreateReply;
use serenity::all::{
    ButtonStyle, ComponentInteraction, ComponentInteractionCollector, CreateActionRow,
    CreateButton, CreateInteractionResponse, CreateInteractionResponseMessage,
};

use super::Context;
use crate::access::{Needs, guard_press};
use crate::error::Error;
use crate::panel::HasAdminPanel;

/// How long a question waits for a press: well inside the 15-minute token.
pub const CONFIRM_TIMEOUT: Duration = Duration::from_secs(120);

/// What the question looks like.
pub struct Question<'a> {
    /// Custom-id prefix naming the action, e.g. `devrm`; the invocation id is
    /// appended so two open questions never answer each other.
    pub action: &'a str,
    pub text: String,
    /// The label of the (red) button that goes ahead.
    pub confirm: &'a str,
    /// The label of the button that changes nothing.
    pub decline: &'a str,
}

/// The asker's press.
pub struct Decision {
    press: ComponentInteraction,
    pub confirmed: bool,
    closed: Vec<CreateActionRow>,
}

impl Decision {
    /// Replaces the question with `outcome`, its buttons disabled.
    pub async fn answer<U: HasAdminPanel>(
        self,
        ctx: Context<'_, U>,
        outcome: String,
    ) -> Result<(), Error> {
        let update = CreateInteractionResponseMessage::new()
            .content(outcome)
            .components(self.closed);
        self.press
            .create_response(ctx, CreateInteractionResponse::UpdateMessage(update))
            .await?;
        Ok(())
    }
}

/// Asks `question` ephemerally and waits for the asker's answer. `None` when
/// nobody answered in time (the message then says nothing changed).
pub async fn ask<U: HasAdminPanel>(
    ctx: Context<'_, U>,
    question: Question<'_>,
) -> Result<Option<Decision>, Error> {
    let prefix = format!("{}{}", question.action, ctx.id());
    let wanted = format!("{prefix}:");
    let mut presses = ComponentInteractionCollector::new(ctx.serenity_context())
        .filter(move |press| press.data.custom_id.starts_with(&wanted))
        .timeout(CONFIRM_TIMEOUT)
        .stream();
    let buttons = |disabled: bool| {
        vec![CreateActionRow::Buttons(vec![
            CreateButton::new(format!("{prefix}:confirm"))
                .label(question.confirm)
                .style(ButtonStyle::Danger)
                .disabled(disabled),
            CreateButton::new(format!("{prefix}:decline"))
                .label(question.decline)
                .style(ButtonStyle::Secondary)
                .disabled(disabled),
        ])]
    };
    let handle = ctx
        .send(
            CreateReply::default()
                .content(&question.text)
                .components(buttons(false))
                .ephemeral(true),
        )
        .await?;

    let panel = ctx.data().admin_panel();
    while let Some(press) = presses.next().await {
        if guard_press(
            panel,
            ctx.http(),
            Needs::Developer,
            ctx.author().id,
            (&press).into(),
        )
        .await?
        {
            continue;
        }
        let confirmed = press.data.custom_id.ends_with(":confirm");
        return Ok(Some(Decision {
            press,
            confirmed,
            closed: buttons(true),
        }));
    }
    let expired = CreateReply::default()
        .content(format!(
            "{}\nNo answer within {} s: nothing changed.",
            question.text,
            CONFIRM_TIMEOUT.as_secs()
        ))
        .components(buttons(true));
    handle.edit(ctx, expired).await?;
    Ok(None)
}
