//! The developers, held in memory by every process: the access check on a
//! command, button or modal is a set lookup, never a database round trip, so
//! a developer's interaction never waits behind background writes or an
//! unanswering database. A trigger on `developers` NOTIFYs every process of
//! any change (migration 0008); a refresh every few seconds catches a
//! notification lost while the listening connection was down.
//!
//! A database that cannot be read never opens the door: the set only ever
//! holds what the table said, and the primary developer.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use sqlx::PgPool;

use crate::store::developers;
use crate::store::notified::Followed;

/// The channel the `developers` trigger notifies.
pub const CHANNEL: &str = "admin_panel_developers";

/// Cheap to clone; every clone is the same set.
#[derive(Debug, Clone, Default)]
pub struct DeveloperSet {
    ids: Arc<RwLock<HashSet<u64>>>,
}

impl DeveloperSet {
    /// Whether `user` is in the `developers` table (as last read). The
    /// primary developer is checked by the caller: it is never stored.
    pub fn contains(&self, user: u64) -> bool {
        self.ids
            .read()
            .map(|ids| ids.contains(&user))
            .unwrap_or(false)
    }

    /// Re-reads the table. On failure the set stays as it was.
    pub async fn reload(&self, pool: &PgPool) -> Result<(), sqlx::Error> {
        let fresh: HashSet<u64> = developers::list(pool)
            .await?
            .into_iter()
            .map(|row| row.user_id)
            .collect();
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
            "the developer list",
            self.clone(),
            |set: Self, pool| async move { set.reload(&pool).await },
        )
    }
}
