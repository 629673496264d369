//! Gateway events the panel listens to: guild joins, updates and removals keep
//! the `guilds` table current (the process answering `/admin` may not have the
//! guild in its cache; they are queued and written in batches, see
//! [`crate::telemetry::guild_events`]), and Ready tells which shards this
//! process runs and which servers removed the bot while it was offline.

use chrono::{DateTime, Utc};
use serenity::all::{FullEvent, Timestamp};

use crate::error::Error;
use crate::panel::{AdminPanel, HasAdminPanel};
use crate::store::guilds::{self, GuildSnapshot};
use crate::store::instances;
use crate::store::logs::{self, NewLogEntry, Severity};
use crate::telemetry::guild_events::GuildEvent;

/// The poise `event_handler` a host bot installs (or chains from its own).
pub async fn handle_event<U: HasAdminPanel>(
    framework: poise::FrameworkContext<'_, U, Error>,
    event: &FullEvent,
) -> Result<(), Error> {
    let panel = framework.user_data.admin_panel();
    match event {
        FullEvent::GuildCreate { guild, .. } => {
            let snapshot = GuildSnapshot {
                id: guild.id.get(),
                name: guild.name.clone(),
                icon_hash: guild.icon.map(|hash| hash.to_string()),
                member_count: guild.member_count,
                joined_at: to_utc(guild.joined_at),
            };
            panel.guild_events.push(GuildEvent::Created(snapshot)).await;
        }
        FullEvent::GuildUpdate { new_data, .. } => {
            let event = GuildEvent::Renamed {
                id: new_data.id.get(),
                name: new_data.name.clone(),
                icon_hash: new_data.icon.map(|hash| hash.to_string()),
            };
            panel.guild_events.push(event).await;
        }
        // `unavailable: true` is an outage, not a removal: keep the guild.
        FullEvent::GuildDelete { incomplete, .. } if !incomplete.unavailable => {
            panel
                .guild_events
                .push(GuildEvent::Left(incomplete.id.get()))
                .await;
        }
        FullEvent::Ready { data_about_bot } => {
            let (shard, total) = data_about_bot
                .shard
                .map_or((0, 1), |shard| (shard.id.0, shard.total));
            let present: Vec<u64> = data_about_bot.guilds.iter().map(|g| g.id.get()).collect();
            forget_servers_left_while_offline(panel, shard, total, &present).await?;
            // Last: a shard listed for this process has had its READY handled.
            instances::add_shard(&panel.pool, panel.instance_id, shard, total).await?;
        }
        _ => {}
    }
    Ok(())
}

/// READY lists every server of its shard; an active one missing from it
/// removed the bot while it was offline.
async fn forget_servers_left_while_offline(
    panel: &AdminPanel,
    shard: u32,
    total: u32,
    present: &[u64],
) -> Result<(), sqlx::Error> {
    let now = Utc::now();
    let left =
        guilds::mark_missing_as_left(&panel.background_pool, shard, total, present, now).await?;
    if left.is_empty() {
        return Ok(());
    }
    tracing::info!(
        shard,
        servers = left.len(),
        "servers removed the bot while it was offline"
    );
    let entries: Vec<NewLogEntry> = left
        .into_iter()
        .map(|guild_id| NewLogEntry {
            created_at: now,
            severity: Severity::Info,
            event_type: "guild_leave".to_owned(),
            guild_id: Some(guild_id),
            message: format!("Left server {guild_id} (removed while offline)"),
        })
        .collect();
    logs::insert_batch(&panel.background_pool, &entries).await
}

fn to_utc(timestamp: Timestamp) -> DateTime<Utc> {
    DateTime::from_timestamp(timestamp.unix_timestamp(), 0).unwrap_or_else(Utc::now)
}
