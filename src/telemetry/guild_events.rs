//! Guild events (GUILD_CREATE, UPDATE, DELETE) on their way to the database.
//! The gateway handler only pushes a small snapshot into a bounded queue; a
//! background writer takes what is waiting (up to [`MAX_BATCH`]) and writes
//! it as one batch ([`crate::store::guild_batches`]) on the background pool.
//! A restart's burst of one GUILD_CREATE per server thus costs a few
//! statements a second, and never the connections interactions wait for.
//! Events keep their order per server within a batch; nothing waiting is
//! lost on shutdown (the writer drains the queue), and a failed write is
//! retried with the same batch.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use chrono::Utc;
use sqlx::PgPool;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::error::cause_chain;
use crate::permissions::snapshot::{ChannelSnapshot, ServerChange, ServerEvent};
use crate::store::guild_batches::{self, GuildBatch};
use crate::store::guilds::GuildSnapshot;

/// Events waiting at most: a restart's whole burst for a process of 200,000
/// servers while the database catches up, as snapshots of about 150 bytes
/// (30 MB at worst). Past it, each gateway handler waits holding serenity's
/// parsed guild, kilobytes each: with 50,000 a slow restart in 100,000
/// servers peaked at 529 MiB (`cargo bench --bench boot_storm`).
pub const QUEUE_CAPACITY: usize = 200_000;
/// Events per statement at most.
pub const MAX_BATCH: usize = 2_000;
/// A lone event waits at most this long for company.
const GATHER: Duration = Duration::from_millis(100);
/// Events found waiting at once that show a burst under way: written
/// without gathering.
const BURSTING: usize = 32;
const RETRY_DELAY: Duration = Duration::from_secs(1);

/// What a gateway event says about a server: its listing, and what decides
/// the bot's permissions in it ([`crate::permissions::snapshot`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuildEvent {
    /// The bot joined (or saw at start) a server.
    Created(GuildSnapshot),
    /// A server's name or icon changed.
    Renamed {
        /// The server.
        id: u64,
        /// Its new name.
        name: String,
        /// Its new icon hash, if it has one.
        icon_hash: Option<String>,
    },
    /// The bot left, or was removed from, the server.
    Left(u64),
    /// Roles, the owner or the bot's member changed.
    Permissions {
        /// The server.
        guild: u64,
        /// What changed.
        event: ServerEvent,
    },
    /// CHANNEL_UPDATE or THREAD_UPDATE: written only for a channel whose
    /// snapshot is kept (one the panel posts in).
    ChannelChanged(ChannelSnapshot),
    /// CHANNEL_DELETE or THREAD_DELETE, or a broadcast channel missing from
    /// the server's GUILD_CREATE.
    ChannelDeleted {
        /// The server.
        guild: u64,
        /// The channel.
        channel: u64,
    },
}

impl GuildEvent {
    fn guild(&self) -> u64 {
        match self {
            Self::Created(snapshot) => snapshot.id,
            Self::ChannelChanged(channel) => channel.guild_id,
            Self::Renamed { id, .. }
            | Self::Left(id)
            | Self::Permissions { guild: id, .. }
            | Self::ChannelDeleted { guild: id, .. } => *id,
        }
    }
}

/// What `/metrics` shows of the writer (`admin_panel_guild_events_written_total`).
#[derive(Debug, Default)]
pub struct GuildEventCounters {
    /// Events written to the database.
    pub written: AtomicU64,
    /// When a full queue was last reported (Unix seconds).
    full_warned_at: AtomicI64,
}

/// The cheap, cloneable handle the gateway handler pushes into.
#[derive(Debug, Clone)]
pub struct GuildEvents {
    sender: mpsc::Sender<GuildEvent>,
    ordered: mpsc::UnboundedSender<GuildEvent>,
    /// What the writer reports.
    pub counters: Arc<GuildEventCounters>,
}

/// What the writer drains: the events each shard's collector queued in the
/// order the shard received them ([`crate::telemetry::event_order`]), and
/// those a handler queued itself (before its shard's collector was in place).
#[derive(Debug)]
pub struct GuildEventQueue {
    handled: mpsc::Receiver<GuildEvent>,
    ordered: mpsc::UnboundedReceiver<GuildEvent>,
}

impl GuildEventQueue {
    /// Waits for events (the ordered lane first) and takes up to `limit`;
    /// 0 once every sender is gone.
    async fn recv_many(&mut self, events: &mut Vec<GuildEvent>, limit: usize) -> usize {
        let before = events.len();
        tokio::select! {
            biased;
            Some(event) = self.ordered.recv() => events.push(event),
            Some(event) = self.handled.recv() => events.push(event),
            else => return 0,
        }
        while events.len() - before < limit {
            match self.try_recv() {
                Some(event) => events.push(event),
                None => break,
            }
        }
        events.len() - before
    }

    fn try_recv(&mut self) -> Option<GuildEvent> {
        self.ordered
            .try_recv()
            .ok()
            .or_else(|| self.handled.try_recv().ok())
    }

    fn is_empty(&self) -> bool {
        self.ordered.is_empty() && self.handled.is_empty()
    }
}

impl GuildEvents {
    /// A handle and the queue the writer drains.
    pub fn new() -> (Self, GuildEventQueue) {
        let (sender, handled) = mpsc::channel(QUEUE_CAPACITY);
        let (ordered, ordered_receiver) = mpsc::unbounded_channel();
        let events = Self {
            sender,
            ordered,
            counters: Arc::default(),
        };
        let queue = GuildEventQueue {
            handled,
            ordered: ordered_receiver,
        };
        (events, queue)
    }

    /// Queues an event from a shard's collector, which runs in the shard's
    /// own loop and must not wait: unbounded, but what it holds is the small
    /// translated event (serenity's parsed guild is freed as usual), at most
    /// one per server and event while the database catches up.
    pub fn push_ordered(&self, event: GuildEvent) {
        let _ = self.ordered.send(event);
    }

    /// Queues an event; waits only while the queue is full (the database far
    /// behind), so that no event is ever dropped.
    pub async fn push(&self, event: GuildEvent) {
        if let Err(mpsc::error::TrySendError::Full(event)) = self.sender.try_send(event) {
            self.warn_full();
            let _ = self.sender.send(event).await;
        }
    }

    /// A full queue means the database is behind the gateway: each waiting
    /// handler holds serenity's whole parsed event. Said at most every 10 s.
    fn warn_full(&self) {
        let now = Utc::now().timestamp();
        let last = self.counters.full_warned_at.load(Ordering::Relaxed);
        if now - last >= 10
            && self
                .counters
                .full_warned_at
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                capacity = QUEUE_CAPACITY,
                "the guild event queue is full: gateway handlers wait for the database"
            );
        }
    }
}

/// One change per server, in the order the events came.
pub fn reduce(events: Vec<GuildEvent>) -> GuildBatch {
    #[derive(Default)]
    struct Pending {
        created: Option<GuildSnapshot>,
        renamed: Option<(String, Option<String>)>,
        server: ServerChange,
        /// Channel changes not folded into `created`, the last of each
        /// channel (`None`: deleted).
        channels: BTreeMap<u64, Option<ChannelSnapshot>>,
        left: bool,
    }
    let mut servers: BTreeMap<u64, Pending> = BTreeMap::new();
    for event in events {
        let guild = event.guild();
        let pending = servers.entry(guild).or_default();
        match event {
            GuildEvent::Created(snapshot) => {
                *pending = Pending {
                    created: Some(snapshot),
                    ..Pending::default()
                };
            }
            GuildEvent::Renamed {
                name, icon_hash, ..
            } => match pending.created.as_mut() {
                Some(created) if !pending.left => {
                    created.name = name;
                    created.icon_hash = icon_hash;
                }
                _ => pending.renamed = Some((name, icon_hash)),
            },
            // Created then deleted in one batch: both are written, the
            // removal last, so the server ends as left (join and leave logged).
            GuildEvent::Left(_) => pending.left = true,
            GuildEvent::Permissions { event, .. } => {
                match pending
                    .created
                    .as_mut()
                    .and_then(|c| c.permissions.as_mut())
                {
                    Some(server) if !pending.left => {
                        let mut change = ServerChange::default();
                        change.note(guild, event);
                        change.apply_to(server);
                    }
                    _ => pending.server.note(guild, event),
                }
            }
            GuildEvent::ChannelChanged(channel) => {
                let folded = pending
                    .created
                    .as_mut()
                    .filter(|_| !pending.left)
                    .and_then(|created| created.channels.iter_mut().find(|c| c.id == channel.id));
                match folded {
                    Some(kept) => *kept = channel,
                    None => {
                        pending.channels.insert(channel.id, Some(channel));
                    }
                }
            }
            GuildEvent::ChannelDeleted { channel, .. } => {
                if let Some(created) = pending.created.as_mut() {
                    created.channels.retain(|c| c.id != channel);
                }
                pending.channels.insert(channel, None);
            }
        }
    }
    let mut batch = GuildBatch::default();
    for (id, pending) in servers {
        if let Some(created) = pending.created {
            batch.created.push(created);
        } else if let Some((name, icon)) = pending.renamed {
            batch.renamed.push((id, name, icon));
        }
        if pending.server != ServerChange::default() {
            batch.server_changes.push((id, pending.server));
        }
        for (channel, change) in pending.channels {
            match change {
                Some(snapshot) => batch.channels_changed.push(snapshot),
                None => batch.channels_deleted.push(channel),
            }
        }
        if pending.left {
            batch.deleted.push(id);
        }
    }
    batch
}

/// Writes queued events in batches until `shutdown`, then writes what is left.
pub async fn run_guild_writer(
    pool: PgPool,
    receiver: &mut GuildEventQueue,
    counters: Arc<GuildEventCounters>,
    shutdown: CancellationToken,
) {
    let mut events: Vec<GuildEvent> = Vec::with_capacity(MAX_BATCH);
    let mut written_since_trim = 0;
    loop {
        let received = tokio::select! {
            received = receiver.recv_many(&mut events, MAX_BATCH) => received,
            () = shutdown.cancelled() => 0,
        };
        if received == 0 && !shutdown.is_cancelled() {
            return; // every sender is gone
        }
        if shutdown.is_cancelled() {
            while let Some(event) = receiver.try_recv() {
                events.push(event);
            }
            write_until_done(&pool, std::mem::take(&mut events), &counters, &shutdown).await;
            return;
        }
        if events.len() < BURSTING {
            // A lone event (the queue was empty): gather for a moment, so
            // a burst that is only starting is written once. Mid-burst the
            // last write gathered the next batch already; waiting would only
            // delay the end of the burst.
            tokio::time::sleep(GATHER).await;
            while events.len() < MAX_BATCH {
                match receiver.try_recv() {
                    Some(event) => events.push(event),
                    None => break,
                }
            }
        }
        written_since_trim += events.len();
        write_until_done(&pool, std::mem::take(&mut events), &counters, &shutdown).await;
        if written_since_trim >= TRIM_AFTER && receiver.is_empty() {
            written_since_trim = 0;
            let _ = tokio::task::spawn_blocking(release_freed_memory).await;
        }
    }
}

/// A burst of at least this many guild events is followed by a trim.
const TRIM_AFTER: usize = 1_000;

/// Once a burst is written, hands the memory it freed back to the system.
/// serenity parses every GUILD_CREATE into a full `Guild` (channels, roles)
/// and holds it until its handler has run, so a restart's burst peaks at
/// several kilobytes a server; glibc's malloc keeps those freed pages for
/// reuse and the process stayed at its peak (`cargo bench --bench
/// boot_storm`, 4 shards and 10,000 servers: 80 MiB after the burst against
/// 28 MiB with one shard). Other allocators return memory by themselves.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release_freed_memory() {
    // SAFETY: malloc_trim only releases free memory at the top of each heap
    // and unused pages inside it; it touches no live allocation.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_freed_memory() {}

/// Writes one batch, retrying while the database fails (the batch is kept;
/// on shutdown, once more only).
async fn write_until_done(
    pool: &PgPool,
    events: Vec<GuildEvent>,
    counters: &GuildEventCounters,
    shutdown: &CancellationToken,
) {
    if events.is_empty() {
        return;
    }
    let count = events.len() as u64;
    let batch = reduce(events);
    loop {
        match guild_batches::apply(pool, &batch, Utc::now()).await {
            Ok(outcome) => {
                counters.written.fetch_add(count, Ordering::Relaxed);
                if !outcome.joined.is_empty() || !outcome.left.is_empty() {
                    tracing::info!(
                        joined = outcome.joined.len(),
                        left = outcome.left.len(),
                        "servers joined or left"
                    );
                }
                return;
            }
            Err(error) => {
                tracing::warn!(error = %cause_chain(&error), events = count, "could not write guild events; retrying");
                if shutdown.is_cancelled() {
                    tokio::time::sleep(RETRY_DELAY).await;
                    if let Err(error) = guild_batches::apply(pool, &batch, Utc::now()).await {
                        tracing::error!(error = %cause_chain(&error), events = count, "guild events lost at shutdown");
                    }
                    return;
                }
                tokio::time::sleep(RETRY_DELAY).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::permissions::snapshot::ServerPermissions;
    use crate::permissions::{ChannelKind, Overwrite, OverwriteTarget};
    use serenity::all::Permissions;

    fn created(id: u64, name: &str) -> GuildEvent {
        GuildEvent::Created(GuildSnapshot {
            id,
            name: name.into(),
            icon_hash: None,
            member_count: 1,
            joined_at: Utc::now(),
            permissions: None,
            channels: Vec::new(),
        })
    }

    fn with_snapshot(id: u64, channels: &[u64]) -> GuildEvent {
        let GuildEvent::Created(mut snapshot) = created(id, "a") else {
            unreachable!()
        };
        snapshot.permissions = Some(ServerPermissions {
            owner_id: 1,
            everyone: Permissions::VIEW_CHANNEL,
            roles: Default::default(),
            bot: None,
        });
        snapshot.channels = channels.iter().map(|c| channel(id, *c, 0)).collect();
        GuildEvent::Created(snapshot)
    }

    fn channel(guild: u64, id: u64, denied: u64) -> ChannelSnapshot {
        ChannelSnapshot {
            id,
            guild_id: guild,
            name: "news".into(),
            kind: ChannelKind::Messages,
            parent_id: None,
            overwrites: vec![Overwrite {
                target: OverwriteTarget::Role(guild),
                allow: Permissions::empty(),
                deny: Permissions::from_bits_truncate(denied),
            }],
        }
    }

    #[test]
    fn permission_changes_after_a_create_are_folded_into_it() {
        let role = GuildEvent::Permissions {
            guild: 1,
            event: ServerEvent::RoleSet {
                role: 5,
                permissions: Permissions::SEND_MESSAGES,
            },
        };
        let batch = reduce(vec![
            with_snapshot(1, &[10, 11]),
            role.clone(),
            GuildEvent::ChannelChanged(channel(1, 10, 2048)),
            GuildEvent::ChannelDeleted {
                guild: 1,
                channel: 11,
            },
            GuildEvent::ChannelChanged(channel(1, 12, 2048)),
        ]);
        let created = &batch.created[0];
        let roles = &created.permissions.as_ref().unwrap().roles;
        assert_eq!(roles.get(&5), Some(&Permissions::SEND_MESSAGES));
        assert_eq!(created.channels, [channel(1, 10, 2048)]);
        assert!(batch.server_changes.is_empty());
        assert_eq!(batch.channels_deleted, [11]);
        assert_eq!(
            batch.channels_changed,
            [channel(1, 12, 2048)],
            "a channel the create did not keep may be kept by another process"
        );

        let batch = reduce(vec![role, GuildEvent::ChannelChanged(channel(2, 20, 0))]);
        assert_eq!(batch.server_changes.len(), 1);
        assert_eq!(
            batch.server_changes[0].1.roles_set.get(&5),
            Some(&Permissions::SEND_MESSAGES)
        );
        assert_eq!(batch.channels_changed, [channel(2, 20, 0)]);
    }

    #[test]
    fn a_channel_deleted_then_changed_is_kept_as_changed() {
        let batch = reduce(vec![
            GuildEvent::ChannelDeleted {
                guild: 1,
                channel: 10,
            },
            GuildEvent::ChannelChanged(channel(1, 10, 0)),
        ]);
        assert!(batch.channels_deleted.is_empty());
        assert_eq!(batch.channels_changed, [channel(1, 10, 0)]);
    }

    #[test]
    fn a_server_created_then_deleted_in_one_batch_ends_as_left() {
        let batch = reduce(vec![created(1, "a"), GuildEvent::Left(1)]);
        assert_eq!(batch.created.len(), 1);
        assert_eq!(batch.deleted, [1]);
    }

    #[test]
    fn a_server_deleted_then_created_again_ends_as_present() {
        let batch = reduce(vec![GuildEvent::Left(1), created(1, "back")]);
        assert_eq!(batch.created[0].name, "back");
        assert!(batch.deleted.is_empty());
    }

    #[test]
    fn a_rename_after_a_create_is_folded_into_it_and_alone_stays_a_rename() {
        let rename = |id| GuildEvent::Renamed {
            id,
            name: "New".into(),
            icon_hash: Some("i".into()),
        };
        let batch = reduce(vec![created(1, "Old"), rename(1), rename(2)]);
        assert_eq!(batch.created[0].name, "New");
        assert_eq!(batch.renamed, [(2, "New".to_owned(), Some("i".to_owned()))]);
    }
}
