//! A yes/no question with two buttons, for the admin actions that cannot be
//! undone (removing a developer, cancelling or recalling a broadcast,
//! leaving a server). What is being confirmed travels in the buttons' signed
//! ids, so any process answers the press, also after a restart. Only the
//! asker may answer, and only while still a developer; anyone else gets an
//! ephemeral refusal and the question stays open. Unanswered, it expires after [`CONFIRM_TIMEOUT`].
//!
//! The dialog only asks and reads the answer ([`read_answer`]); the caller
//! that routes presses does what was confirmed and replaces the question
//! with the outcome ([`conclude`]), so the dialog imports none of the views
//! that use it.

use std::sync::Arc;
use std::time::Duration;

use poise::CreateReply;
use serenity::all::{
    ButtonStyle, ComponentInteraction, CreateActionRow, CreateAllowedMentions, CreateButton,
    CreateInteractionResponse, CreateInteractionResponseMessage, Http, ModalInteraction, User,
    UserId,
};

use super::Context;
use crate::access::{Needs, guard_control};
use crate::controls::{Controls, disable_when_expired, send_expiring};
use crate::error::{Error, UserError};
use crate::panel::{AdminPanel, HasAdminPanel};
use crate::ui::custom_id::{ControlId, View};

/// How long a question waits for a press: well inside the 15-minute token.
pub const CONFIRM_TIMEOUT: Duration = Duration::from_secs(120);

const YES: char = 'y';
const NO: char = 'n';

/// What a question asks to do; it travels in the buttons as (kind, target).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    RemoveDeveloper(UserId),
    CancelBroadcast(i64),
    RecallBroadcast(i64),
    /// A stored request to leave a server ([`super::leave`]).
    LeaveServer(i64),
}

impl Subject {
    fn encode(self) -> [u64; 2] {
        match self {
            Self::RemoveDeveloper(user) => [1, user.get()],
            Self::CancelBroadcast(id) => [2, id as u64],
            Self::RecallBroadcast(id) => [3, id as u64],
            Self::LeaveServer(id) => [4, id as u64],
        }
    }

    fn decode(control: &ControlId) -> Result<Self, Error> {
        let target = control.arg(1)?;
        match control.arg(0)? {
            1 if target > 0 => Ok(Self::RemoveDeveloper(UserId::new(target))),
            2 => Ok(Self::CancelBroadcast(target as i64)),
            3 => Ok(Self::RecallBroadcast(target as i64)),
            4 => Ok(Self::LeaveServer(target as i64)),
            _ => Err(UserError::new("That question is not one this version asks.").into()),
        }
    }
}

/// What the question looks like.
pub struct Question<'a> {
    pub subject: Subject,
    pub text: String,
    /// The label of the (red) button that goes ahead.
    pub confirm: &'a str,
    /// The label of the button that changes nothing.
    pub decline: &'a str,
}

/// Asks `question` ephemerally; the answer comes through the router.
pub async fn ask<U: HasAdminPanel>(
    ctx: Context<'_, U>,
    question: Question<'_>,
) -> Result<(), Error> {
    let panel = ctx.data().admin_panel();
    let controls = Controls::new(panel, View::Confirm, ctx.author().id.get(), CONFIRM_TIMEOUT);
    let buttons = buttons(&controls, &question);
    send_expiring(
        ctx,
        CreateReply::default()
            .content(question.text)
            .components(buttons),
        &controls,
    )
    .await
}

/// Asks `question` ephemerally in answer to a form's submit (a question
/// that needed typed input first).
pub async fn ask_after_submit(
    panel: &AdminPanel,
    http: &Arc<Http>,
    submit: &ModalInteraction,
    question: Question<'_>,
) -> Result<(), Error> {
    let controls = Controls::new(panel, View::Confirm, submit.user.id.get(), CONFIRM_TIMEOUT);
    let message = CreateInteractionResponseMessage::new()
        .components(buttons(&controls, &question))
        .content(question.text)
        .allowed_mentions(CreateAllowedMentions::new())
        .ephemeral(true);
    submit
        .create_response(http, CreateInteractionResponse::Message(message))
        .await?;
    disable_when_expired(http.clone(), submit.token.clone(), controls.remaining());
    Ok(())
}

/// The red button that goes ahead and the one that changes nothing.
fn buttons(controls: &Controls<'_>, question: &Question<'_>) -> Vec<CreateActionRow> {
    let target = question.subject.encode();
    vec![CreateActionRow::Buttons(vec![
        CreateButton::new(controls.id(YES, &target))
            .label(question.confirm)
            .style(ButtonStyle::Danger),
        CreateButton::new(controls.id(NO, &target))
            .label(question.decline)
            .style(ButtonStyle::Secondary),
    ])]
}

/// How the asker answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Confirmed(Subject),
    Declined(Subject),
}

impl Subject {
    /// The outcome shown when the question is declined.
    pub fn declined_text(self) -> &'static str {
        match self {
            Self::RemoveDeveloper(_) => "Cancelled: nothing changed.",
            Self::CancelBroadcast(_) | Self::RecallBroadcast(_) => "Kept: nothing changed.",
            Self::LeaveServer(_) => "Stayed: the bot is still in that server.",
        }
    }
}

/// Reads a press of Yes or No; `None` when the presser may not answer
/// (they were told so, and the question stays open).
pub async fn read_answer(
    panel: &AdminPanel,
    http: &Http,
    press: &ComponentInteraction,
    control: &ControlId,
) -> Result<Option<Answer>, Error> {
    if guard_control(panel, http, Needs::Developer, control, press.into()).await? {
        return Ok(None);
    }
    let subject = Subject::decode(control)?;
    match control.action {
        YES => Ok(Some(Answer::Confirmed(subject))),
        NO => Ok(Some(Answer::Declined(subject))),
        _ => Err(UserError::new("That button is not part of this question.").into()),
    }
}

/// Replaces the question with `outcome`, its buttons gone.
pub async fn conclude(
    http: &Http,
    press: &ComponentInteraction,
    outcome: String,
) -> Result<(), Error> {
    let update = CreateInteractionResponseMessage::new()
        .content(outcome)
        .components(crate::ui::pager::disabled_copy(&press.message.components));
    press
        .create_response(http, CreateInteractionResponse::UpdateMessage(update))
        .await?;
    Ok(())
}

/// Who answered, for the log entries of the confirmed actions.
pub fn who(user: &User) -> String {
    format!("{} ({})", user.name, user.id)
}
