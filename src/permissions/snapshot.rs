//! A compact record of what decides the bot's permissions in a server, kept
//! current from gateway events with serenity's cache off. Only what the
//! panel's requests can need is kept: the permission bits of [`RELEVANT`],
//! the roles that grant one of them, and the overwrites of the channels the
//! panel posts in (not of every channel: a server has up to 500).

use chrono::{DateTime, Utc};
use serenity::all::Permissions;

use super::{ChannelFacts, ChannelKind, MemberFacts, Overwrite};

/// The bits a broadcast send, edit, recall or test send can need, and those
/// that decide them (administrator; read history survives a timeout).
pub const RELEVANT: Permissions = Permissions::ADMINISTRATOR
    .union(Permissions::VIEW_CHANNEL)
    .union(Permissions::SEND_MESSAGES)
    .union(Permissions::SEND_MESSAGES_IN_THREADS)
    .union(Permissions::EMBED_LINKS)
    .union(Permissions::READ_MESSAGE_HISTORY);

/// The server-wide facts: who owns it, what @everyone and each role grant,
/// and which roles the bot has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerPermissions {
    /// The server's owner.
    pub owner_id: u64,
    /// What @everyone grants (only [`RELEVANT`] bits).
    pub everyone: Permissions,
    /// Every other role granting a [`RELEVANT`] bit, with those bits; a role
    /// not listed grants none of them.
    pub roles: RolePermissions,
    /// The bot's own roles and timeout; `None` when its member was not sent
    /// (no snapshot: the bot then sends as it did before).
    pub bot: Option<BotMember>,
}

/// The bot's member in one server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotMember {
    /// The bot's user id (what a member overwrite for it names).
    pub user_id: u64,
    /// Its roles (not @everyone).
    pub roles: Vec<u64>,
    /// Until when it is in timeout, if it is.
    pub timed_out_until: Option<DateTime<Utc>>,
}

/// One channel the panel posts in, as the gateway last described it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelSnapshot {
    /// The channel.
    pub id: u64,
    /// Its server.
    pub guild_id: u64,
    /// Its name, for the reason a delivery was not sent ("in #news").
    pub name: String,
    /// What it takes.
    pub kind: ChannelKind,
    /// A thread's channel, whose overwrites apply to it.
    pub parent_id: Option<u64>,
    /// Its own overwrites that touch a [`RELEVANT`] bit, with only those bits.
    pub overwrites: Vec<Overwrite>,
}

/// What a gateway event changes of a server's facts, applied in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEvent {
    /// GUILD_UPDATE: the owner and every role (@everyone's included).
    Updated {
        /// The owner.
        owner_id: u64,
        /// @everyone's permissions.
        everyone: Permissions,
        /// Every other role.
        roles: Vec<(u64, Permissions)>,
    },
    /// GUILD_ROLE_CREATE or GUILD_ROLE_UPDATE (the role may be @everyone).
    RoleSet {
        /// The role.
        role: u64,
        /// What it grants now.
        permissions: Permissions,
    },
    /// GUILD_ROLE_DELETE.
    RoleRemoved(u64),
    /// GUILD_MEMBER_UPDATE for the bot itself.
    Member(BotMember),
}

/// Several [`ServerEvent`]s of one server folded into one change, applied as
/// "replace the roles, then set some, then remove some": a later event wins,
/// so the parts can be written by separate statements in that fixed order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerChange {
    /// A new owner.
    pub owner_id: Option<u64>,
    /// New @everyone permissions.
    pub everyone: Option<Permissions>,
    /// Every role, replacing the stored ones.
    pub roles_replaced: Option<RolePermissions>,
    /// Roles granting something now (after the replacement).
    pub roles_set: RolePermissions,
    /// Roles that grant nothing relevant now or are gone (after the rest).
    pub roles_removed: Vec<u64>,
    /// The bot's member.
    pub bot: Option<BotMember>,
}

impl ServerChange {
    /// Folds in `event` of server `guild_id` (whose id is @everyone's).
    pub fn note(&mut self, guild_id: u64, event: ServerEvent) {
        match event {
            ServerEvent::Updated {
                owner_id,
                everyone,
                roles,
            } => {
                self.owner_id = Some(owner_id);
                self.everyone = Some(keep(everyone));
                self.roles_replaced = Some(relevant_roles(guild_id, roles));
                self.roles_set.clear();
                self.roles_removed.clear();
            }
            ServerEvent::RoleSet { role, permissions } if role == guild_id => {
                self.everyone = Some(keep(permissions));
            }
            ServerEvent::RoleSet { role, permissions } if keep(permissions).is_empty() => {
                self.note(guild_id, ServerEvent::RoleRemoved(role));
            }
            ServerEvent::RoleSet { role, permissions } => match self.roles_replaced.as_mut() {
                Some(roles) => {
                    roles.insert(role, keep(permissions));
                }
                None => {
                    self.roles_removed.retain(|removed| *removed != role);
                    self.roles_set.insert(role, keep(permissions));
                }
            },
            ServerEvent::RoleRemoved(role) => match self.roles_replaced.as_mut() {
                Some(roles) => {
                    roles.remove(&role);
                }
                None => {
                    self.roles_set.remove(&role);
                    if !self.roles_removed.contains(&role) {
                        self.roles_removed.push(role);
                    }
                }
            },
            ServerEvent::Member(member) => self.bot = Some(member),
        }
    }

    /// The facts after this change.
    pub fn apply_to(&self, server: &mut ServerPermissions) {
        if let Some(owner_id) = self.owner_id {
            server.owner_id = owner_id;
        }
        if let Some(everyone) = self.everyone {
            server.everyone = everyone;
        }
        if let Some(roles) = &self.roles_replaced {
            server.roles.clone_from(roles);
        }
        server.roles.extend(self.roles_set.iter());
        for role in &self.roles_removed {
            server.roles.remove(role);
        }
        if let Some(bot) = &self.bot {
            server.bot = Some(bot.clone());
        }
    }
}

/// Only the bits the panel's requests depend on.
pub fn keep(permissions: Permissions) -> Permissions {
    permissions & RELEVANT
}

/// Roles and what they grant, sorted by id. A vector, not a map: a restart
/// holds one per server in the guild-event queue, and a map's node takes
/// about 200 bytes for even one role where this takes 16 a role.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RolePermissions(Vec<(u64, Permissions)>);

impl RolePermissions {
    /// What `role` grants, if it is listed.
    pub fn get(&self, role: &u64) -> Option<&Permissions> {
        self.position(*role).ok().map(|at| &self.0[at].1)
    }

    /// Whether `role` is listed.
    pub fn contains_key(&self, role: &u64) -> bool {
        self.position(*role).is_ok()
    }

    /// Lists `role` with `permissions` (replacing what it had).
    pub fn insert(&mut self, role: u64, permissions: Permissions) {
        match self.position(role) {
            Ok(at) => self.0[at].1 = permissions,
            Err(at) => self.0.insert(at, (role, permissions)),
        }
    }

    /// Leaves `role` out.
    pub fn remove(&mut self, role: &u64) {
        if let Ok(at) = self.position(*role) {
            self.0.remove(at);
        }
    }

    /// Every role listed, by id.
    pub fn iter(&self) -> impl Iterator<Item = (u64, Permissions)> + '_ {
        self.0.iter().copied()
    }

    /// Whether none is listed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Empties the list.
    pub fn clear(&mut self) {
        self.0.clear();
    }

    fn position(&self, role: u64) -> Result<usize, usize> {
        self.0.binary_search_by_key(&role, |(id, _)| *id)
    }
}

impl FromIterator<(u64, Permissions)> for RolePermissions {
    fn from_iter<I: IntoIterator<Item = (u64, Permissions)>>(roles: I) -> Self {
        let mut list = Self::default();
        list.extend(roles);
        list.0.shrink_to_fit();
        list
    }
}

impl Extend<(u64, Permissions)> for RolePermissions {
    fn extend<I: IntoIterator<Item = (u64, Permissions)>>(&mut self, roles: I) {
        for (role, permissions) in roles {
            self.insert(role, permissions);
        }
    }
}

/// The roles other than @everyone that grant a [`RELEVANT`] bit.
pub fn relevant_roles(
    guild_id: u64,
    roles: impl IntoIterator<Item = (u64, Permissions)>,
) -> RolePermissions {
    roles
        .into_iter()
        .filter(|(id, _)| *id != guild_id)
        .map(|(id, permissions)| (id, keep(permissions)))
        .filter(|(_, permissions)| !permissions.is_empty())
        .collect()
}

/// The overwrites that touch a [`RELEVANT`] bit, with only those bits.
pub fn relevant_overwrites(overwrites: impl IntoIterator<Item = Overwrite>) -> Vec<Overwrite> {
    overwrites
        .into_iter()
        .map(|overwrite| Overwrite {
            allow: keep(overwrite.allow),
            deny: keep(overwrite.deny),
            ..overwrite
        })
        .filter(|overwrite| !(overwrite.allow | overwrite.deny).is_empty())
        .collect()
}

/// The bot as [`super::permissions_in`] takes it; `None` without its member.
pub fn member_of(server: &ServerPermissions, guild_id: u64) -> Option<MemberFacts> {
    let bot = server.bot.as_ref()?;
    Some(MemberFacts {
        guild_id,
        owner_id: server.owner_id,
        user_id: bot.user_id,
        everyone: server.everyone,
        roles: bot
            .roles
            .iter()
            .map(|role| (*role, server.roles.get(role).copied().unwrap_or_default()))
            .collect(),
        timed_out_until: bot.timed_out_until,
    })
}

/// `channel` as [`super::permissions_in`] takes it: a thread with the
/// overwrites of `parent`, its channel.
pub fn facts_of(channel: &ChannelSnapshot, parent: Option<&ChannelSnapshot>) -> ChannelFacts {
    let overwrites = match (channel.kind, parent) {
        (ChannelKind::Thread, Some(parent)) => parent.overwrites.clone(),
        _ => channel.overwrites.clone(),
    };
    ChannelFacts {
        id: channel.id,
        kind: channel.kind,
        overwrites,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::permissions::{Need, OverwriteTarget, missing};

    const GUILD: u64 = 10;
    const BOT: u64 = 99;
    const BOT_ROLE: u64 = 11;
    const OTHER_ROLE: u64 = 12;

    fn server() -> ServerPermissions {
        ServerPermissions {
            owner_id: 1,
            everyone: Permissions::VIEW_CHANNEL,
            roles: relevant_roles(
                GUILD,
                [(
                    BOT_ROLE,
                    Permissions::SEND_MESSAGES | Permissions::EMBED_LINKS,
                )],
            ),
            bot: Some(BotMember {
                user_id: BOT,
                roles: vec![BOT_ROLE],
                timed_out_until: None,
            }),
        }
    }

    fn text(id: u64, overwrites: Vec<Overwrite>) -> ChannelSnapshot {
        ChannelSnapshot {
            id,
            guild_id: GUILD,
            name: format!("channel{id}"),
            kind: ChannelKind::Messages,
            parent_id: None,
            overwrites: relevant_overwrites(overwrites),
        }
    }

    fn missing_in(server: &ServerPermissions, channel: &ChannelSnapshot) -> Vec<String> {
        let member = member_of(server, GUILD).expect("the bot's member is known");
        missing(
            &member,
            &facts_of(channel, None),
            Need::PostEmbed,
            Utc::now(),
        )
    }

    fn changed(events: Vec<ServerEvent>) -> ServerPermissions {
        let mut change = ServerChange::default();
        for event in events {
            change.note(GUILD, event);
        }
        let mut server = server();
        change.apply_to(&mut server);
        server
    }

    #[test]
    fn only_the_bits_a_request_needs_are_kept() {
        let roles = relevant_roles(
            GUILD,
            [
                (GUILD, Permissions::all()),
                (OTHER_ROLE, Permissions::KICK_MEMBERS),
                (
                    BOT_ROLE,
                    Permissions::SEND_MESSAGES | Permissions::BAN_MEMBERS,
                ),
            ],
        );
        assert_eq!(
            roles,
            RolePermissions::from_iter([(BOT_ROLE, Permissions::SEND_MESSAGES)]),
            "@everyone is apart, a role granting nothing relevant is left out"
        );
        let overwrites = relevant_overwrites([
            Overwrite {
                target: OverwriteTarget::Role(OTHER_ROLE),
                allow: Permissions::MANAGE_MESSAGES,
                deny: Permissions::empty(),
            },
            Overwrite {
                target: OverwriteTarget::Role(BOT_ROLE),
                allow: Permissions::MANAGE_MESSAGES,
                deny: Permissions::SEND_MESSAGES | Permissions::SPEAK,
            },
        ]);
        assert_eq!(overwrites.len(), 1);
        assert_eq!(overwrites[0].deny, Permissions::SEND_MESSAGES);
        assert_eq!(overwrites[0].allow, Permissions::empty());
    }

    #[test]
    fn a_role_update_that_takes_send_messages_is_seen() {
        let channel = text(20, vec![]);
        assert!(missing_in(&server(), &channel).is_empty());
        let server = changed(vec![ServerEvent::RoleSet {
            role: BOT_ROLE,
            permissions: Permissions::EMBED_LINKS | Permissions::KICK_MEMBERS,
        }]);
        assert_eq!(missing_in(&server, &channel), ["Send Messages"]);
    }

    #[test]
    fn a_role_granting_nothing_relevant_any_more_is_removed() {
        let server = changed(vec![ServerEvent::RoleSet {
            role: BOT_ROLE,
            permissions: Permissions::KICK_MEMBERS,
        }]);
        assert!(!server.roles.contains_key(&BOT_ROLE));
        let mut change = ServerChange::default();
        change.note(
            GUILD,
            ServerEvent::RoleSet {
                role: BOT_ROLE,
                permissions: Permissions::KICK_MEMBERS,
            },
        );
        assert_eq!(change.roles_removed, [BOT_ROLE]);
        assert!(change.roles_set.is_empty());
    }

    #[test]
    fn everyone_is_set_by_its_own_role_update() {
        let server = changed(vec![ServerEvent::RoleSet {
            role: GUILD,
            permissions: Permissions::empty(),
        }]);
        assert_eq!(server.everyone, Permissions::empty());
        assert_eq!(missing_in(&server, &text(20, vec![])), ["View Channel"]);
    }

    #[test]
    fn later_events_win_and_a_server_update_replaces_every_role() {
        // Removed, then granted again: granted.
        let server = changed(vec![
            ServerEvent::RoleRemoved(BOT_ROLE),
            ServerEvent::RoleSet {
                role: BOT_ROLE,
                permissions: Permissions::SEND_MESSAGES | Permissions::EMBED_LINKS,
            },
        ]);
        assert!(missing_in(&server, &text(20, vec![])).is_empty());
        // A role set before a GUILD_UPDATE that no longer lists it: gone.
        let server = changed(vec![
            ServerEvent::RoleSet {
                role: OTHER_ROLE,
                permissions: Permissions::SEND_MESSAGES,
            },
            ServerEvent::Updated {
                owner_id: 1,
                everyone: Permissions::VIEW_CHANNEL,
                roles: vec![(BOT_ROLE, Permissions::SEND_MESSAGES)],
            },
            ServerEvent::RoleSet {
                role: BOT_ROLE,
                permissions: Permissions::SEND_MESSAGES | Permissions::EMBED_LINKS,
            },
        ]);
        assert_eq!(
            server.roles,
            RolePermissions::from_iter([(
                BOT_ROLE,
                Permissions::SEND_MESSAGES | Permissions::EMBED_LINKS
            )])
        );
    }

    #[test]
    fn the_bots_member_update_brings_its_roles_and_timeout() {
        let until = Utc::now() + chrono::Duration::hours(1);
        let server = changed(vec![ServerEvent::Member(BotMember {
            user_id: BOT,
            roles: vec![],
            timed_out_until: Some(until),
        })]);
        assert_eq!(
            missing_in(&server, &text(20, vec![])),
            ["Send Messages", "Embed Links"],
            "without its role"
        );
        let mut server = server;
        server.bot = Some(BotMember {
            user_id: BOT,
            roles: vec![BOT_ROLE],
            timed_out_until: Some(until),
        });
        assert_eq!(
            missing_in(&server, &text(20, vec![])),
            [
                "Send Messages (the bot is in timeout)",
                "Embed Links (the bot is in timeout)"
            ]
        );
    }

    #[test]
    fn without_the_bots_member_there_is_no_snapshot() {
        let mut server = server();
        server.bot = None;
        assert_eq!(member_of(&server, GUILD), None);
    }

    #[test]
    fn a_thread_takes_its_parents_overwrites() {
        let parent = text(
            30,
            vec![Overwrite {
                target: OverwriteTarget::Role(BOT_ROLE),
                allow: Permissions::SEND_MESSAGES_IN_THREADS,
                deny: Permissions::empty(),
            }],
        );
        let thread = ChannelSnapshot {
            id: 31,
            kind: ChannelKind::Thread,
            parent_id: Some(30),
            overwrites: Vec::new(),
            ..text(31, vec![])
        };
        let member = member_of(&server(), GUILD).unwrap();
        let now = Utc::now();
        assert_eq!(
            missing(&member, &facts_of(&thread, None), Need::PostEmbed, now),
            ["Send Messages in Threads"]
        );
        assert!(
            missing(
                &member,
                &facts_of(&thread, Some(&parent)),
                Need::PostEmbed,
                now
            )
            .is_empty()
        );
    }
}
