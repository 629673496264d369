//! The bot's permissions in one channel, computed the way Discord does (its
//! permissions documentation, "Permission Hierarchy" and "Implicit
//! Permissions"), from plain facts rather than serenity's cached models, so
//! the same function serves a fresh `GET` and a stored snapshot.
//!
//! serenity 0.12.5's `user_permissions_in` stops after the overwrites; this
//! also applies what Discord does next: no View Channel denies everything,
//! no Send Messages denies Embed Links, Attach Files, Mention Everyone and
//! Send TTS, a thread takes its parent's overwrites and is posted in with
//! Send Messages in Threads, forum and media channels take no messages, and
//! a member in timeout keeps only View Channel and Read Message History.

use chrono::{DateTime, Utc};
use serenity::all::Permissions;

mod from_serenity;
pub mod snapshot;
#[cfg(test)]
mod tests;
pub mod watched;

pub use from_serenity::{
    bot_member_of, channel_facts, channel_snapshot, fetched_server_permissions, kind_of,
    member_facts, server_permissions, server_update,
};

/// Who the bot is in one server: what decides its base permissions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberFacts {
    /// The server (also the id of its @everyone role).
    pub guild_id: u64,
    /// The server's owner.
    pub owner_id: u64,
    /// The bot's user id.
    pub user_id: u64,
    /// The @everyone role's permissions.
    pub everyone: Permissions,
    /// The bot's roles (not @everyone) and their permissions.
    pub roles: Vec<(u64, Permissions)>,
    /// Until when the bot is in timeout, if it is.
    pub timed_out_until: Option<DateTime<Utc>>,
}

/// One permission overwrite of a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overwrite {
    /// Whose: a role (the server's id for @everyone) or a member.
    pub target: OverwriteTarget,
    /// What it grants.
    pub allow: Permissions,
    /// What it takes away.
    pub deny: Permissions,
}

/// Whom an overwrite is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverwriteTarget {
    /// A role; the server's own id is @everyone.
    Role(u64),
    /// One member.
    Member(u64),
}

/// What kind of channel a message would go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelKind {
    /// Takes messages with Send Messages: text, announcement, voice and
    /// stage channels (the last two through their text chat).
    Messages,
    /// A thread: the parent's overwrites, and Send Messages in Threads.
    Thread,
    /// Forum and media channels (only posts, which are threads), categories
    /// and directories: no message can be sent to them.
    NoMessages,
}

/// The channel a request goes to, with what its permissions come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelFacts {
    /// The channel.
    pub id: u64,
    /// What kind of channel it is.
    pub kind: ChannelKind,
    /// Its overwrites; for a thread, those of its parent channel.
    pub overwrites: Vec<Overwrite>,
}

/// What a request needs, as Discord names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Posting a message with an embed (a broadcast).
    PostEmbed,
    /// Editing or deleting the bot's own message: seeing the channel.
    SeeChannel,
}

/// The bot's permissions in `channel` at `now`.
pub fn permissions_in(
    member: &MemberFacts,
    channel: &ChannelFacts,
    now: DateTime<Utc>,
) -> Permissions {
    let base = base_permissions(member);
    if base.contains(Permissions::ADMINISTRATOR) {
        return Permissions::all();
    }
    let mut permissions = with_overwrites(base, member, &channel.overwrites);
    if !permissions.contains(Permissions::VIEW_CHANNEL) {
        return Permissions::empty();
    }
    let sending = match channel.kind {
        ChannelKind::Thread => Permissions::SEND_MESSAGES_IN_THREADS,
        ChannelKind::Messages | ChannelKind::NoMessages => Permissions::SEND_MESSAGES,
    };
    if !permissions.contains(sending) {
        permissions.remove(
            Permissions::EMBED_LINKS
                | Permissions::ATTACH_FILES
                | Permissions::MENTION_EVERYONE
                | Permissions::SEND_TTS_MESSAGES,
        );
    }
    if member.timed_out_until.is_some_and(|until| until > now) {
        permissions &= Permissions::VIEW_CHANNEL | Permissions::READ_MESSAGE_HISTORY;
    }
    permissions
}

/// What to grant the bot in `channel` for `need`, with Discord's names;
/// empty when it may go ahead. Only what is not granted is named: a
/// permission taken away implicitly (Embed Links without Send Messages)
/// comes back with the one named. A permission granted but taken by a
/// timeout is named with "(the bot is in timeout)". A channel that takes
/// no messages lacks "a channel that takes messages".
pub fn missing(
    member: &MemberFacts,
    channel: &ChannelFacts,
    need: Need,
    now: DateTime<Utc>,
) -> Vec<String> {
    if need == Need::PostEmbed && channel.kind == ChannelKind::NoMessages {
        return vec!["a channel that takes messages".to_owned()];
    }
    let has = permissions_in(member, channel, now);
    let base = base_permissions(member);
    let granted = if base.contains(Permissions::ADMINISTRATOR) {
        Permissions::all()
    } else {
        with_overwrites(base, member, &channel.overwrites)
    };
    let timed_out = member.timed_out_until.is_some_and(|until| until > now);
    let sending = match channel.kind {
        ChannelKind::Thread => (
            Permissions::SEND_MESSAGES_IN_THREADS,
            "Send Messages in Threads",
        ),
        ChannelKind::Messages | ChannelKind::NoMessages => {
            (Permissions::SEND_MESSAGES, "Send Messages")
        }
    };
    let needed: &[(Permissions, &'static str)] = match need {
        Need::PostEmbed => &[
            (Permissions::VIEW_CHANNEL, "View Channel"),
            sending,
            (Permissions::EMBED_LINKS, "Embed Links"),
        ],
        Need::SeeChannel => &[(Permissions::VIEW_CHANNEL, "View Channel")],
    };
    needed
        .iter()
        .filter(|(permission, _)| !has.contains(*permission))
        .filter_map(|(permission, name)| {
            if !granted.contains(*permission) {
                Some((*name).to_owned())
            } else if timed_out {
                Some(format!("{name} (the bot is in timeout)"))
            } else {
                None
            }
        })
        .collect()
}

/// The server-wide permissions: everything for the owner or an
/// administrator, else @everyone's and the bot's roles' together.
fn base_permissions(member: &MemberFacts) -> Permissions {
    if member.user_id == member.owner_id {
        return Permissions::all();
    }
    let permissions = member
        .roles
        .iter()
        .fold(member.everyone, |permissions, (_, role)| {
            permissions | *role
        });
    if permissions.contains(Permissions::ADMINISTRATOR) {
        Permissions::all()
    } else {
        permissions
    }
}

/// The channel's overwrites in Discord's order: @everyone's, then every
/// role of the bot's at once (all denies, then all allows), then the bot's
/// own.
fn with_overwrites(
    base: Permissions,
    member: &MemberFacts,
    overwrites: &[Overwrite],
) -> Permissions {
    let mut permissions = base;
    if let Some(everyone) = overwrites
        .iter()
        .find(|o| o.target == OverwriteTarget::Role(member.guild_id))
    {
        permissions.remove(everyone.deny);
        permissions.insert(everyone.allow);
    }
    let (mut allow, mut deny) = (Permissions::empty(), Permissions::empty());
    for overwrite in overwrites {
        if let OverwriteTarget::Role(role) = overwrite.target
            && role != member.guild_id
            && member.roles.iter().any(|(id, _)| *id == role)
        {
            allow.insert(overwrite.allow);
            deny.insert(overwrite.deny);
        }
    }
    permissions.remove(deny);
    permissions.insert(allow);
    if let Some(own) = overwrites
        .iter()
        .find(|o| o.target == OverwriteTarget::Member(member.user_id))
    {
        permissions.remove(own.deny);
        permissions.insert(own.allow);
    }
    permissions
}
