//! `/admin broadcast edit id:<n>` and `/admin broadcast recall id:<n>`:
//! changing or deleting a broadcast's delivered messages everywhere.
//!
//! Edit opens the form filled with the broadcast's current message; a valid
//! submit shows the new embed and how many delivered messages "Apply" will
//! edit; Apply stores the new message and queues one edit per delivered
//! message. Recall asks first (naming the number of messages), then queues
//! one delete per delivered message. The delivery worker does the rest,
//! governed and crash-safe (`broadcast::followup`). Both are refused, with
//! the reason, for a broadcast still sending (wait or cancel first, so no
//! message is missed), not sent, recalled, or with another edit or recall
//! still running.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serenity::all::{
    ButtonStyle, ComponentInteraction, CreateActionRow, CreateButton, CreateInteractionResponse,
    CreateInteractionResponseMessage, Http, ModalInteraction,
};

use super::super::Context;
use super::super::confirm::{self, Question, Subject};
use super::actions::{APPLY_EDIT, EDIT_SENT_FORM, SESSION_TIMEOUT};
use super::form::{input_of, titled_modal};
use crate::broadcast::draft::{Draft, DraftInput};
use crate::controls::Controls;
use crate::error::{Error, UserError};
use crate::panel::{AdminPanel, HasAdminPanel};
use crate::store::broadcasts::{self, ProgressTarget, followups};
use crate::store::logs::Severity;
use crate::store::views;
use crate::telemetry::oplog;
use crate::ui::broadcast::edit_preview;
use crate::ui::custom_id::View;

/// Edit every delivered message of a broadcast in place (opens the form).
#[poise::command(slash_command)]
pub async fn edit<U: HasAdminPanel>(
    ctx: Context<'_, U>,
    #[description = "Broadcast number (see /admin broadcast history)"]
    #[min = 1]
    id: i64,
) -> Result<(), Error> {
    let poise::Context::Application(app) = ctx else {
        return Err(UserError::new("Use the slash command.").into());
    };
    let panel = ctx.data().admin_panel();
    if let Err(refusal) = followups::check(&panel.pool, id).await? {
        return Err(refused("edited", id, &refusal));
    }
    let Some(row) = broadcasts::get(&panel.pool, id).await? else {
        return Err(UserError::new(format!("There is no broadcast #{id}.")).into());
    };
    let current = Draft::try_from(&row.message)?;
    let controls = Controls::new(
        panel,
        View::Composer,
        ctx.author().id.get(),
        SESSION_TIMEOUT,
    );
    let form = titled_modal(
        &controls.id(EDIT_SENT_FORM, &[id as u64]),
        format!("Edit broadcast #{id}"),
        &current.to_input(),
    );
    app.interaction
        .create_response(ctx.http(), CreateInteractionResponse::Modal(form))
        .await?;
    app.has_sent_initial_response
        .store(true, std::sync::atomic::Ordering::SeqCst);
    Ok(())
}

/// Delete every delivered message of a broadcast (asks first).
#[poise::command(slash_command, ephemeral)]
pub async fn recall<U: HasAdminPanel>(
    ctx: Context<'_, U>,
    #[description = "Broadcast number (see /admin broadcast history)"]
    #[min = 1]
    id: i64,
) -> Result<(), Error> {
    let panel = ctx.data().admin_panel();
    let messages = match followups::check(&panel.pool, id).await? {
        Ok(messages) => messages,
        Err(refusal) => return Err(refused("recalled", id, &refusal)),
    };
    let title = broadcasts::get(&panel.pool, id)
        .await?
        .map(|row| row.message.title)
        .unwrap_or_default();
    let question = Question {
        subject: Subject::RecallBroadcast(id),
        text: format!(
            "Recall broadcast #{id} \"{}\": delete its {messages} delivered messages from every server? This cannot be undone.",
            crate::ui::text::truncate(&title, 100),
        ),
        confirm: "Delete them",
        decline: "Keep them",
    };
    confirm::ask(ctx, question).await
}

fn refused(verb: &str, id: i64, refusal: &broadcasts::Refusal) -> Error {
    UserError::new(format!(
        "Broadcast #{id} cannot be {verb}: {refusal}. Nothing changed."
    ))
    .into()
}

/// Queues the deletes once `by` confirmed the recall (through the router).
pub async fn recall_confirmed(
    panel: &AdminPanel,
    press: &ComponentInteraction,
    id: i64,
) -> Result<String, Error> {
    let by = &press.user;
    let progress = progress_of(press);
    match followups::request_recall(&panel.pool, id, by.id.get(), Some(&progress)).await? {
        Ok((_, messages)) => {
            oplog::write_entry_or_warn(
                &panel.pool,
                Severity::Info,
                "broadcast_recall",
                None,
                &format!(
                    "Broadcast #{id} recalled by {}: {messages} messages to delete",
                    confirm::who(by)
                ),
            )
            .await;
            Ok(format!(
                "Recalling broadcast #{id}: {messages} messages are being deleted; this message shows the progress."
            ))
        }
        Err(refusal) => Ok(format!(
            "Broadcast #{id} cannot be recalled: {refusal}. Nothing changed."
        )),
    }
}

/// The press's message shows the follow-up's progress while its token lives.
fn progress_of(press: &ComponentInteraction) -> ProgressTarget {
    ProgressTarget {
        application_id: press.application_id.get(),
        token: press.token.clone(),
        expires_at: Utc::now() + TimeDelta::minutes(15),
    }
}

/// The new message between the submit and Apply (kept as a stored view).
#[derive(Debug, Serialize, Deserialize)]
struct PendingEdit {
    broadcast: i64,
    title: String,
    content: String,
    color: String,
    image_url: String,
    footer: String,
}

/// A submitted edit form: validated like a new broadcast; the preview shows
/// the new embed and what Apply will do.
pub async fn on_submit(
    panel: &AdminPanel,
    http: &Http,
    submit: &ModalInteraction,
    id: i64,
) -> Result<(), Error> {
    let Some(row) = broadcasts::get(&panel.pool, id).await? else {
        return Err(UserError::new(format!("There is no broadcast #{id}.")).into());
    };
    let category = Draft::try_from(&row.message)?.category;
    let input = input_of(submit);
    let draft = Draft::validate(category, &input)?;
    let messages = match followups::check(&panel.pool, id).await? {
        Ok(messages) => messages,
        Err(refusal) => return Err(refused("edited", id, &refusal)),
    };
    let owner = submit.user.id.get();
    let controls = Controls::new(panel, View::Composer, owner, SESSION_TIMEOUT);
    let pending = PendingEdit {
        broadcast: id,
        title: input.title,
        content: input.content,
        color: input.color,
        image_url: input.image_url,
        footer: input.footer,
    };
    let expires = DateTime::from_timestamp(controls.expires_at, 0).unwrap_or_default();
    let view = views::save(
        &panel.pool,
        "broadcast edit",
        owner,
        &serde_json::to_value(&pending)?,
        expires,
    )
    .await?;
    let message = CreateInteractionResponseMessage::new()
        .content(format!(
            "Edit of broadcast #{id}: nothing changes until you press Apply."
        ))
        .embeds(vec![draft.embed(), edit_preview(id, messages)])
        .components(vec![CreateActionRow::Buttons(vec![
            CreateButton::new(controls.id(APPLY_EDIT, &[view as u64]))
                .label(format!("Apply to {messages} messages"))
                .style(ButtonStyle::Danger),
        ])])
        .ephemeral(true);
    submit
        .create_response(http, CreateInteractionResponse::Message(message))
        .await?;
    Ok(())
}

/// Apply: stores the new message and queues the edits.
pub async fn apply(
    panel: &AdminPanel,
    http: &Http,
    press: &ComponentInteraction,
    view: i64,
) -> Result<(), Error> {
    let Some(view) = views::load(&panel.pool, view).await? else {
        return Err(UserError::new(crate::controls::expired_text(View::Composer)).into());
    };
    if view.owner_id != press.user.id.get() {
        return Err(UserError::new("That edit belongs to someone else.").into());
    }
    let pending: PendingEdit = serde_json::from_value(view.args)?;
    let id = pending.broadcast;
    let Some(row) = broadcasts::get(&panel.pool, id).await? else {
        return Err(UserError::new(format!("There is no broadcast #{id}.")).into());
    };
    let category = Draft::try_from(&row.message)?.category;
    let input = DraftInput {
        title: pending.title,
        content: pending.content,
        color: pending.color,
        image_url: pending.image_url,
        footer: pending.footer,
    };
    let draft = Draft::validate(category, &input)?;
    let by = press.user.id.get();
    let progress = progress_of(press);
    let fields = draft.to_fields();
    let text = match followups::request_edit(&panel.pool, id, &fields, by, Some(&progress)).await? {
        Ok((_, messages)) => {
            oplog::write_entry_or_warn(
                &panel.pool,
                Severity::Info,
                "broadcast_edit",
                None,
                &format!(
                    "Broadcast #{id} edited by {}: {messages} messages to edit",
                    confirm::who(&press.user)
                ),
            )
            .await;
            format!(
                "Editing broadcast #{id}: {messages} delivered messages are being edited in place; this message shows the progress."
            )
        }
        Err(refusal) => format!("Broadcast #{id} cannot be edited: {refusal}. Nothing changed."),
    };
    super::conclude(http, press, text).await
}
