//! The claiming side of a delivery run: a stream of the deliveries this
//! process claims, one batch at a time, asked for the next batch only when
//! the worker has taken every delivery of the last one.

use std::time::Duration;

use futures_util::{Stream, StreamExt};
use serenity::all::CreateEmbed;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::worker::BroadcastWorker;
use crate::store::broadcasts::{self, BroadcastRow, Claimed};

/// A claimed delivery is another process's to take after this.
pub(super) const LEASE_SECS: i64 = 30;
/// The progress message is edited at most this often.
pub(super) const PROGRESS_EVERY: Duration = Duration::from_secs(2);

/// Claims `batch` deliveries of `broadcast` at a time (and shows progress
/// every [`PROGRESS_EVERY`]) until nothing is left to claim, shutdown, or a
/// database error, which it leaves in `error` for the worker to return.
pub(super) struct Claims<'a> {
    pub(super) worker: &'a BroadcastWorker,
    pub(super) broadcast: &'a BroadcastRow,
    pub(super) embed: &'a CreateEmbed,
    pub(super) shutdown: &'a CancellationToken,
    pub(super) batch: i64,
    pub(super) last_progress: Instant,
    pub(super) error: &'a std::sync::Mutex<Option<sqlx::Error>>,
}

type Batch = futures_util::stream::Iter<std::vec::IntoIter<Claimed>>;

impl<'a> Claims<'a> {
    pub(super) fn into_stream(self) -> impl Stream<Item = Claimed> + Send + 'a {
        futures_util::stream::unfold(self, Claims::next).flatten()
    }

    async fn next(mut self) -> Option<(Batch, Self)> {
        if self.shutdown.is_cancelled() {
            return None;
        }
        let worker = self.worker;
        if self.last_progress.elapsed() >= PROGRESS_EVERY {
            self.last_progress = Instant::now();
            worker.show_progress(self.broadcast, self.embed, None).await;
        }
        let (id, batch) = (self.broadcast.id, self.batch);
        match broadcasts::claim(&worker.pool, id, worker.instance_id, batch, LEASE_SECS).await {
            Ok(claimed) if claimed.is_empty() => None,
            Ok(claimed) => Some((futures_util::stream::iter(claimed), self)),
            Err(error) => {
                *self.error.lock().unwrap_or_else(|e| e.into_inner()) = Some(error);
                None
            }
        }
    }
}
