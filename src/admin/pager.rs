//! The secure pager every admin list uses. Only the invoking user can press its
//! buttons (anyone else is told so, and the message does not change); access is
//! re-checked on every press; after the timeout (below Discord's 15-minute
//! token lifetime) the controls are disabled by editing the message. Pages are
//! fetched one at a time by the [`PageSource`], never all at once.

use std::future::Future;
use std::pin::Pin;

use futures_util::StreamExt;
use poise::CreateReply;
use serenity::all::{
    CommandInteraction, ComponentInteraction, ComponentInteractionCollector,
    ComponentInteractionDataKind, CreateEmbed, CreateInteractionResponse,
    CreateInteractionResponseMessage, EditInteractionResponse,
};

use super::Context;
use crate::access::{Needs, guard_press};
use crate::error::{Error, UserError, cause_chain};
use crate::panel::{AdminPanel, HasAdminPanel};
use crate::reply;
use crate::ui::pager::{
    ActionButton, Control, SelectItem, action_row, controls, parse_action, prefix,
};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One rendered page.
#[derive(Debug, Clone)]
pub struct Page {
    pub embed: CreateEmbed,
    pub items: Vec<SelectItem>,
    /// 0-based.
    pub index: usize,
    pub count: usize,
}

/// A list the pager walks through.
pub trait PageSource: Send + 'static {
    /// Moves to the page `control` asks for (`First` to start) and renders it.
    fn turn(&mut self, control: Control) -> BoxFuture<'_, Result<Page, Error>>;
    /// Renders the item the select menu chose, shown as a new ephemeral message.
    fn open(&self, value: String) -> BoxFuture<'_, Result<CreateEmbed, Error>>;
    /// Buttons acting on the whole list, shown under the pager.
    fn actions(&self) -> Vec<ActionButton> {
        Vec::new()
    }
    /// Answers a press of action `key` with a new ephemeral message.
    fn act(&self, key: String) -> BoxFuture<'_, Result<CreateInteractionResponseMessage, Error>> {
        Box::pin(async move { Err(UserError::new(format!("Unknown action `{key}`.")).into()) })
    }
}

/// Sends the first page, then serves presses in the background until the
/// timeout, so the command itself returns (and is recorded) at once.
pub async fn run<U: HasAdminPanel>(
    ctx: Context<'_, U>,
    mut source: impl PageSource,
) -> Result<(), Error> {
    let poise::Context::Application(app) = ctx else {
        return Err(UserError::new("Use the slash command.").into());
    };
    let panel = ctx.data().admin_panel().clone();
    let prefix = prefix(ctx.id());
    let wanted = format!("{prefix}:");
    // Registered before the reply goes out, so no early press is missed.
    let presses = ComponentInteractionCollector::new(ctx.serenity_context())
        .filter(move |press| press.data.custom_id.starts_with(&wanted))
        .stream();
    let page = source.turn(Control::First).await?;
    let actions = source.actions();
    let mut rows = controls(&prefix, page.index, page.count, &page.items, false);
    rows.extend(action_row(&prefix, &actions, false));
    ctx.send(
        CreateReply::default()
            .embed(page.embed.clone())
            .components(rows)
            .ephemeral(true),
    )
    .await?;

    let serenity = ctx.serenity_context().clone();
    let interaction = app.interaction.clone();
    tokio::spawn(async move {
        let session = Session {
            panel,
            serenity,
            interaction,
            prefix,
            page,
            actions,
        };
        session.serve(presses, source).await;
    });
    Ok(())
}

struct Session {
    panel: AdminPanel,
    serenity: serenity::all::Context,
    interaction: CommandInteraction,
    prefix: String,
    page: Page,
    actions: Vec<ActionButton>,
}

impl Session {
    async fn serve(
        mut self,
        presses: impl futures_util::Stream<Item = ComponentInteraction> + Unpin,
        mut source: impl PageSource,
    ) {
        let deadline = tokio::time::Instant::now() + self.panel.options.pager_timeout;
        let mut presses = presses;
        while let Ok(Some(press)) = tokio::time::timeout_at(deadline, presses.next()).await {
            if let Err(error) = self.handle(&press, &mut source).await {
                let http = &self.serenity.http;
                reply::answer_failure(
                    &self.panel,
                    error.as_ref(),
                    "a list button",
                    press.guild_id.map(|id| id.get()),
                    |text| reply::ephemeral(http, press.id, &press.token, text),
                )
                .await;
            }
        }
        let disabled = EditInteractionResponse::new()
            .embed(self.page.embed.clone())
            .components(self.controls(true));
        if let Err(error) = self
            .interaction
            .edit_response(&self.serenity.http, disabled)
            .await
        {
            tracing::debug!(error = %cause_chain(&error), "could not disable an expired pager");
        }
    }

    async fn handle(
        &mut self,
        press: &ComponentInteraction,
        source: &mut impl PageSource,
    ) -> Result<(), Error> {
        let owner = self.interaction.user.id;
        if guard_press(
            &self.panel,
            &self.serenity.http,
            Needs::Developer,
            owner,
            press.into(),
        )
        .await?
        {
            return Ok(());
        }
        if let Some(key) = parse_action(&self.prefix, &press.data.custom_id) {
            let message = source.act(key.to_owned()).await?.ephemeral(true);
            press
                .create_response(
                    &self.serenity.http,
                    CreateInteractionResponse::Message(message),
                )
                .await?;
            return Ok(());
        }
        match Control::parse(&self.prefix, &press.data.custom_id) {
            Some(Control::Open) => {
                let ComponentInteractionDataKind::StringSelect { values } = &press.data.kind else {
                    return Err(UserError::new("That control is not a menu.").into());
                };
                let Some(value) = values.first() else {
                    return Err(UserError::new("Nothing was selected.").into());
                };
                let embed = source.open(value.clone()).await?;
                let message = CreateInteractionResponseMessage::new()
                    .embed(embed)
                    .ephemeral(true);
                press
                    .create_response(
                        &self.serenity.http,
                        CreateInteractionResponse::Message(message),
                    )
                    .await?;
            }
            Some(control) => {
                self.page = source.turn(control).await?;
                let update = CreateInteractionResponseMessage::new()
                    .embed(self.page.embed.clone())
                    .components(self.controls(false));
                press
                    .create_response(
                        &self.serenity.http,
                        CreateInteractionResponse::UpdateMessage(update),
                    )
                    .await?;
            }
            None => {
                press
                    .create_response(&self.serenity.http, CreateInteractionResponse::Acknowledge)
                    .await?
            }
        }
        Ok(())
    }

    /// The controls for the page on show.
    fn controls(&self, disabled: bool) -> Vec<serenity::all::CreateActionRow> {
        let page = &self.page;
        let mut rows = controls(&self.prefix, page.index, page.count, &page.items, disabled);
        rows.extend(action_row(&self.prefix, &self.actions, disabled));
        rows
    }
}
