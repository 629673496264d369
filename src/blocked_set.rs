//! The blocklist, held in memory by every process: every interaction and
//! every GUILD_CREATE is checked against it, so the check is a set lookup,
//! never a database round trip. A trigger on `blocklist` NOTIFYs every
//! process of each change (migration 0027), so a change is in force
//! everywhere within moments; a re-read every few seconds catches a
//! notification lost while the listening connection was down.
//!
//! A database that cannot be read keeps the last copy: an entry is never
//! forgotten because of an outage.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use sqlx::PgPool;

use crate::store::blocklist::{self, BlockKind};
use crate::store::notified::Followed;

/// The channel the `blocklist` trigger notifies.
pub const CHANNEL: &str = "admin_panel_blocklist";

/// Cheap to clone; every clone is the same set.
#[derive(Debug, Clone, Default)]
pub struct BlockedSet {
    ids: Arc<RwLock<HashSet<(BlockKind, u64)>>>,
}

impl BlockedSet {
    /// Whether `id` is blocked as a `kind` (as last read).
    pub fn contains(&self, kind: BlockKind, id: u64) -> bool {
        self.ids
            .read()
            .map(|ids| ids.contains(&(kind, id)))
            .unwrap_or(false)
    }

    /// Re-reads the table. On failure the set stays as it was.
    pub async fn reload(&self, pool: &PgPool) -> Result<(), sqlx::Error> {
        let fresh: HashSet<(BlockKind, u64)> = blocklist::ids(pool).await?.into_iter().collect();
        if let Ok(mut ids) = self.ids.write() {
            *ids = fresh;
        }
        Ok(())
    }

    /// How [`crate::store::notified::keep_current`] keeps it current: a
    /// reload on every NOTIFY and every few seconds; a failure is logged and
    /// never empties it.
    pub fn followed(&self) -> Followed {
        Followed::new(
            CHANNEL,
            "the blocklist",
            self.clone(),
            |set: Self, pool| async move { set.reload(&pool).await },
        )
    }
}
