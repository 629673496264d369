//! What a gateway event says for the guild-event writer, read alike from
//! serenity's raw [`Event`] (a shard's collector, in the shard's order) and
//! from the [`FullEvent`] its handler gets: both name the same parts, so
//! one translation serves both and the collector's note matches the
//! handler's event ([`crate::telemetry::event_order`]).

use chrono::{DateTime, Utc};
use serenity::all::{
    ChannelId, Event, FullEvent, Guild, GuildChannel, GuildMemberUpdateEvent, PartialGuild,
    PartialGuildChannel, Role, Timestamp, UnavailableGuild, UserId,
};

use crate::permissions::snapshot::{BotMember, ChannelSnapshot, ServerEvent};
use crate::permissions::watched::WatchedChannels;
use crate::permissions::{self, ChannelKind};
use crate::store::guilds::GuildSnapshot;
use crate::telemetry::event_order::{EventKey, EventKind};
use crate::telemetry::guild_events::GuildEvent;

/// The parts of one guild event the panel reads.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    /// GUILD_CREATE.
    Created(&'a Guild),
    /// GUILD_UPDATE.
    Updated(&'a PartialGuild),
    /// GUILD_DELETE (an outage, `unavailable`, is not one).
    Deleted(&'a UnavailableGuild),
    /// GUILD_ROLE_CREATE or GUILD_ROLE_UPDATE.
    RoleSet(&'a Role),
    /// GUILD_ROLE_DELETE: the server and the role.
    RoleDeleted(u64, u64),
    /// GUILD_MEMBER_UPDATE for the bot itself.
    Member(&'a GuildMemberUpdateEvent),
    /// CHANNEL_UPDATE or THREAD_UPDATE.
    ChannelChanged(&'a GuildChannel),
    /// CHANNEL_DELETE.
    ChannelDeleted(&'a GuildChannel),
    /// THREAD_DELETE.
    ThreadDeleted(&'a PartialGuildChannel),
}

/// The guild event in a handler's `event`, if it is one.
pub fn from_full_event(event: &FullEvent, bot: UserId) -> Option<Source<'_>> {
    Some(match event {
        FullEvent::GuildCreate { guild, .. } => Source::Created(guild),
        FullEvent::GuildUpdate { new_data, .. } => Source::Updated(new_data),
        FullEvent::GuildDelete { incomplete, .. } if !incomplete.unavailable => {
            Source::Deleted(incomplete)
        }
        FullEvent::GuildRoleCreate { new } | FullEvent::GuildRoleUpdate { new, .. } => {
            Source::RoleSet(new)
        }
        FullEvent::GuildRoleDelete {
            guild_id,
            removed_role_id,
            ..
        } => Source::RoleDeleted(guild_id.get(), removed_role_id.get()),
        FullEvent::GuildMemberUpdate { event, .. } if event.user.id == bot => Source::Member(event),
        FullEvent::ChannelUpdate { new, .. } | FullEvent::ThreadUpdate { new, .. } => {
            Source::ChannelChanged(new)
        }
        FullEvent::ChannelDelete { channel, .. } => Source::ChannelDeleted(channel),
        FullEvent::ThreadDelete { thread, .. } => Source::ThreadDeleted(thread),
        _ => return None,
    })
}

/// The guild event in a shard's raw `event`, if it is one.
pub fn from_gateway_event(event: &Event, bot: UserId) -> Option<Source<'_>> {
    Some(match event {
        Event::GuildCreate(event) => Source::Created(&event.guild),
        Event::GuildUpdate(event) => Source::Updated(&event.guild),
        Event::GuildDelete(event) if !event.guild.unavailable => Source::Deleted(&event.guild),
        Event::GuildRoleCreate(event) => Source::RoleSet(&event.role),
        Event::GuildRoleUpdate(event) => Source::RoleSet(&event.role),
        Event::GuildRoleDelete(event) => {
            Source::RoleDeleted(event.guild_id.get(), event.role_id.get())
        }
        Event::GuildMemberUpdate(event) if event.user.id == bot => Source::Member(event),
        Event::ChannelUpdate(event) => Source::ChannelChanged(&event.channel),
        Event::ThreadUpdate(event) => Source::ChannelChanged(&event.thread),
        Event::ChannelDelete(event) => Source::ChannelDeleted(&event.channel),
        Event::ThreadDelete(event) => Source::ThreadDeleted(&event.thread),
        _ => return None,
    })
}

impl Source<'_> {
    /// What matches a collector's note to this event's handler.
    pub fn key(&self) -> EventKey {
        match self {
            Self::Created(guild) => (guild.id.get(), EventKind::Created, 0),
            Self::Updated(guild) => (guild.id.get(), EventKind::Updated, 0),
            Self::Deleted(guild) => (guild.id.get(), EventKind::Deleted, 0),
            Self::RoleSet(role) => (role.guild_id.get(), EventKind::RoleSet, role.id.get()),
            Self::RoleDeleted(guild, role) => (*guild, EventKind::RoleDeleted, *role),
            Self::Member(member) => (member.guild_id.get(), EventKind::Member, 0),
            Self::ChannelChanged(channel) => (
                channel.guild_id.get(),
                EventKind::ChannelChanged,
                channel.id.get(),
            ),
            Self::ChannelDeleted(channel) => (
                channel.guild_id.get(),
                EventKind::ChannelDeleted,
                channel.id.get(),
            ),
            Self::ThreadDeleted(thread) => (
                thread.guild_id.get(),
                EventKind::ChannelDeleted,
                thread.id.get(),
            ),
        }
    }

    /// The writer's events for it, in order.
    pub fn events(&self, bot: UserId, watched: &WatchedChannels) -> Vec<GuildEvent> {
        match self {
            Self::Created(guild) => {
                let (channels, gone) = kept_channels(guild, watched.of(guild.id.get()));
                let snapshot = GuildSnapshot {
                    id: guild.id.get(),
                    name: guild.name.clone(),
                    icon_hash: guild.icon.map(|hash| hash.to_string()),
                    member_count: guild.member_count,
                    joined_at: to_utc(guild.joined_at),
                    permissions: Some(permissions::server_permissions(guild, bot)),
                    channels,
                };
                let mut events = vec![GuildEvent::Created(snapshot)];
                if let Some(channel) = gone {
                    let guild = guild.id.get();
                    events.push(GuildEvent::ChannelDeleted { guild, channel });
                }
                events
            }
            Self::Updated(guild) => vec![
                GuildEvent::Renamed {
                    id: guild.id.get(),
                    name: guild.name.clone(),
                    icon_hash: guild.icon.map(|hash| hash.to_string()),
                },
                GuildEvent::Permissions {
                    guild: guild.id.get(),
                    event: permissions::server_update(guild),
                },
            ],
            Self::Deleted(guild) => vec![GuildEvent::Left(guild.id.get())],
            Self::RoleSet(role) => vec![GuildEvent::Permissions {
                guild: role.guild_id.get(),
                event: ServerEvent::RoleSet {
                    role: role.id.get(),
                    permissions: role.permissions,
                },
            }],
            Self::RoleDeleted(guild, role) => vec![GuildEvent::Permissions {
                guild: *guild,
                event: ServerEvent::RoleRemoved(*role),
            }],
            Self::Member(member) => {
                tracing::info!(guild = %member.guild_id, roles = member.roles.len(), timed_out = member.communication_disabled_until.is_some(), "the bot's member changed");
                let bot_member = BotMember {
                    user_id: member.user.id.get(),
                    roles: member.roles.iter().map(|role| role.get()).collect(),
                    timed_out_until: member
                        .communication_disabled_until
                        .map(to_utc)
                        .filter(|until| *until > Utc::now()),
                };
                vec![GuildEvent::Permissions {
                    guild: member.guild_id.get(),
                    event: ServerEvent::Member(bot_member),
                }]
            }
            Self::ChannelChanged(channel) => vec![GuildEvent::ChannelChanged(
                permissions::channel_snapshot(channel),
            )],
            Self::ChannelDeleted(channel) => vec![GuildEvent::ChannelDeleted {
                guild: channel.guild_id.get(),
                channel: channel.id.get(),
            }],
            Self::ThreadDeleted(thread) => vec![GuildEvent::ChannelDeleted {
                guild: thread.guild_id.get(),
                channel: thread.id.get(),
            }],
        }
    }
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

/// A Discord timestamp as chrono's (now if it cannot be one).
pub fn to_utc(timestamp: Timestamp) -> DateTime<Utc> {
    DateTime::from_timestamp(timestamp.unix_timestamp(), 0).unwrap_or_else(Utc::now)
}
