//! `/admin leave guild:<id> reason:<text>` and the Leave button of a
//! server's view: the bot leaves a server, after a confirmation naming it and
//! its member count. The request (with its reason) is stored when asked, so
//! the confirmation works from any process; the press that confirms claims it,
//! so the bot never leaves twice. The bot's own rows follow the GUILD_DELETE
//! Discord sends, as for any leave; the log keeps who asked and why
//! (`guild_leave_forced`).

use std::sync::Arc;
use std::time::Duration;

use serenity::all::{
    ButtonStyle, ComponentInteraction, CreateActionRow, CreateButton, CreateInteractionResponse,
    Http, MessageBuilder, ModalInteraction, User,
};

use super::Context;
use super::broadcast::form::{REASON_FIELD, input_of_field, reason_form};
use super::confirm::{self, Question, Subject};
use super::guild_option::{autocomplete_guild, parse_guild_id};
use crate::access::{Needs, guard_control};
use crate::controls::Controls;
use crate::error::{Error, UserError, cause_chain};
use crate::events::blocked::{is_unknown_guild, leave_and_log};
use crate::panel::{AdminPanel, HasAdminPanel};
use crate::store::forced_leaves::{self, Claim, LeaveTarget, NotLeavable};
use crate::ui::custom_id::{ControlId, View};
use crate::ui::text::{bold_name, discord_time, thousands};

/// The longest reason kept (Discord's audit log allows 512).
pub const MAX_REASON_CHARS: usize = 500;
/// How long the Leave button of a server's view works: inside the 15
/// minutes the view's own interaction token lives.
const BUTTON_LIFETIME: Duration = Duration::from_secs(14 * 60);
/// How long a confirming press waits for Discord before it answers; the
/// leave itself goes on and is logged when Discord answers.
pub(super) const ANSWER_WITHIN: Duration = Duration::from_secs(2);

/// The Leave button: asks for a reason.
const ASK_REASON: char = 'a';
/// The reason form's submit.
const REASON_FORM: char = 'f';

/// Makes the bot leave a server, after a confirmation.
#[poise::command(slash_command, ephemeral)]
pub async fn leave<U: HasAdminPanel>(
    ctx: Context<'_, U>,
    #[description = "Server id (type a name to search)"]
    #[autocomplete = "autocomplete_guild"]
    guild: String,
    #[description = "Why the bot leaves (kept in the log)"]
    #[max_length = 500]
    reason: String,
) -> Result<(), Error> {
    let panel = ctx.data().admin_panel();
    let guild = parse_guild_id(&guild)?;
    let reason = checked_reason(&reason)?;
    let target = requested(panel, guild, &reason, ctx.author().id.get()).await?;
    confirm::ask(ctx, question(&target)).await
}

/// The trimmed reason, or why it is refused.
pub(super) fn checked_reason(raw: &str) -> Result<String, UserError> {
    let reason = raw.trim();
    let chars = reason.chars().count();
    if chars == 0 || chars > MAX_REASON_CHARS {
        return Err(UserError::new(format!(
            "Give a reason of 1 to {MAX_REASON_CHARS} characters: nothing changed."
        )));
    }
    Ok(reason.to_owned())
}

/// Stores the request, or says why the bot cannot leave that server.
async fn requested(
    panel: &AdminPanel,
    guild: u64,
    reason: &str,
    by: u64,
) -> Result<LeaveTarget, Error> {
    match forced_leaves::request(&panel.pool, guild, reason, by).await? {
        Ok(target) => Ok(target),
        Err(NotLeavable::Unknown) => Err(UserError::new(format!(
            "No server with id {guild} is known to the bot: nothing to leave."
        ))
        .into()),
        Err(NotLeavable::AlreadyLeft { name, at }) => Err(UserError::new(format!(
            "The bot is not in {} ({guild}) any more: it left {}.",
            safe_name(&name),
            discord_time(at, 'R')
        ))
        .into()),
    }
}

/// A server's name as message text: bold, with no markdown or mention of its own.
fn safe_name(name: &str) -> String {
    bold_name(name, 100)
}

fn question(target: &LeaveTarget) -> Question<'static> {
    Question {
        subject: Subject::LeaveServer(target.id),
        text: format!(
            "Leave {} ({}, {} members)?\nReason: {}\nThe bot leaves at once; only someone with Manage Server there can add it back.",
            safe_name(&target.name),
            target.guild_id,
            thousands(i64::from(target.member_count)),
            MessageBuilder::new()
                .push_safe(target.reason.as_str())
                .build()
        ),
        confirm: "Leave server",
        decline: "Stay",
    }
}

/// The Leave button under a server's view, for `owner` only.
pub fn button(panel: &AdminPanel, owner: u64, guild: u64) -> CreateActionRow {
    let controls = Controls::new(panel, View::Leave, owner, BUTTON_LIFETIME);
    CreateActionRow::Buttons(vec![
        CreateButton::new(controls.id(ASK_REASON, &[guild]))
            .label("Leave server")
            .style(ButtonStyle::Danger),
    ])
}

/// A press of the Leave button: asks for the reason.
pub async fn on_press(
    panel: &AdminPanel,
    http: &Http,
    press: &ComponentInteraction,
    control: &ControlId,
) -> Result<(), Error> {
    if guard_control(panel, http, Needs::Developer, control, press.into()).await? {
        return Ok(());
    }
    if control.action != ASK_REASON {
        return Err(UserError::new("That button is not part of this view.").into());
    }
    let guild = control.arg(0)?;
    let controls = Controls::continuing(panel, control);
    let form = reason_form(
        controls.id(REASON_FORM, &[guild]),
        "Leave this server".to_owned(),
        "Why (kept in the log)",
        MAX_REASON_CHARS,
    );
    press
        .create_response(http, CreateInteractionResponse::Modal(form))
        .await?;
    Ok(())
}

/// The reason submitted: stores the request and asks for the confirmation.
pub async fn on_submit(
    panel: &AdminPanel,
    http: &Arc<Http>,
    submit: &ModalInteraction,
    control: &ControlId,
) -> Result<(), Error> {
    if guard_control(panel, http, Needs::Developer, control, submit.into()).await? {
        return Ok(());
    }
    if control.action != REASON_FORM {
        return Err(UserError::new("That form is not part of this view.").into());
    }
    let guild = control.arg(0)?;
    let reason = checked_reason(&input_of_field(submit, REASON_FIELD))?;
    let target = requested(panel, guild, &reason, submit.user.id.get()).await?;
    confirm::ask_after_submit(panel, http, submit, question(&target)).await
}

/// Leaves once `by` confirmed request `request` (maybe in another process,
/// or after a restart). Answers within `ANSWER_WITHIN`: a slower Discord
/// gets the leave finished, and logged, in the background.
pub async fn leave_confirmed(
    panel: &AdminPanel,
    http: &Arc<Http>,
    by: &User,
    request: i64,
) -> Result<String, Error> {
    let target = match forced_leaves::claim(&panel.pool, request, by.id.get()).await? {
        Claim::Go(target) => target,
        Claim::UnderWay => {
            return Ok("Another press is making the bot leave this server right now.".into());
        }
        Claim::Done { name } => {
            return Ok(format!(
                "The bot is not in {} any more: nothing to leave.",
                safe_name(&name)
            ));
        }
        Claim::Unknown => {
            return Err(
                UserError::new("That request is not known; run /admin leave again.").into(),
            );
        }
    };
    let mut leaving = tokio::spawn(leave_now(
        panel.clone(),
        http.clone(),
        by.clone(),
        target.clone(),
    ));
    let name = safe_name(&target.name);
    match tokio::time::timeout(ANSWER_WITHIN, &mut leaving).await {
        Ok(Ok(Ok(()))) => Ok(format!(
            "The bot left {name} ({}, {} members). The server list follows as Discord confirms it.",
            target.guild_id,
            thousands(i64::from(target.member_count))
        )),
        Ok(Ok(Err(error))) => Err(error),
        Ok(Err(panicked)) => Err(panicked.into()),
        Err(_) => {
            tokio::spawn(report_late_failure(leaving));
            Ok(format!(
                "Discord has not answered yet: the bot leaves {name} ({}) as soon as it does, and the log says so.",
                target.guild_id
            ))
        }
    }
}

/// Logs a leave that failed after its press was answered (nobody else hears
/// of it).
async fn report_late_failure(leaving: tokio::task::JoinHandle<Result<(), Error>>) {
    match leaving.await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            tracing::warn!(error = %cause_chain(error.as_ref()), "a confirmed leave failed after its answer");
        }
        Err(panicked) => {
            tracing::error!(error = %panicked, "a confirmed leave panicked after its answer");
        }
    }
}

/// Asks Discord to take the bot out of the server, then records it; on a
/// refusal the request is released so the question can be answered again.
async fn leave_now(
    panel: AdminPanel,
    http: Arc<Http>,
    by: User,
    target: LeaveTarget,
) -> Result<(), Error> {
    let message = format!(
        "Left server {} ({}, {} members) at the request of {}: {}",
        target.name,
        target.guild_id,
        target.member_count,
        confirm::who(&by),
        target.reason
    );
    let left = leave_and_log(
        &panel.pool,
        &http,
        &panel.discord_guard,
        target.guild_id,
        &message,
    )
    .await;
    if let Err(error) = left {
        if let Err(release) = forced_leaves::release(&panel.pool, target.id).await {
            tracing::warn!(error = %cause_chain(&release), "could not release a leave request");
        }
        if is_unknown_guild(&error) {
            return Err(UserError::new(format!(
                "Discord says the bot is not in {} ({}): nothing to leave.",
                safe_name(&target.name),
                target.guild_id
            ))
            .into());
        }
        return Err(error.into());
    }
    forced_leaves::finish(&panel.pool, target.id).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_is_trimmed_and_bounded() {
        assert_eq!(checked_reason("  spam  ").unwrap(), "spam");
        assert!(checked_reason("   ").is_err());
        assert!(checked_reason(&"x".repeat(MAX_REASON_CHARS + 1)).is_err());
        assert!(checked_reason(&"é".repeat(MAX_REASON_CHARS)).is_ok());
    }

    #[test]
    fn a_name_cannot_mention_or_format() {
        let safe = safe_name("**@everyone** `x`");
        assert!(!safe.contains("@everyone"), "{safe}");
        assert!(safe.starts_with("**") && safe.ends_with("**"), "{safe}");
    }
}
