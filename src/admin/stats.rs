//! `/admin stats`: servers, users, commands in the last 24 h, uptime and restarts.

use chrono::Utc;
use poise::CreateReply;

use super::Context;
use crate::error::Error;
use crate::panel::{AdminPanel, HasAdminPanel};
use crate::store::{command_stats, guilds, instances};
use crate::ui::stats::{GlobalStats, render};

/// Global statistics: servers, users, commands (24 h), uptime, last restart.
#[poise::command(slash_command, ephemeral)]
pub async fn stats<U: HasAdminPanel>(ctx: Context<'_, U>) -> Result<(), Error> {
    let stats = gather(ctx.data().admin_panel()).await?;
    ctx.send(CreateReply::default().embed(render(&stats)).ephemeral(true))
        .await?;
    Ok(())
}

/// Runs the view's queries concurrently (each is an index or rollup lookup).
pub async fn gather(panel: &AdminPanel) -> Result<GlobalStats, sqlx::Error> {
    let now = Utc::now();
    let pool = &panel.pool;
    let (active_guilds, unique_users, commands_24h, last_restart) = tokio::try_join!(
        guilds::count_active(pool),
        command_stats::unique_users(pool),
        command_stats::last_24h_by_command(pool, now),
        instances::last_restart(pool),
    )?;
    Ok(GlobalStats {
        active_guilds,
        unique_users,
        commands_24h,
        process_started_at: panel.started_at,
        last_restart,
        now,
    })
}
