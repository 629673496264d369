//! The facts [`super::permissions_in`] needs, read from serenity's models
//! (what `GET /guilds/{id}`, `GET /guilds/{id}/members/{user}` and
//! `GET /channels/{id}` return, or what the gateway sends).

use chrono::{DateTime, Utc};
use serenity::all::{ChannelType, GuildChannel, Member, PartialGuild, PermissionOverwriteType};

use super::{ChannelFacts, ChannelKind, MemberFacts, Overwrite, OverwriteTarget};

/// The bot as `member` of `guild`.
pub fn member_facts(guild: &PartialGuild, member: &Member) -> MemberFacts {
    let everyone = guild
        .roles
        .get(&serenity::all::RoleId::new(guild.id.get()))
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
        timed_out_until: member
            .communication_disabled_until
            .and_then(|until| DateTime::<Utc>::from_timestamp(until.unix_timestamp(), 0)),
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
            .map(|overwrite| Overwrite {
                target: match overwrite.kind {
                    PermissionOverwriteType::Member(user) => OverwriteTarget::Member(user.get()),
                    PermissionOverwriteType::Role(role) => OverwriteTarget::Role(role.get()),
                    _ => OverwriteTarget::Role(0),
                },
                allow: overwrite.allow,
                deny: overwrite.deny,
            })
            .collect(),
    }
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
