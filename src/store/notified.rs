//! A table held in memory by every process, kept current by a trigger's
//! NOTIFY and a periodic re-read: the re-read catches a notification lost
//! while the listening connection was down. Used by the developer list and
//! the blocklist, whose checks run on every interaction and must never wait
//! on the database.

use std::future::Future;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio_util::sync::CancellationToken;

use crate::error::cause_chain;

/// Calls `reload` once LISTEN on `channel` is in place, then on every
/// notification and every `interval`, until `shutdown`. A failed reload is
/// logged (naming `what`) and leaves the copy as it was.
pub async fn keep_current<F, Fut>(
    pool: PgPool,
    channel: &str,
    interval: Duration,
    what: &str,
    shutdown: CancellationToken,
    mut reload: F,
) -> anyhow::Result<()>
where
    F: FnMut(PgPool) -> Fut,
    Fut: Future<Output = Result<(), sqlx::Error>>,
{
    let mut listener = PgListener::connect_with(&pool).await?;
    listener.listen(channel).await?;
    loop {
        // The first pass reads anything that changed before LISTEN took effect.
        if let Err(error) = reload(pool.clone()).await {
            tracing::warn!(error = %cause_chain(&error), "could not refresh {what}; keeping the last copy");
        }
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            notified = listener.recv() => {
                if let Err(error) = notified {
                    tracing::warn!(error = %cause_chain(&error), "lost the notifications of {what}; reconnecting");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
            () = tokio::time::sleep(interval) => {}
        }
    }
}
