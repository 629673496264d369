//! The facts [`super::permissions_in`] needs, read from serenity's models
//! (what `GET /guilds/{id}`, `GET /guilds/{id}/members/{user}` and
//! `GET /channels/{id}` return, or what the gateway sends).

use chrono::{DateTime, Utc};
use std::collections::HashMap;

use serenity::all::{
    ChannelType, Guild, GuildChannel, Member, PartialGuild, PermissionOverwrite,
    PermissionOverwriteType, Role, RoleId, Timestamp, UserId,
};

use super::snapshot::{
    BotMember, ChannelSnapshot, ServerEvent, ServerPermissions, keep, relevant_overwrites,
    relevant_roles,
};
use super::{ChannelFacts, ChannelKind, MemberFacts, Overwrite, OverwriteTarget};

/// The bot as `member` of `guild`.
pub fn member_facts(guild: &PartialGuild, member: &Member) -> MemberFacts {
    let everyone = guild
        .roles
        .get(&RoleId::new(guild.id.get()))
        .map(|role| role.permissions)
        .unwrap_or_default();
    let roles = member
        .roles
        .iter()
        .map(|id| {
            let permissions = guild
                .roles
                .get(id)
                .map(|role| role.permissions)
                .unwrap_or_default();
            (id.get(), permissions)
        })
        .collect();
    MemberFacts {
        guild_id: guild.id.get(),
        owner_id: guild.owner_id.get(),
        user_id: member.user.id.get(),
        everyone,
        roles,
        timed_out_until: member.communication_disabled_until.and_then(to_utc),
    }
}

/// `channel`; a thread takes the overwrites of `parent`, its channel.
pub fn channel_facts(channel: &GuildChannel, parent: Option<&GuildChannel>) -> ChannelFacts {
    let kind = kind_of(channel.kind);
    let overwrites_of = match (kind, parent) {
        (ChannelKind::Thread, Some(parent)) => parent,
        _ => channel,
    };
    ChannelFacts {
        id: channel.id.get(),
        kind,
        overwrites: overwrites_of
            .permission_overwrites
            .iter()
            .map(overwrite)
            .collect(),
    }
}

fn overwrite(overwrite: &PermissionOverwrite) -> Overwrite {
    Overwrite {
        target: match overwrite.kind {
            PermissionOverwriteType::Member(user) => OverwriteTarget::Member(user.get()),
            PermissionOverwriteType::Role(role) => OverwriteTarget::Role(role.get()),
            _ => OverwriteTarget::Role(0),
        },
        allow: overwrite.allow,
        deny: overwrite.deny,
    }
}

/// The server-wide facts GUILD_CREATE carries, the bot (`bot_id`) included:
/// Discord always sends the bot's own member, even without the
/// GUILD_MEMBERS intent.
pub fn server_permissions(guild: &Guild, bot_id: UserId) -> ServerPermissions {
    ServerPermissions {
        owner_id: guild.owner_id.get(),
        everyone: everyone_of(guild.id.get(), &guild.roles),
        roles: relevant_roles(guild.id.get(), role_list(&guild.roles)),
        bot: guild.members.get(&bot_id).map(bot_member_of),
    }
}

/// The server-wide facts from `GET /guilds/{id}` and the bot's `member`.
pub fn fetched_server_permissions(guild: &PartialGuild, member: &Member) -> ServerPermissions {
    ServerPermissions {
        owner_id: guild.owner_id.get(),
        everyone: everyone_of(guild.id.get(), &guild.roles),
        roles: relevant_roles(guild.id.get(), role_list(&guild.roles)),
        bot: Some(bot_member_of(member)),
    }
}

/// What GUILD_UPDATE says of the permissions: the owner and every role.
pub fn server_update(guild: &PartialGuild) -> ServerEvent {
    ServerEvent::Updated {
        owner_id: guild.owner_id.get(),
        everyone: everyone_of(guild.id.get(), &guild.roles),
        roles: role_list(&guild.roles).collect(),
    }
}

/// The bot's roles and timeout.
pub fn bot_member_of(member: &Member) -> BotMember {
    BotMember {
        user_id: member.user.id.get(),
        roles: member.roles.iter().map(|role| role.get()).collect(),
        timed_out_until: member.communication_disabled_until.and_then(to_utc),
    }
}

/// `channel` as the snapshot keeps it (its own overwrites; a thread's
/// come from its parent's snapshot).
pub fn channel_snapshot(channel: &GuildChannel) -> ChannelSnapshot {
    ChannelSnapshot {
        id: channel.id.get(),
        guild_id: channel.guild_id.get(),
        name: channel.name.clone(),
        kind: kind_of(channel.kind),
        parent_id: channel.parent_id.map(|parent| parent.get()),
        overwrites: relevant_overwrites(channel.permission_overwrites.iter().map(overwrite)),
    }
}

fn everyone_of(guild_id: u64, roles: &HashMap<RoleId, Role>) -> serenity::all::Permissions {
    roles
        .get(&RoleId::new(guild_id))
        .map(|role| keep(role.permissions))
        .unwrap_or_default()
}

fn role_list(
    roles: &HashMap<RoleId, Role>,
) -> impl Iterator<Item = (u64, serenity::all::Permissions)> + '_ {
    roles.iter().map(|(id, role)| (id.get(), role.permissions))
}

fn to_utc(timestamp: Timestamp) -> Option<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp(timestamp.unix_timestamp(), 0)
}

/// What a channel of `kind` takes: messages, thread messages, or none.
pub fn kind_of(kind: ChannelType) -> ChannelKind {
    match kind {
        ChannelType::Text | ChannelType::News | ChannelType::Voice | ChannelType::Stage => {
            ChannelKind::Messages
        }
        ChannelType::PublicThread | ChannelType::PrivateThread | ChannelType::NewsThread => {
            ChannelKind::Thread
        }
        _ => ChannelKind::NoMessages,
    }
}
