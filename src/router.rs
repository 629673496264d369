//! The one router for every button, select menu and modal the panel draws.
//! It needs no memory of the process that drew them: a control's custom id
//! (signed, see [`crate::ui::custom_id`]) names its view, owner, expiry and
//! numbers, and the rest is in the database. Any process that receives a
//! press answers it, also after a restart. Components that are not the
//! panel's (the host bot's own) are left alone.

use std::sync::Arc;
use std::time::Instant;

use serenity::all::{
    ComponentInteraction, Context, FullEvent, GuildId, Http, Interaction, ModalInteraction,
};

use crate::access::{self, Press};
use crate::admin;
use crate::controls::{answer_expired, expired, expired_text};
use crate::error::{Error, UserError, catching_panics};
use crate::panel::{AdminPanel, HasAdminPanel};
use crate::reply;
use crate::settings;
use crate::store::command_stats::{CommandEvent, Outcome};
use crate::ui::custom_id::{ControlId, InvalidId, View};

/// What a press on an id that is not valid (altered, or garbage) is told.
pub const INVALID_CONTROL: &str =
    "These controls are not valid, so nothing was changed. Run the command again.";
/// What a press on a control drawn by an earlier version of the panel is told.
pub const OLD_CONTROL: &str =
    "These controls are from an earlier version of the bot. Run the command again.";

/// The poise `event_handler` part: routes component and modal interactions.
pub async fn handle_event<U: HasAdminPanel>(
    framework: poise::FrameworkContext<'_, U, Error>,
    event: &FullEvent,
) -> Result<(), Error> {
    if let FullEvent::InteractionCreate { interaction } = event {
        route(
            framework.user_data.admin_panel(),
            framework.serenity_context,
            interaction,
        )
        .await;
    }
    Ok(())
}

/// Answers `interaction` if it is a press or submit of the panel's controls.
pub async fn route(panel: &AdminPanel, ctx: &Context, interaction: &Interaction) {
    match interaction {
        Interaction::Component(press) => on_component(panel, ctx, press).await,
        Interaction::Modal(submit) => on_modal(panel, ctx, submit).await,
        _ => {}
    }
}

async fn on_component(panel: &AdminPanel, ctx: &Context, press: &ComponentInteraction) {
    let arrived = Instant::now();
    let http = &ctx.http;
    let Some(control) = verified(panel, http, &press.data.custom_id, press.id, &press.token).await
    else {
        return;
    };
    let handling = catching_panics(async {
        #[cfg(feature = "test-support")]
        panic_if_injected(&press.token);
        handle_component(panel, &ctx.http, press, &control).await
    });
    let handled = access::noting_refusals(handling).await;
    conclude(
        panel,
        http,
        &control,
        Press::from(press),
        "a button",
        arrived,
        handled,
    )
    .await;
}

async fn handle_component(
    panel: &AdminPanel,
    http: &Arc<Http>,
    press: &ComponentInteraction,
    control: &ControlId,
) -> Result<(), Error> {
    if expired(control) {
        answer_expired(http, press, control.view)
            .await
            .map_err(Error::from)
    } else {
        match control.view {
            View::ServerList => {
                admin::pager::on_press::<admin::servers::ServerList>(panel, http, press, control)
                    .await
            }
            View::Logs => {
                admin::pager::on_press::<admin::logs::LogList>(panel, http, press, control).await
            }
            View::BroadcastHistory => {
                admin::pager::on_press::<admin::broadcast::history::History>(
                    panel, http, press, control,
                )
                .await
            }
            View::BroadcastReport => {
                admin::pager::on_press::<admin::broadcast::report::Report>(
                    panel, http, press, control,
                )
                .await
            }
            View::Confirm => on_confirm(panel, http, press, control).await,
            View::Composer => {
                admin::broadcast::compose::on_press(panel, http, press, control).await
            }
            View::Categories => settings::categories::on_pick(panel, http, press, control).await,
            View::Leave => admin::leave::on_press(panel, http, press, control).await,
            View::Blocklist => {
                admin::pager::on_press::<admin::blocklist::Blocklist>(panel, http, press, control)
                    .await
            }
        }
    }
}

async fn on_modal(panel: &AdminPanel, ctx: &Context, submit: &ModalInteraction) {
    let arrived = Instant::now();
    let http = &ctx.http;
    let Some(control) = verified(
        panel,
        http,
        &submit.data.custom_id,
        submit.id,
        &submit.token,
    )
    .await
    else {
        return;
    };
    let handling = catching_panics(async {
        #[cfg(feature = "test-support")]
        panic_if_injected(&submit.token);
        if expired(&control) {
            reply::ephemeral(http, submit.id, &submit.token, expired_text(control.view))
                .await
                .map_err(Error::from)
        } else if control.view == View::Composer {
            admin::broadcast::compose::on_submit(panel, http, submit, &control).await
        } else if control.view == View::Leave {
            admin::leave::on_submit(panel, &ctx.http, submit, &control).await
        } else {
            reply::ephemeral(http, submit.id, &submit.token, INVALID_CONTROL)
                .await
                .map_err(Error::from)
        }
    });
    let handled = access::noting_refusals(handling).await;
    conclude(
        panel,
        http,
        &control,
        Press::from(submit),
        "a form",
        arrived,
        handled,
    )
    .await;
}

/// Interaction tokens whose press or submit a test wants to panic in its
/// handler (`test-support` only).
#[cfg(feature = "test-support")]
static PANIC_ON: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Test hook: the handler of the press or submit with interaction `token`
/// panics, as a bug in it would.
#[cfg(feature = "test-support")]
#[doc(hidden)]
pub fn inject_panic(token: &str) {
    PANIC_ON
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(token.to_owned());
}

#[cfg(feature = "test-support")]
fn panic_if_injected(token: &str) {
    let mut tokens = PANIC_ON.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(at) = tokens.iter().position(|t| t == token) {
        tokens.remove(at);
        drop(tokens);
        panic!("a test injected this panic");
    }
}

/// Answers a press or submit whose handling failed, then counts it under
/// the command that drew its controls.
async fn conclude(
    panel: &AdminPanel,
    http: &Http,
    control: &ControlId,
    interaction: Press<'_>,
    what: &str,
    arrived: Instant,
    (result, refused): (Result<(), Error>, bool),
) {
    let outcome = outcome(control, &result, refused);
    if let Err(error) = result {
        let guild = interaction.guild.map(GuildId::get);
        reply::answer_failure(panel, error.as_ref(), what, guild, |text| {
            reply::ephemeral(http, interaction.id, interaction.token, text)
        })
        .await;
    }
    record(panel, control, &interaction, arrived, outcome);
}

/// How a press or submit ended, for the command statistics. An expired
/// control is the user's to fix (run the command again).
fn outcome(control: &ControlId, result: &Result<(), Error>, refused: bool) -> Outcome {
    match result {
        _ if refused => Outcome::Refused,
        Ok(()) if expired(control) => Outcome::UserError,
        Ok(()) => Outcome::Ok,
        Err(error) if error.downcast_ref::<UserError>().is_some() => Outcome::UserError,
        Err(_) => Outcome::InternalError,
    }
}

/// Counts a press or submit under the command that drew its controls. Its
/// first response is counted at completion: most handlers answer once.
fn record(
    panel: &AdminPanel,
    control: &ControlId,
    interaction: &Press<'_>,
    arrived: Instant,
    outcome: Outcome,
) {
    let duration_ms = crate::hooks::millis_between(arrived, Instant::now());
    panel.recorder.enqueue(CommandEvent {
        command: command_of(control).to_owned(),
        guild_id: interaction.guild.map(GuildId::get),
        user_id: interaction.user.get(),
        executed_at: chrono::Utc::now() - chrono::TimeDelta::milliseconds(i64::from(duration_ms)),
        outcome,
        first_response_ms: duration_ms,
        duration_ms,
    });
}

/// The command whose statistics a control's presses count under: the one
/// that draws its view, or for a confirmation the one that asked.
fn command_of(control: &ControlId) -> &'static str {
    match control.view {
        View::Confirm => match control.arg(0) {
            Ok(1) => "admin developers remove",
            Ok(3) => "admin broadcast recall",
            Ok(4) => "admin leave",
            _ => "admin broadcast cancel",
        },
        View::Leave => "admin leave",
        view => view.command().trim_start_matches('/'),
    }
}

/// The control `custom_id` names, or `None` once a refusal was sent (or for
/// the host bot's own components, which get nothing from us).
async fn verified(
    panel: &AdminPanel,
    http: &Http,
    custom_id: &str,
    id: serenity::all::InteractionId,
    token: &str,
) -> Option<ControlId> {
    let refusal = match panel.control_key.verify(custom_id) {
        Ok(control) => return Some(control),
        Err(InvalidId::NotOurs) if drawn_by_an_earlier_version(custom_id) => OLD_CONTROL,
        Err(InvalidId::NotOurs) => return None,
        Err(problem) => {
            tracing::warn!(%problem, "refused a control with an invalid custom id");
            INVALID_CONTROL
        }
    };
    if let Err(error) = reply::ephemeral(http, id, token, refusal).await {
        tracing::warn!(error = %crate::error::cause_chain(&error), "could not refuse a control");
    }
    None
}

/// Custom ids of the panel before its controls were signed (pager `pg…:`,
/// composer `bc…:`, confirmations `devrm…:`/`bccancel…:`, categories `cats…`).
fn drawn_by_an_earlier_version(custom_id: &str) -> bool {
    ["pg", "bccancel", "bc", "devrm", "cats"]
        .iter()
        .any(|prefix| {
            custom_id
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        })
}

/// A Yes or No under a confirmation: the dialog reads the answer, this
/// does what was confirmed, and the dialog shows the outcome.
async fn on_confirm(
    panel: &AdminPanel,
    http: &Arc<Http>,
    press: &ComponentInteraction,
    control: &ControlId,
) -> Result<(), Error> {
    use admin::confirm::{Answer, Subject};
    let Some(answer) = admin::confirm::read_answer(panel, http, press, control).await? else {
        return Ok(());
    };
    let outcome = match answer {
        Answer::Confirmed(Subject::RemoveDeveloper(user)) => {
            admin::developers::remove_confirmed(panel, &press.user, user).await?
        }
        Answer::Confirmed(Subject::CancelBroadcast(id)) => {
            admin::broadcast::cancel::cancel_confirmed(panel, &press.user, id).await?
        }
        Answer::Confirmed(Subject::RecallBroadcast(id)) => {
            admin::broadcast::followup::recall_confirmed(panel, press, id).await?
        }
        Answer::Confirmed(Subject::LeaveServer(id)) => {
            admin::leave::leave_confirmed(panel, http, &press.user, id).await?
        }
        Answer::Declined(subject) => subject.declined_text().to_owned(),
    };
    admin::confirm::conclude(http, press, outcome).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_of_the_previous_version_are_recognised_and_foreign_ones_are_not() {
        for old in [
            "pg123:next",
            "bc99:send",
            "devrm7:confirm",
            "bccancel5:decline",
            "cats42",
        ] {
            assert!(drawn_by_an_earlier_version(old), "{old}");
        }
        for foreign in ["page:2", "confirm", "bcast", "my_button"] {
            assert!(!drawn_by_an_earlier_version(foreign), "{foreign}");
        }
    }
}
