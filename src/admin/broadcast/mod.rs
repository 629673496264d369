//! `/admin broadcast ...`: compose, history, report and cancel.

pub mod cancel;
pub mod compose;
mod form;
pub mod history;
mod preview;
pub mod report;

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
        "cancel::cancel"
    ),
    subcommand_required
)]
pub async fn broadcast<U: HasAdminPanel>(_ctx: Context<'_, U>) -> Result<(), Error> {
    // Never runs: `subcommand_required` makes poise dispatch to a subcommand.
    Ok(())
}
