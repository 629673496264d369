//! The developers, held in memory by every process: the access check on a
//! command, button or modal is a set lookup, never a database round trip, so
//! a developer's interaction never waits behind background writes or an
//! unanswering database. A trigger on `developers` NOTIFYs every process of
//! any change (migration 0008); a refresh every [`REFRESH_INTERVAL`] catches a
//! notification lost while the listening connection was down.
//!
//! A database that cannot be read never opens the door: the set only ever
//! holds what the table said, and the primary developer.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::store::developers;
use crate::store::notified::keep_current;

/// The channel the `developers` trigger notifies.
pub const CHANNEL: &str = "admin_panel_developers";

/// How often the set is re-read even without a notification.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(10);

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

    /// Keeps the set current until `shutdown`: a reload on every NOTIFY and
    /// every [`REFRESH_INTERVAL`]. Errors are logged and retried; the set is
    /// never emptied by a failure.
    pub async fn run(self, pool: PgPool, shutdown: CancellationToken) -> anyhow::Result<()> {
        let what = "the developer list";
        keep_current(pool, CHANNEL, REFRESH_INTERVAL, what, shutdown, |pool| {
            let set = self.clone();
            async move { set.reload(&pool).await }
        })
        .await
    }
}
