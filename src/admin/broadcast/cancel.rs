//! `/admin broadcast cancel id:<n>`: with a confirm button. A scheduled
//! broadcast never goes out; a sending one stops (pending deliveries become
//! cancelled, sent ones stay).

use super::super::Context;
use super::super::confirm::{self, Question, Subject};
use crate::error::{Error, UserError};
use crate::panel::{AdminPanel, HasAdminPanel};
use crate::store::broadcasts::{self, Cancelled};
use serenity::all::User;

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
    if !broadcast.status.cancellable() {
        return Err(UserError::new(format!(
            "Broadcast #{id} is already {}: there is nothing to cancel.",
            broadcast.status
        ))
        .into());
    }
    let question = Question {
        subject: Subject::CancelBroadcast(id),
        text: format!(
            "Cancel broadcast #{id} \"{}\" ({})?",
            crate::ui::text::truncate(&broadcast.message.title, 100),
            broadcast.status
        ),
        confirm: "Cancel the broadcast",
        decline: "Keep it",
    };
    confirm::ask(ctx, question).await
}

/// Cancels broadcast `id` once `by` confirmed it (through the router).
pub async fn cancel_confirmed(panel: &AdminPanel, by: &User, id: i64) -> Result<String, Error> {
    Ok(
        match broadcasts::cancel(&panel.pool, id, by.id.get()).await? {
            Cancelled::BeforeSending => {
                format!("Broadcast #{id} is cancelled: it will not be sent.")
            }
            Cancelled::WhileSending(stopped) => format!(
                "Broadcast #{id} is stopped: {stopped} pending deliveries were cancelled; messages already sent stay."
            ),
            Cancelled::Nothing => format!("Broadcast #{id} had already finished: nothing changed."),
        },
    )
}
