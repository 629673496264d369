//! Which channel of each server the panel posts broadcasts in, held in
//! memory for the gateway handler: a GUILD_CREATE carries every channel of
//! its server (up to 500), and only the overwrites of this one (and of the
//! system channel) are kept. Read from `guild_settings` at start and at each
//! shard's READY (a re-identify's GUILD_CREATEs follow it), and updated when
//! this process saves a channel; a channel saved by another process is
//! written there from fresh `GET`s, so a late refresh here loses nothing.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

/// Broadcast channels by server (about 16 bytes a server).
#[derive(Debug, Default)]
pub struct WatchedChannels {
    inner: RwLock<Watched>,
}

#[derive(Debug, Default)]
struct Watched {
    by_guild: HashMap<u64, u64>,
    loaded_at: Option<Instant>,
}

impl WatchedChannels {
    /// The broadcast channel of `guild`, if it has one.
    pub fn of(&self, guild: u64) -> Option<u64> {
        self.read().by_guild.get(&guild).copied()
    }

    /// Sets (or clears) the channel of `guild`.
    pub fn set(&self, guild: u64, channel: Option<u64>) {
        let mut watched = self.inner.write().unwrap_or_else(|e| e.into_inner());
        match channel {
            Some(channel) => watched.by_guild.insert(guild, channel),
            None => watched.by_guild.remove(&guild),
        };
    }

    /// Replaces every server's channel with what the database holds.
    pub fn replace(&self, channels: impl IntoIterator<Item = (u64, u64)>) {
        let mut by_guild: HashMap<u64, u64> = channels.into_iter().collect();
        by_guild.shrink_to_fit();
        let mut watched = self.inner.write().unwrap_or_else(|e| e.into_inner());
        *watched = Watched {
            by_guild,
            loaded_at: Some(Instant::now()),
        };
    }

    /// Whether the last read is older than `age` (shards that become ready
    /// together share one read).
    pub fn older_than(&self, age: Duration) -> bool {
        self.read()
            .loaded_at
            .is_none_or(|loaded| loaded.elapsed() >= age)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Watched> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }
}
