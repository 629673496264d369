//! `/admin broadcast new category:<...> [schedule:<text>]`: a modal to compose,
//! a saved draft with a preview and dry run, then Send (or Schedule), Edit or
//! Discard. Nothing is delivered before Send/Schedule is pressed.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use futures_util::StreamExt;
use serenity::all::{
    ButtonStyle, ComponentInteraction, ComponentInteractionCollector, CreateActionRow,
    CreateButton, CreateInteractionResponse, CreateInteractionResponseMessage, ModalInteraction,
    ModalInteractionCollector,
};

use super::super::Context;
use super::form::{input_of, modal};
use crate::access::{Needs, Press, guard_press};
use crate::broadcast::draft::{Category, Draft, DraftInput};
use crate::broadcast::schedule;
use crate::error::{Error, UserError};
use crate::panel::{AdminPanel, HasAdminPanel};
use crate::reply;
use crate::store::broadcasts::{self, ProgressTarget};
use crate::ui::broadcast::preview;

/// How long the modal and the preview's buttons wait (Discord's interaction
/// tokens last 15 minutes).
const SESSION_TIMEOUT: Duration = Duration::from_secs(14 * 60);

/// Compose a broadcast to every server (opens a form).
#[poise::command(slash_command, rename = "new")]
pub async fn compose<U: HasAdminPanel>(
    ctx: Context<'_, U>,
    #[description = "What kind of message it is (servers choose which kinds they accept)"]
    category: Category,
    #[description = "When to send: 2026-12-01T18:00:00Z, 2026-12-01 18:00 (UTC), in 2h, 90m, 1d 2h"]
    #[max_length = 100]
    schedule: Option<String>,
) -> Result<(), Error> {
    let poise::Context::Application(app) = ctx else {
        return Err(UserError::new("Use the slash command.").into());
    };
    let scheduled_for = schedule
        .as_deref()
        .map(|text| schedule::parse(text, Utc::now()))
        .transpose()
        .map_err(|error| UserError::new(error.to_string()))?;
    let session = Session {
        panel: ctx.data().admin_panel().clone(),
        serenity: ctx.serenity_context().clone(),
        author: ctx.author().id,
        category,
        scheduled_for,
        prefix: format!("bc{}", ctx.id()),
    };
    let modal_id = format!("{}:modal", session.prefix);
    let mut submits = session.modal_collector(&modal_id);
    app.interaction
        .create_response(
            ctx.http(),
            CreateInteractionResponse::Modal(modal(&modal_id, category, &DraftInput::default())),
        )
        .await?;
    app.has_sent_initial_response
        .store(true, std::sync::atomic::Ordering::SeqCst);
    tokio::spawn(async move {
        if let Ok(Some(submit)) = tokio::time::timeout(SESSION_TIMEOUT, submits.next()).await {
            session.composed(submit).await;
        }
    });
    Ok(())
}

struct Session {
    panel: AdminPanel,
    serenity: serenity::all::Context,
    author: serenity::all::UserId,
    category: Category,
    scheduled_for: Option<DateTime<Utc>>,
    /// Custom ids of this session start with it (bound to the command).
    prefix: String,
}

enum Next {
    Continue,
    Done,
}

impl Session {
    fn modal_collector(
        &self,
        custom_id: &str,
    ) -> impl futures_util::Stream<Item = ModalInteraction> + Unpin + use<> {
        let wanted = custom_id.to_owned();
        ModalInteractionCollector::new(&self.serenity)
            .filter(move |submit| submit.data.custom_id == wanted)
            .stream()
    }

    /// Refuses (and answers) anyone but a developer who started this session.
    async fn refused(&self, press: Press<'_>) -> Result<bool, Error> {
        guard_press(
            &self.panel,
            &self.serenity.http,
            Needs::Developer,
            self.author,
            press,
        )
        .await
    }

    async fn composed(self, submit: ModalInteraction) {
        let draft_id = match self.save_first_draft(&submit).await {
            Ok(Some(id)) => id,
            Ok(None) => return,
            Err(error) => {
                self.report_error(error.as_ref(), (&submit).into()).await;
                return;
            }
        };
        let wanted = format!("{}:", self.prefix);
        let mut presses = ComponentInteractionCollector::new(&self.serenity)
            .filter(move |press| press.data.custom_id.starts_with(&wanted))
            .stream();
        let deadline = tokio::time::Instant::now() + SESSION_TIMEOUT;
        while let Ok(Some(press)) = tokio::time::timeout_at(deadline, presses.next()).await {
            match self.pressed(draft_id, &press).await {
                Ok(Next::Done) => return,
                Ok(Next::Continue) => {}
                Err(error) => {
                    self.report_error(error.as_ref(), (&press).into()).await;
                }
            }
        }
    }

    /// Validates and saves the first submission, answering with the preview.
    async fn save_first_draft(&self, submit: &ModalInteraction) -> Result<Option<i64>, Error> {
        if self.refused(submit.into()).await? {
            return Ok(None);
        }
        let draft = match Draft::validate(self.category, &input_of(submit)) {
            Ok(draft) => draft,
            Err(problem) => {
                submit
                    .create_response(&self.serenity.http, ephemeral(&problem.to_string()))
                    .await?;
                return Ok(None);
            }
        };
        let id = broadcasts::create_draft(
            &self.panel.pool,
            &draft.to_fields(),
            self.author.get(),
            self.scheduled_for,
        )
        .await?;
        let message = self.preview_message(id, &draft).await?.ephemeral(true);
        submit
            .create_response(
                &self.serenity.http,
                CreateInteractionResponse::Message(message),
            )
            .await?;
        Ok(Some(id))
    }

    async fn preview_message(
        &self,
        id: i64,
        draft: &Draft,
    ) -> Result<CreateInteractionResponseMessage, Error> {
        let dry_run = broadcasts::dry_run(&self.panel.pool, draft.category.as_str()).await?;
        Ok(CreateInteractionResponseMessage::new()
            .content(format!("Draft #{id} saved."))
            .embeds(vec![
                draft.embed(),
                preview(&dry_run, draft.category.as_str(), self.scheduled_for),
            ])
            .components(self.buttons()))
    }

    fn buttons(&self) -> Vec<CreateActionRow> {
        let send_label = if self.scheduled_for.is_some() {
            "Schedule"
        } else {
            "Send"
        };
        vec![CreateActionRow::Buttons(vec![
            CreateButton::new(format!("{}:send", self.prefix))
                .label(send_label)
                .style(ButtonStyle::Success),
            CreateButton::new(format!("{}:edit", self.prefix))
                .label("Edit")
                .style(ButtonStyle::Secondary),
            CreateButton::new(format!("{}:discard", self.prefix))
                .label("Discard")
                .style(ButtonStyle::Danger),
        ])]
    }

    async fn pressed(&self, draft_id: i64, press: &ComponentInteraction) -> Result<Next, Error> {
        let http = &self.serenity.http;
        if self.refused(press.into()).await? {
            return Ok(Next::Continue);
        }
        let action = press.data.custom_id.rsplit(':').next().unwrap_or_default();
        match action {
            "send" => {
                let now = Utc::now();
                let at = self.scheduled_for.unwrap_or(now);
                let progress = ProgressTarget {
                    application_id: press.application_id.get(),
                    token: press.token.clone(),
                    expires_at: now + TimeDelta::minutes(15),
                };
                let text = if !broadcasts::queue(&self.panel.pool, draft_id, at, &progress).await? {
                    format!("Draft #{draft_id} is no longer a draft: nothing changed.")
                } else if self.scheduled_for.is_some() {
                    format!(
                        "Broadcast #{draft_id} is scheduled for <t:{0}:F> (<t:{0}:R>). Cancel it with `/admin broadcast cancel id:{draft_id}`.",
                        at.timestamp()
                    )
                } else {
                    format!("Broadcast #{draft_id} is being sent. This message shows its progress.")
                };
                let update = CreateInteractionResponseMessage::new()
                    .content(text)
                    .components(vec![]);
                press
                    .create_response(http, CreateInteractionResponse::UpdateMessage(update))
                    .await?;
                Ok(Next::Done)
            }
            "discard" => {
                let text = if broadcasts::discard_draft(&self.panel.pool, draft_id).await? {
                    format!("Draft #{draft_id} discarded: nothing was sent.")
                } else {
                    format!("Draft #{draft_id} is no longer a draft: nothing changed.")
                };
                let update = CreateInteractionResponseMessage::new()
                    .content(text)
                    .embeds(vec![])
                    .components(vec![]);
                press
                    .create_response(http, CreateInteractionResponse::UpdateMessage(update))
                    .await?;
                Ok(Next::Done)
            }
            "edit" => {
                self.edit(draft_id, press).await?;
                Ok(Next::Continue)
            }
            _ => {
                press
                    .create_response(http, CreateInteractionResponse::Acknowledge)
                    .await?;
                Ok(Next::Continue)
            }
        }
    }

    /// Reopens the form with the draft's values; a valid submission replaces
    /// the draft and the preview, an invalid one changes nothing.
    async fn edit(&self, draft_id: i64, press: &ComponentInteraction) -> Result<(), Error> {
        let http = &self.serenity.http;
        let Some(row) = broadcasts::get(&self.panel.pool, draft_id).await? else {
            press
                .create_response(http, ephemeral("That draft no longer exists."))
                .await?;
            return Ok(());
        };
        let current = Draft::try_from(&row.message)?;
        let modal_id = format!("{}:edit{}", self.prefix, press.id);
        let mut submits = self.modal_collector(&modal_id);
        press
            .create_response(
                http,
                CreateInteractionResponse::Modal(modal(
                    &modal_id,
                    self.category,
                    &current.to_input(),
                )),
            )
            .await?;
        let Ok(Some(submit)) = tokio::time::timeout(SESSION_TIMEOUT, submits.next()).await else {
            return Ok(());
        };
        if self.refused((&submit).into()).await? {
            return Ok(());
        }
        let draft = match Draft::validate(self.category, &input_of(&submit)) {
            Ok(draft) => draft,
            Err(problem) => {
                submit
                    .create_response(http, ephemeral(&problem.to_string()))
                    .await?;
                return Ok(());
            }
        };
        if !broadcasts::update_draft(&self.panel.pool, draft_id, &draft.to_fields()).await? {
            submit
                .create_response(
                    http,
                    ephemeral(&format!(
                        "Draft #{draft_id} is no longer a draft: nothing changed."
                    )),
                )
                .await?;
            return Ok(());
        }
        let message = self.preview_message(draft_id, &draft).await?;
        submit
            .create_response(http, CreateInteractionResponse::UpdateMessage(message))
            .await?;
        Ok(())
    }

    /// Every failure in the composer goes the one way failures go.
    async fn report_error(
        &self,
        error: &(dyn std::error::Error + Send + Sync + 'static),
        press: Press<'_>,
    ) {
        let http = &self.serenity.http;
        reply::answer_failure(&self.panel, error, "the broadcast composer", None, |text| {
            reply::ephemeral(http, press.id, press.token, text)
        })
        .await;
    }
}

fn ephemeral(text: &str) -> CreateInteractionResponse {
    CreateInteractionResponse::Message(
        CreateInteractionResponseMessage::new()
            .content(text)
            .ephemeral(true),
    )
}
