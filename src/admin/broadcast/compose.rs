//! `/admin broadcast new category:<...> [schedule:<text>]`: a modal to compose,
//! a saved draft with a preview and dry run, then Send (or Schedule), Edit or
//! Discard. Nothing is delivered before Send/Schedule is pressed.
//!
//! Every step is answered by the router from signed custom ids and the draft
//! in the database, so the composer survives a deploy: the modal's id carries
//! the category and schedule, the preview's buttons the draft id. Each
//! button and submit is refused to anyone but the composer, and to the
//! composer too once no longer a developer.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serenity::all::{
    ButtonStyle, ComponentInteraction, CreateActionRow, CreateButton, CreateInteractionResponse,
    CreateInteractionResponseMessage, Http, ModalInteraction,
};

use super::super::Context;
use super::actions::{
    APPLY_EDIT, APPROVE, DISCARD, EDIT, EDIT_FORM, EDIT_REFUSED, EDIT_SENT_FORM, NEW_FORM, REJECT,
    REJECT_FORM, REVIEW_PICK, SEND, SEND_NOW, SESSION_TIMEOUT, TEST_SEND,
};
use super::form::{input_of, modal};
use super::{approval, audience, followup, preview};
use crate::access::{Needs, Press, guard_control};
use crate::broadcast::audience::AudienceOptions;
use crate::broadcast::draft::{Category, Draft, DraftInput};
use crate::broadcast::schedule;
use crate::controls::Controls;
use crate::error::{Error, UserError};
use crate::panel::{AdminPanel, HasAdminPanel};
use crate::store::broadcasts;
use crate::store::broadcasts::Audience;
use crate::store::views;
use crate::ui::custom_id::{ControlId, View};
use crate::validate::Language;

/// Compose a broadcast to every server, or to an audience (opens a form).
#[allow(clippy::too_many_arguments)]
#[poise::command(slash_command, rename = "new")]
pub async fn compose<U: HasAdminPanel>(
    ctx: Context<'_, U>,
    #[description = "What kind of message it is (servers choose which kinds they accept)"]
    category: Category,
    #[description = "When to send: 2026-12-01T18:00:00Z, 2026-12-01 18:00 (UTC), in 2h, 90m, 1d 2h"]
    #[max_length = 100]
    schedule: Option<String>,
    #[description = "Audience: only servers with this language"] language: Option<Language>,
    #[description = "Audience: only servers with this module enabled"]
    #[autocomplete = "audience::autocomplete_module"]
    #[max_length = 32]
    module: Option<String>,
    #[description = "Audience: only servers with at least this many members"]
    #[min = 1]
    min_members: Option<i64>,
    #[description = "Audience: only these servers (ids separated by commas, up to 25; type a name for suggestions)"]
    #[autocomplete = "audience::autocomplete_servers"]
    #[max_length = 600]
    servers: Option<String>,
) -> Result<(), Error> {
    let poise::Context::Application(app) = ctx else {
        return Err(UserError::new("Use the slash command.").into());
    };
    let scheduled_for = schedule
        .as_deref()
        .map(|text| schedule::parse(text, Utc::now()))
        .transpose()
        .map_err(|error| UserError::new(error.to_string()))?;
    let panel = ctx.data().admin_panel();
    let options = AudienceOptions {
        language,
        module,
        min_members,
        servers,
    };
    let audience = audience::resolve(panel, &options).await?;
    let controls = Controls::new(
        panel,
        View::Composer,
        ctx.author().id.get(),
        SESSION_TIMEOUT,
    );
    let audience_view = save_audience(panel, &controls, &audience).await?;
    let form = new_form(
        &controls,
        category,
        scheduled_for,
        audience_view,
        &DraftInput::default(),
    );
    app.interaction
        .create_response(ctx.http(), CreateInteractionResponse::Modal(form))
        .await?;
    app.has_sent_initial_response
        .store(true, std::sync::atomic::Ordering::SeqCst);
    Ok(())
}

/// Keeps a chosen audience (up to 25 server ids do not fit a custom id) as a
/// stored view for the form's submit; 0 for every server.
async fn save_audience(
    panel: &AdminPanel,
    controls: &Controls<'_>,
    audience: &Audience,
) -> Result<u64, Error> {
    if audience.is_everyone() {
        return Ok(0);
    }
    let expires = DateTime::from_timestamp(controls.expires_at, 0).unwrap_or_default();
    let view = views::save(
        &panel.pool,
        "broadcast audience",
        controls.owner,
        &serde_json::to_value(audience)?,
        expires,
    )
    .await?;
    Ok(view as u64)
}

/// The audience a form's id points to (0: every server).
async fn load_audience(panel: &AdminPanel, view: u64, owner: u64) -> Result<Audience, Error> {
    if view == 0 {
        return Ok(Audience::default());
    }
    let Some(view) = views::load(&panel.pool, view as i64).await? else {
        return Err(UserError::new(crate::controls::expired_text(View::Composer)).into());
    };
    if view.owner_id != owner {
        return Err(UserError::new("That form belongs to someone else.").into());
    }
    Ok(serde_json::from_value(view.args)?)
}

fn new_form(
    controls: &Controls<'_>,
    category: Category,
    scheduled_for: Option<DateTime<Utc>>,
    audience_view: u64,
    input: &DraftInput,
) -> serenity::all::CreateModal {
    let index = Category::ALL
        .iter()
        .position(|c| *c == category)
        .unwrap_or(0) as u64;
    let at = scheduled_for.map_or(0, |at| at.timestamp().max(0) as u64);
    modal(
        &controls.id(NEW_FORM, &[index, at, audience_view]),
        category,
        input,
    )
}

/// A submitted form: the first one saves a draft and shows the preview; the
/// Edit form replaces the draft and the preview.
pub async fn on_submit(
    panel: &AdminPanel,
    http: &Http,
    submit: &ModalInteraction,
    control: &ControlId,
) -> Result<(), Error> {
    if refused(panel, http, control, submit.into()).await? {
        return Ok(());
    }
    match control.action {
        NEW_FORM => save_first_draft(panel, http, submit, control).await,
        EDIT_FORM => preview::save_edit(panel, http, submit, control.arg(0)? as i64).await,
        EDIT_SENT_FORM => followup::on_submit(panel, http, submit, control.arg(0)? as i64).await,
        REJECT_FORM => approval::reject(panel, http, submit, control.arg(0)? as i64).await,
        _ => Err(UserError::new("That form is not part of the composer.").into()),
    }
}

/// A press on the preview (or on Edit under a refused submit).
pub async fn on_press(
    panel: &AdminPanel,
    http: &Http,
    press: &ComponentInteraction,
    control: &ControlId,
) -> Result<(), Error> {
    if refused(panel, http, control, press.into()).await? {
        return Ok(());
    }
    match control.action {
        SEND => preview::send(panel, http, press, control.arg(0)? as i64, false).await,
        SEND_NOW => preview::send(panel, http, press, control.arg(0)? as i64, true).await,
        EDIT => preview::edit(panel, http, press, control.arg(0)? as i64).await,
        DISCARD => preview::discard(panel, http, press, control.arg(0)? as i64).await,
        TEST_SEND => preview::send_test(panel, http, press, control.arg(0)? as i64).await,
        APPROVE => approval::approve(panel, http, press, control.arg(0)? as i64).await,
        REVIEW_PICK => approval::review_picked(panel, http, press).await,
        REJECT => approval::ask_reason(panel, http, press, control.arg(0)? as i64).await,
        EDIT_REFUSED => edit_refused(panel, http, press, control).await,
        APPLY_EDIT => followup::apply(panel, http, press, control.arg(0)? as i64).await,
        _ => Err(UserError::new("That button is not part of the composer.").into()),
    }
}

/// Refuses (and answers) anyone but a developer who composed this.
async fn refused(
    panel: &AdminPanel,
    http: &Http,
    control: &ControlId,
    press: Press<'_>,
) -> Result<bool, Error> {
    guard_control(panel, http, Needs::Developer, control, press).await
}

/// What a refused first submit keeps, so Edit can reopen the form with it.
#[derive(Debug, Serialize, Deserialize)]
struct RefusedInput {
    category: usize,
    scheduled_for: Option<i64>,
    /// The stored view of the audience (0: every server).
    #[serde(default)]
    audience_view: u64,
    title: String,
    content: String,
    color: String,
    image_url: String,
    footer: String,
}

async fn save_first_draft(
    panel: &AdminPanel,
    http: &Http,
    submit: &ModalInteraction,
    control: &ControlId,
) -> Result<(), Error> {
    let category_index = usize::try_from(control.arg(0)?).unwrap_or(usize::MAX);
    let category = *Category::ALL
        .get(category_index)
        .ok_or_else(|| UserError::new("That form names no category."))?;
    let scheduled_for = Some(control.arg(1)? as i64)
        .filter(|at| *at > 0)
        .and_then(|at| DateTime::from_timestamp(at, 0));
    // Forms drawn before audiences existed carry no third argument.
    let audience_view = control.arg(2).unwrap_or(0);
    let audience = load_audience(panel, audience_view, control.owner).await?;
    let input = input_of(submit);
    let draft = match Draft::validate(category, &input) {
        Ok(draft) => draft,
        Err(problem) => {
            // Nothing is saved as a draft; the input is kept (as long as the
            // controls live) so Edit reopens the form with what was typed.
            let kept = RefusedInput {
                category: category_index,
                scheduled_for: scheduled_for.map(|at| at.timestamp()),
                audience_view,
                title: input.title,
                content: input.content,
                color: input.color,
                image_url: input.image_url,
                footer: input.footer,
            };
            let controls = Controls::new(panel, View::Composer, control.owner, SESSION_TIMEOUT);
            let expires = DateTime::from_timestamp(controls.expires_at, 0).unwrap_or_default();
            let view = views::save(
                &panel.pool,
                "composer input",
                control.owner,
                &serde_json::to_value(&kept)?,
                expires,
            )
            .await?;
            let message = CreateInteractionResponseMessage::new()
                .content(problem.to_string())
                .components(vec![CreateActionRow::Buttons(vec![
                    CreateButton::new(controls.id(EDIT_REFUSED, &[view as u64]))
                        .label("Edit")
                        .style(ButtonStyle::Secondary),
                ])])
                .ephemeral(true);
            submit
                .create_response(http, CreateInteractionResponse::Message(message))
                .await?;
            return Ok(());
        }
    };
    let id = broadcasts::create_draft(
        &panel.pool,
        &draft.to_fields(),
        &audience,
        submit.user.id.get(),
        scheduled_for,
    )
    .await?;
    let message =
        preview::preview_message(panel, control.owner, id, &draft, &audience, scheduled_for)
            .await?
            .ephemeral(true);
    submit
        .create_response(http, CreateInteractionResponse::Message(message))
        .await?;
    Ok(())
}

/// Reopens the first form with the input a refused submit kept.
async fn edit_refused(
    panel: &AdminPanel,
    http: &Http,
    press: &ComponentInteraction,
    control: &ControlId,
) -> Result<(), Error> {
    let Some(view) = views::load(&panel.pool, control.arg(0)? as i64).await? else {
        return Err(UserError::new(crate::controls::expired_text(View::Composer)).into());
    };
    if view.owner_id != control.owner {
        return Err(UserError::new("That form belongs to someone else.").into());
    }
    let kept: RefusedInput = serde_json::from_value(view.args)?;
    let category = *Category::ALL
        .get(kept.category)
        .ok_or_else(|| UserError::new("That form names no category."))?;
    let scheduled_for = kept
        .scheduled_for
        .and_then(|at| DateTime::from_timestamp(at, 0));
    let input = DraftInput {
        title: kept.title,
        content: kept.content,
        color: kept.color,
        image_url: kept.image_url,
        footer: kept.footer,
    };
    let controls = Controls::new(panel, View::Composer, control.owner, SESSION_TIMEOUT);
    let form = new_form(
        &controls,
        category,
        scheduled_for,
        kept.audience_view,
        &input,
    );
    press
        .create_response(http, CreateInteractionResponse::Modal(form))
        .await?;
    Ok(())
}
