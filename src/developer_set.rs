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
use sqlx::postgres::PgListener;
use tokio_util::sync::CancellationToken;

use crate::error::cause_chain;
use crate::store::developers;

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
        let mut listener = PgListener::connect_with(&pool).await?;
        listener.listen(CHANNEL).await?;
        // Anything that changed before LISTEN took effect.
        self.reload_or_warn(&pool).await;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                notified = listener.recv() => {
                    if let Err(error) = notified {
                        tracing::warn!(error = %cause_chain(&error), "lost the developer notifications; reconnecting");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
                () = tokio::time::sleep(REFRESH_INTERVAL) => {}
            }
            self.reload_or_warn(&pool).await;
        }
    }

    async fn reload_or_warn(&self, pool: &PgPool) {
        if let Err(error) = self.reload(pool).await {
            tracing::warn!(error = %cause_chain(&error), "could not refresh the developer list; keeping the last one");
        }
    }
}
