//! Gateway events the panel listens to: guild joins, updates and removals keep
//! the `guilds` table current (the process answering `/admin` may not have the
//! guild in its cache; they are queued and written in batches, see
//! [`crate::telemetry::guild_events`]), role, channel and the bot's own member
//! updates keep the permission snapshot current
//! ([`crate::permissions::snapshot`]), and Ready tells which shards this
//! process runs and which servers removed the bot while it was offline.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serenity::all::{ChannelId, FullEvent, Guild, GuildChannel, GuildId, Timestamp};

use crate::error::Error;
use crate::panel::{AdminPanel, HasAdminPanel};
use crate::permissions::snapshot::{BotMember, ChannelSnapshot, ServerEvent};
use crate::permissions::{self, ChannelKind};
use crate::store::guilds::{self, GuildSnapshot};
use crate::store::instances;
use crate::store::logs::{self, NewLogEntry, Severity};
use crate::store::settings;
use crate::telemetry::guild_events::GuildEvent;

/// The poise `event_handler` a host bot installs (or chains from its own).
pub async fn handle_event<U: HasAdminPanel>(
    framework: poise::FrameworkContext<'_, U, Error>,
    event: &FullEvent,
) -> Result<(), Error> {
    let panel = framework.user_data.admin_panel();
    match event {
        FullEvent::GuildCreate { guild, .. } => {
            let watched = panel.watched_channels.of(guild.id.get());
            let (channels, gone) = kept_channels(guild, watched);
            let snapshot = GuildSnapshot {
                id: guild.id.get(),
                name: guild.name.clone(),
                icon_hash: guild.icon.map(|hash| hash.to_string()),
                member_count: guild.member_count,
                joined_at: to_utc(guild.joined_at),
                permissions: Some(permissions::server_permissions(guild, framework.bot_id())),
                channels,
            };
            panel.guild_events.push(GuildEvent::Created(snapshot)).await;
            if let Some(channel) = gone {
                let guild = guild.id.get();
                let event = GuildEvent::ChannelDeleted { guild, channel };
                panel.guild_events.push(event).await;
            }
        }
        FullEvent::GuildUpdate { new_data, .. } => {
            let event = GuildEvent::Renamed {
                id: new_data.id.get(),
                name: new_data.name.clone(),
                icon_hash: new_data.icon.map(|hash| hash.to_string()),
            };
            panel.guild_events.push(event).await;
            let event = permissions::server_update(new_data);
            push_permissions(panel, new_data.id, event).await;
        }
        FullEvent::GuildRoleCreate { new } | FullEvent::GuildRoleUpdate { new, .. } => {
            let event = ServerEvent::RoleSet {
                role: new.id.get(),
                permissions: new.permissions,
            };
            push_permissions(panel, new.guild_id, event).await;
        }
        FullEvent::GuildRoleDelete {
            guild_id,
            removed_role_id,
            ..
        } => {
            let event = ServerEvent::RoleRemoved(removed_role_id.get());
            push_permissions(panel, *guild_id, event).await;
        }
        // Discord sends the bot's own member updates without the
        // GUILD_MEMBERS intent (its gateway page, "Caveats").
        FullEvent::GuildMemberUpdate { event, .. } if event.user.id == framework.bot_id() => {
            tracing::info!(guild = %event.guild_id, roles = event.roles.len(), timed_out = event.communication_disabled_until.is_some(), "the bot's member changed");
            let member = BotMember {
                user_id: event.user.id.get(),
                roles: event.roles.iter().map(|role| role.get()).collect(),
                timed_out_until: event
                    .communication_disabled_until
                    .map(to_utc)
                    .filter(|until| *until > Utc::now()),
            };
            push_permissions(panel, event.guild_id, ServerEvent::Member(member)).await;
        }
        FullEvent::ChannelUpdate { new, .. } | FullEvent::ThreadUpdate { new, .. } => {
            let event = GuildEvent::ChannelChanged(permissions::channel_snapshot(new));
            panel.guild_events.push(event).await;
        }
        FullEvent::ChannelDelete { channel, .. } => {
            let event = GuildEvent::ChannelDeleted {
                guild: channel.guild_id.get(),
                channel: channel.id.get(),
            };
            panel.guild_events.push(event).await;
        }
        FullEvent::ThreadDelete { thread, .. } => {
            let event = GuildEvent::ChannelDeleted {
                guild: thread.guild_id.get(),
                channel: thread.id.get(),
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
            // A fresh IDENTIFY resends every GUILD_CREATE: the channels to
            // keep may have been set by another process since the last read.
            if panel.watched_channels.older_than(WATCHED_REFRESH) {
                let channels = settings::broadcast_channels(&panel.background_pool).await?;
                panel.watched_channels.replace(channels);
            }
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

/// Shards that become ready within this long share one read of the
/// broadcast channels.
const WATCHED_REFRESH: Duration = Duration::from_secs(30);

async fn push_permissions(panel: &AdminPanel, guild: GuildId, event: ServerEvent) {
    let guild = guild.get();
    panel
        .guild_events
        .push(GuildEvent::Permissions { guild, event })
        .await;
}

/// The snapshots of the channels the panel posts in: the broadcast channel
/// `watched` (a thread with its parent) and the system channel. Also the
/// broadcast channel if the server no longer has it (deleted while the bot
/// was away: no CHANNEL_DELETE will come).
fn kept_channels(guild: &Guild, watched: Option<u64>) -> (Vec<ChannelSnapshot>, Option<u64>) {
    let find = |id: u64| {
        let id = ChannelId::new(id);
        guild
            .channels
            .get(&id)
            .or_else(|| guild.threads.iter().find(|thread| thread.id == id))
    };
    let mut kept: Vec<ChannelSnapshot> = Vec::new();
    let mut keep = |channel: &GuildChannel| {
        if !kept.iter().any(|c| c.id == channel.id.get()) {
            kept.push(permissions::channel_snapshot(channel));
        }
    };
    let mut gone = None;
    if let Some(id) = watched {
        match find(id) {
            Some(channel) => {
                keep(channel);
                let thread = permissions::kind_of(channel.kind) == ChannelKind::Thread;
                if let Some(parent) = channel.parent_id.filter(|_| thread)
                    && let Some(parent) = find(parent.get())
                {
                    keep(parent);
                }
            }
            None => gone = Some(id),
        }
    }
    if let Some(system) = guild.system_channel_id.and_then(|id| find(id.get())) {
        keep(system);
    }
    (kept, gone)
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
