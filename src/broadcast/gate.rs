//! The permission gate before every broadcast request: a send, edit or
//! recall to a channel where the permission snapshot says the bot lacks
//! what the request needs is not made (Discord counts each 403 towards the
//! 10,000 invalid requests in 10 minutes that get a bot's IP banned). A
//! target with no snapshot (its server not seen since the upgrade) goes
//! ahead as before.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::permissions::snapshot::member_of;
use crate::permissions::{ChannelFacts, ChannelKind, Need, missing};
use crate::store::broadcasts::Outcome;
use crate::store::permission_targets::{self, TargetSnapshot};

/// What the snapshot says of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Allowed, or nothing is known: make the request.
    Go,
    /// The bot lacks `permissions` ("Send Messages, Embed Links") in
    /// `channel` (its name): no request.
    Missing {
        /// Discord's names, joined.
        permissions: String,
        /// The channel's name.
        channel: String,
    },
    /// Discord answered 403 for this channel since the last event about it.
    Refused {
        /// The channel's name.
        channel: String,
    },
    /// The channel was deleted.
    Deleted,
}

impl Verdict {
    /// The reason a request was not made, as the report shows it.
    pub fn reason(&self) -> Option<String> {
        match self {
            Self::Go => None,
            Self::Missing {
                permissions,
                channel,
            } => Some(format!("missing permission: {permissions} in #{channel}")),
            Self::Refused { channel } => Some(format!(
                "missing permission: Discord refused a request in #{channel} (403); nothing is sent there until the server changes its roles or the channel"
            )),
            Self::Deleted => Some("the channel was deleted".to_owned()),
        }
    }

    /// How a request held back is recorded: not sent for a missing
    /// permission or a refusal, skipped for a deleted channel.
    pub fn outcome(&self) -> Outcome {
        match (self.missing_permission(), self.reason()) {
            (Some(missing), Some(message)) => Outcome::NotSent { missing, message },
            _ => Outcome::ChannelDeleted,
        }
    }

    /// What the report groups by: the permissions, or the refusal.
    pub fn missing_permission(&self) -> Option<String> {
        match self {
            Self::Missing { permissions, .. } => Some(permissions.clone()),
            Self::Refused { .. } => Some("refused by Discord earlier (403)".to_owned()),
            Self::Go | Self::Deleted => None,
        }
    }
}

/// Discord's codes for a 403 about permissions (Missing Access, Missing
/// Permissions): the channel is marked refused.
fn is_refusal(code: i32) -> bool {
    matches!(code, 50001 | 50013)
}

/// Marks `channel` refused when Discord answered a request there with a
/// 403 about permissions (`code`) although the snapshot allowed it.
pub async fn note_refusal(
    pool: &PgPool,
    code: Option<i32>,
    channel: u64,
) -> Result<(), sqlx::Error> {
    if code.is_some_and(is_refusal) {
        permission_targets::mark_refused(pool, channel).await?;
    }
    Ok(())
}

/// Splits claimed requests into those to make and those the snapshot rules
/// out for `need`, with their verdicts; `target` names a request's server
/// and channel.
pub async fn hold_back<T>(
    pool: &PgPool,
    need: Need,
    claimed: Vec<T>,
    target: impl Fn(&T) -> (u64, u64),
) -> Result<(Vec<T>, Vec<(T, Verdict)>), sqlx::Error> {
    let targets: Vec<(u64, u64)> = claimed.iter().map(&target).collect();
    let mut verdicts = verdicts(pool, need, &targets).await?;
    if verdicts.is_empty() {
        return Ok((claimed, Vec::new()));
    }
    let mut go = Vec::with_capacity(claimed.len());
    let mut held = Vec::new();
    for request in claimed {
        match verdicts.remove(&target(&request).0) {
            Some(verdict) => held.push((request, verdict)),
            None => go.push(request),
        }
    }
    Ok((go, held))
}

/// The verdicts for `targets` (server, channel) by server, for `need`; a
/// target not in the map goes ahead.
pub async fn verdicts(
    pool: &PgPool,
    need: Need,
    targets: &[(u64, u64)],
) -> Result<HashMap<u64, Verdict>, sqlx::Error> {
    let snapshots = permission_targets::targets(pool, targets).await?;
    let now = Utc::now();
    Ok(snapshots
        .iter()
        .map(|snapshot| (snapshot.guild_id, judge(snapshot, need, now)))
        .filter(|(_, verdict)| *verdict != Verdict::Go)
        .collect())
}

/// One target's verdict.
pub fn judge(snapshot: &TargetSnapshot, need: Need, now: DateTime<Utc>) -> Verdict {
    if snapshot.deleted {
        return Verdict::Deleted;
    }
    if snapshot.refused {
        return Verdict::Refused {
            channel: snapshot.channel.name.clone(),
        };
    }
    let Some(member) = snapshot
        .server
        .as_ref()
        .and_then(|server| member_of(server, snapshot.guild_id))
    else {
        return Verdict::Go;
    };
    let overwrites = match (snapshot.channel.kind, &snapshot.parent_overwrites) {
        (ChannelKind::Thread, Some(parent)) => parent.clone(),
        // A thread whose parent is not kept: not known.
        (ChannelKind::Thread, None) => return Verdict::Go,
        _ => snapshot.channel.overwrites.clone(),
    };
    let facts = ChannelFacts {
        id: snapshot.channel.id,
        kind: snapshot.channel.kind,
        overwrites,
    };
    let lacking = missing(&member, &facts, need, now);
    if lacking.is_empty() {
        Verdict::Go
    } else {
        Verdict::Missing {
            permissions: lacking.join(", "),
            channel: snapshot.channel.name.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::permissions::snapshot::{BotMember, ChannelSnapshot, ServerPermissions};
    use crate::permissions::{Overwrite, OverwriteTarget};
    use serenity::all::Permissions;

    const GUILD: u64 = 1;
    const ROLE: u64 = 2;

    fn target(kind: ChannelKind, deny: Permissions) -> TargetSnapshot {
        TargetSnapshot {
            guild_id: GUILD,
            server: Some(ServerPermissions {
                owner_id: 9,
                everyone: Permissions::VIEW_CHANNEL,
                roles: [(ROLE, Permissions::SEND_MESSAGES | Permissions::EMBED_LINKS)]
                    .into_iter()
                    .collect(),
                bot: Some(BotMember {
                    user_id: 5,
                    roles: vec![ROLE],
                    timed_out_until: None,
                }),
            }),
            channel: ChannelSnapshot {
                id: 3,
                guild_id: GUILD,
                name: "news".into(),
                kind,
                parent_id: None,
                overwrites: vec![Overwrite {
                    target: OverwriteTarget::Role(ROLE),
                    allow: Permissions::empty(),
                    deny,
                }],
            },
            parent_overwrites: None,
            deleted: false,
            refused: false,
        }
    }

    #[test]
    fn each_verdict_and_its_reason() {
        let now = Utc::now();
        let fine = target(ChannelKind::Messages, Permissions::empty());
        assert_eq!(judge(&fine, Need::PostEmbed, now), Verdict::Go);

        let lost = target(ChannelKind::Messages, Permissions::SEND_MESSAGES);
        let verdict = judge(&lost, Need::PostEmbed, now);
        assert_eq!(
            verdict.reason().as_deref(),
            Some("missing permission: Send Messages in #news")
        );
        assert_eq!(
            verdict.missing_permission().as_deref(),
            Some("Send Messages")
        );
        assert_eq!(
            judge(&lost, Need::SeeChannel, now),
            Verdict::Go,
            "its own message can still be edited or deleted"
        );

        let deleted = TargetSnapshot {
            deleted: true,
            ..fine.clone()
        };
        assert_eq!(judge(&deleted, Need::PostEmbed, now), Verdict::Deleted);
        assert_eq!(Verdict::Deleted.missing_permission(), None);

        let refused = TargetSnapshot {
            refused: true,
            ..fine.clone()
        };
        let verdict = judge(&refused, Need::PostEmbed, now);
        assert!(verdict.reason().unwrap().contains("(403)"));
        assert_eq!(
            verdict.missing_permission().as_deref(),
            Some("refused by Discord earlier (403)")
        );
    }

    #[test]
    fn what_is_not_known_goes_ahead() {
        let now = Utc::now();
        let unknown_server = TargetSnapshot {
            server: None,
            ..target(ChannelKind::Messages, Permissions::SEND_MESSAGES)
        };
        assert_eq!(judge(&unknown_server, Need::PostEmbed, now), Verdict::Go);
        // A thread is judged by its parent's overwrites; without them, not at all.
        let orphan = target(ChannelKind::Thread, Permissions::empty());
        assert_eq!(judge(&orphan, Need::PostEmbed, now), Verdict::Go);
        let denied_by_parent = TargetSnapshot {
            parent_overwrites: Some(vec![Overwrite {
                target: OverwriteTarget::Role(ROLE),
                allow: Permissions::empty(),
                deny: Permissions::SEND_MESSAGES_IN_THREADS,
            }]),
            ..orphan
        };
        assert_eq!(
            judge(&denied_by_parent, Need::PostEmbed, now)
                .missing_permission()
                .as_deref(),
            Some("Send Messages in Threads")
        );
    }
}
