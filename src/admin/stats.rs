//! `/admin stats`: servers, users, commands in the last 24 h, uptime and
//! restarts, and how the last 24 h compare with the 24 h before.

use chrono::Utc;
use poise::CreateReply;

use super::Context;
use crate::error::Error;
use crate::panel::{AdminPanel, HasAdminPanel};
use crate::store::{command_stats, guilds, instances, trends};
use crate::ui::stats::{GlobalStats, render};

/// Global statistics: servers, users, commands (24 h), uptime, last restart.
#[poise::command(slash_command, ephemeral)]
pub async fn stats<U: HasAdminPanel>(ctx: Context<'_, U>) -> Result<(), Error> {
    let stats = gather(ctx.data().admin_panel()).await?;
    ctx.send(CreateReply::default().embed(render(&stats)).ephemeral(true))
        .await?;
    Ok(())
}

/// Runs the view's queries one after another on one connection: each is an
/// index or rollup lookup of a few milliseconds, and one connection per
/// command (not four) keeps the pool free for the next developer.
pub async fn gather(panel: &AdminPanel) -> Result<GlobalStats, sqlx::Error> {
    let now = Utc::now();
    let mut connection = panel.pool.acquire().await?;
    let active_guilds = guilds::count_active(&mut *connection).await?;
    let unique_users = command_stats::unique_users(&mut *connection).await?;
    let commands_24h = command_stats::last_24h_by_command(&mut connection, now).await?;
    let last_restart = instances::last_restart(&mut *connection).await?;
    let trend = trends::last_two_days(&mut connection, now).await?;
    Ok(GlobalStats {
        active_guilds,
        unique_users,
        commands_24h,
        process_started_at: panel.started_at,
        last_restart,
        now,
        trend,
        maintenance: panel.maintenance.scopes(),
    })
}
