//! A yes/no question with two buttons, for the admin actions that cannot be
//! undone (removing a developer, cancelling or recalling a broadcast). What is being
//! confirmed travels in the buttons' signed ids, so any process answers the
//! press, also after a restart. Only the asker may answer, and only while
//! still a developer; anyone else gets an ephemeral refusal and the question
//! stays open. Unanswered, it expires after [`CONFIRM_TIMEOUT`].

use std::time::Duration;

use poise::CreateReply;
use serenity::all::{
    ButtonStyle, ComponentInteraction, CreateActionRow, CreateButton, CreateInteractionResponse,
    CreateInteractionResponseMessage, Http, User, UserId,
};

use super::Context;
use super::broadcast::{cancel, followup};
use super::developers;
use crate::access::{Needs, guard_press};
use crate::controls::{Controls, send_expiring};
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
}

impl Subject {
    fn encode(self) -> [u64; 2] {
        match self {
            Self::RemoveDeveloper(user) => [1, user.get()],
            Self::CancelBroadcast(id) => [2, id as u64],
            Self::RecallBroadcast(id) => [3, id as u64],
        }
    }

    fn decode(control: &ControlId) -> Result<Self, Error> {
        let target = control.arg(1)?;
        match control.arg(0)? {
            1 if target > 0 => Ok(Self::RemoveDeveloper(UserId::new(target))),
            2 => Ok(Self::CancelBroadcast(target as i64)),
            3 => Ok(Self::RecallBroadcast(target as i64)),
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
    let target = question.subject.encode();
    let buttons = vec![CreateActionRow::Buttons(vec![
        CreateButton::new(controls.id(YES, &target))
            .label(question.confirm)
            .style(ButtonStyle::Danger),
        CreateButton::new(controls.id(NO, &target))
            .label(question.decline)
            .style(ButtonStyle::Secondary),
    ])];
    send_expiring(
        ctx,
        CreateReply::default()
            .content(question.text)
            .components(buttons),
        &controls,
    )
    .await
}

/// Answers Yes or No: does (or does not) what the question asked, and
/// replaces the question with the outcome.
pub async fn on_press(
    panel: &AdminPanel,
    http: &Http,
    press: &ComponentInteraction,
    control: &ControlId,
) -> Result<(), Error> {
    let owner = UserId::new(control.owner.max(1));
    if guard_press(panel, http, Needs::Developer, owner, press.into()).await? {
        return Ok(());
    }
    let subject = Subject::decode(control)?;
    let outcome = match (control.action, subject) {
        (YES, Subject::RemoveDeveloper(user)) => {
            developers::remove_confirmed(panel, &press.user, user).await?
        }
        (YES, Subject::CancelBroadcast(id)) => {
            cancel::cancel_confirmed(panel, &press.user, id).await?
        }
        (YES, Subject::RecallBroadcast(id)) => followup::recall_confirmed(panel, press, id).await?,
        (NO, Subject::RemoveDeveloper(_)) => "Cancelled: nothing changed.".to_owned(),
        (NO, Subject::CancelBroadcast(_) | Subject::RecallBroadcast(_)) => {
            "Kept: nothing changed.".to_owned()
        }
        _ => return Err(UserError::new("That button is not part of this question.").into()),
    };
    answer(http, press, outcome).await
}

/// Replaces the question with `outcome`, its buttons gone.
async fn answer(http: &Http, press: &ComponentInteraction, outcome: String) -> Result<(), Error> {
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
