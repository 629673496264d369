//! Guild events in the order each shard received them. serenity hands every
//! event to a task of its own, and tokio runs the last one spawned first,
//! so a GUILD_DELETE right behind its GUILD_CREATE often ran first and the
//! server stayed listed for good. The one place that sees events in order
//! is a shard's collectors: serenity calls them in the shard's own loop,
//! before it spawns the handlers. So on each READY the panel registers a
//! collector on that shard, which queues the guild events itself (on the
//! writer's ordered lane), and notes each one here; the handler serenity
//! spawns for the same event then finds the note and does nothing. An event
//! that came before the collector was in place (between READY and its
//! handler) finds no note and is queued by its handler, as before.
//!
//! Nothing here serialises the bot: the shard loop only translates the
//! event and pushes it, and the bookkeeping is two small maps.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Which kind of guild event, for matching a collector's note to the
/// handler of the same event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// GUILD_CREATE.
    Created,
    /// GUILD_UPDATE.
    Updated,
    /// GUILD_DELETE (not an outage).
    Deleted,
    /// GUILD_ROLE_CREATE or GUILD_ROLE_UPDATE.
    RoleSet,
    /// GUILD_ROLE_DELETE.
    RoleDeleted,
    /// GUILD_MEMBER_UPDATE for the bot.
    Member,
    /// CHANNEL_UPDATE or THREAD_UPDATE.
    ChannelChanged,
    /// CHANNEL_DELETE or THREAD_DELETE.
    ChannelDeleted,
}

/// One event: its server and kind (and its channel or role, if any).
pub type EventKey = (u64, EventKind, u64);

/// The collectors in place and what they queued.
#[derive(Debug, Default)]
pub struct EventOrder {
    /// Events a collector queued whose handler has not run yet.
    taken: Mutex<HashMap<EventKey, u32>>,
    /// The collector each shard should use: a READY (a new session, often a
    /// new shard runner) replaces it, and an older one retires itself.
    current: Mutex<HashMap<u32, u64>>,
    next: AtomicU64,
}

impl EventOrder {
    /// A new collector for `shard`; the one before it retires.
    pub fn enlist(&self, shard: u32) -> u64 {
        let token = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        self.lock_current().insert(shard, token);
        token
    }

    /// Whether the collector `token` is still `shard`'s.
    pub fn is_current(&self, shard: u32, token: u64) -> bool {
        self.lock_current().get(&shard) == Some(&token)
    }

    /// A collector queued `key`'s event: its handler must not.
    pub fn note_taken(&self, key: EventKey) {
        *self.lock_taken().entry(key).or_default() += 1;
    }

    /// Whether a collector queued `key`'s event already (and forgets it):
    /// called once by the event's handler.
    pub fn take(&self, key: EventKey) -> bool {
        let mut taken = self.lock_taken();
        match taken.get_mut(&key) {
            Some(count) if *count > 1 => {
                *count -= 1;
                true
            }
            Some(_) => {
                taken.remove(&key);
                true
            }
            None => false,
        }
    }

    /// Notes not matched yet (the handlers still to run).
    #[cfg(test)]
    fn waiting(&self) -> usize {
        self.lock_taken().values().map(|n| *n as usize).sum()
    }

    fn lock_taken(&self) -> std::sync::MutexGuard<'_, HashMap<EventKey, u32>> {
        self.taken.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock_current(&self) -> std::sync::MutexGuard<'_, HashMap<u32, u64>> {
        self.current.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_noted_event_is_taken_once_by_its_handler() {
        let order = EventOrder::default();
        let create = (7, EventKind::Created, 0);
        assert!(!order.take(create), "nothing noted: the handler queues it");
        order.note_taken(create);
        order.note_taken(create);
        assert_eq!(order.waiting(), 2);
        assert!(order.take(create));
        assert!(order.take(create));
        assert!(!order.take(create));
        assert!(!order.take((7, EventKind::Deleted, 0)));
        assert_eq!(order.waiting(), 0);
    }

    #[test]
    fn a_new_collector_retires_the_one_before() {
        let order = EventOrder::default();
        let first = order.enlist(0);
        let other_shard = order.enlist(1);
        assert!(order.is_current(0, first));
        let second = order.enlist(0);
        assert!(!order.is_current(0, first));
        assert!(order.is_current(0, second));
        assert!(order.is_current(1, other_shard));
    }
}
