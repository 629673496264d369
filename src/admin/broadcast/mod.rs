//! `/admin broadcast ...`: compose, history, report, cancel, and edit or
//! recall what was delivered.

mod actions;
pub mod approval;
mod audience;
pub mod cancel;
pub mod compose;
pub mod followup;
pub(crate) mod form;
pub mod history;
mod preview;
pub mod report;

use serenity::all::{
    ComponentInteraction, CreateInteractionResponse, CreateInteractionResponseMessage, Http,
};

use super::Context;
use crate::error::Error;
use crate::panel::HasAdminPanel;

/// Messages to every server's broadcast channel.
#[poise::command(
    slash_command,
    subcommands(
        "compose::compose",
        "history::history",
        "report::report",
        "cancel::cancel",
        "followup::edit",
        "followup::recall",
        "approval::pending",
        "approval::review"
    ),
    subcommand_required
)]
pub async fn broadcast<U: HasAdminPanel>(_ctx: Context<'_, U>) -> Result<(), Error> {
    // Never runs: `subcommand_required` makes poise dispatch to a subcommand.
    Ok(())
}

/// Replaces the message a button sits on with `text`, its controls gone:
/// the step is done, and pressing again could only repeat it.
async fn conclude(http: &Http, press: &ComponentInteraction, text: String) -> Result<(), Error> {
    let update = CreateInteractionResponseMessage::new()
        .content(text)
        .components(vec![]);
    press
        .create_response(http, CreateInteractionResponse::UpdateMessage(update))
        .await?;
    Ok(())
}
