//! The `/admin` command tree. One parent command whose developer check guards
//! every subcommand; one file per view.

pub mod alerts;
pub mod blocklist;
pub mod broadcast;
pub mod confirm;
pub mod developers;
pub mod guild_option;
pub mod health;
pub mod leave;
pub mod logs;
pub mod maintenance;
pub mod modules;
pub mod pager;
pub mod server;
pub mod server_reach;
pub mod servers;
pub mod stats;
pub mod usage;

use crate::access::developer_check;
use crate::error::Error;
use crate::panel::HasAdminPanel;

pub type Context<'a, U> = poise::Context<'a, U, Error>;

/// Developer-only administration of this bot.
#[poise::command(
    slash_command,
    check = "developer_check",
    subcommands(
        "stats::stats",
        "health::health",
        "servers::servers",
        "server::server",
        "leave::leave",
        "blocklist::blocklist",
        "maintenance::maintenance",
        "developers::developers",
        "usage::usage",
        "modules::modules",
        "logs::logs",
        "broadcast::broadcast",
        "alerts::alerts"
    ),
    subcommand_required,
    ephemeral
)]
pub async fn admin<U: HasAdminPanel>(_ctx: Context<'_, U>) -> Result<(), Error> {
    // Never runs: `subcommand_required` makes poise dispatch to a subcommand.
    Ok(())
}
