//! Tables held in memory by every process, kept current by their triggers'
//! NOTIFYs and a periodic re-read: the re-read catches a notification lost
//! while the listening connection was down. The developer list, the
//! blocklist and maintenance mode are read on every interaction and must
//! never wait on the database; all three share one listening connection,
//! so they hold one of the pool's connections, not three.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio_util::sync::CancellationToken;

use crate::error::cause_chain;

/// A re-read of one table into its in-memory copy.
pub type Reload = Box<
    dyn Fn(PgPool) -> Pin<Box<dyn Future<Output = Result<(), sqlx::Error>> + Send>> + Send + Sync,
>;

/// One table held in memory.
pub struct Followed {
    /// The channel its trigger notifies.
    pub channel: &'static str,
    /// What it is, for the log.
    pub what: &'static str,
    /// Re-reads it into its copy; on failure the copy stays as it was.
    pub reload: Reload,
}

impl Followed {
    /// `copy` kept current by `reload(copy, pool)`, on `channel`'s
    /// notifications.
    pub fn new<T, F, Fut>(channel: &'static str, what: &'static str, copy: T, reload: F) -> Self
    where
        T: Clone + Send + Sync + 'static,
        F: Fn(T, PgPool) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), sqlx::Error>> + Send + 'static,
    {
        Self {
            channel,
            what,
            reload: Box::new(move |pool| Box::pin(reload(copy.clone(), pool))),
        }
    }
}

/// Re-reads every table of `followed` once LISTEN is in place (what changed
/// before it took effect), then each on its notification and all of them
/// every `interval`, until `shutdown`. A failed re-read is logged and leaves
/// that copy as it was.
pub async fn keep_current(
    pool: PgPool,
    followed: &[Followed],
    interval: Duration,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut listener = PgListener::connect_with(&pool).await?;
    listener
        .listen_all(followed.iter().map(|table| table.channel))
        .await?;
    let all: Vec<&Followed> = followed.iter().collect();
    let mut due = all.clone();
    loop {
        for table in due {
            if let Err(error) = (table.reload)(pool.clone()).await {
                tracing::warn!(error = %cause_chain(&error), "could not refresh {}; keeping the last copy", table.what);
            }
        }
        due = tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            notified = listener.recv() => match notified {
                Ok(notification) => followed
                    .iter()
                    .filter(|table| table.channel == notification.channel())
                    .collect(),
                Err(error) => {
                    tracing::warn!(error = %cause_chain(&error), "lost the notifications of the in-memory tables; reconnecting");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    all.clone()
                }
            },
            () = tokio::time::sleep(interval) => all.clone(),
        };
    }
}
