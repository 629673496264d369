//! The claiming side of a delivery or follow-up run: a stream of the rows
//! this process claims, one batch at a time, asked for the next batch only
//! when the worker has taken every row of the last one.

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// A claimed row is another process's to take after this.
pub(super) const LEASE_SECS: i64 = 30;
/// The progress message is edited at most this often.
pub(super) const PROGRESS_EVERY: Duration = Duration::from_secs(2);

/// Claims with `claim` batch after batch (calling `progress` first whenever
/// [`PROGRESS_EVERY`] has passed) until a batch comes back empty, `shutdown`
/// fires, or the database fails, which is left in `error` for the caller to
/// return once the stream has run dry. Deliveries and follow-up targets
/// (edits, deletes) are claimed the same way.
pub(super) fn claimed_in_batches<'a, T, Claim, Claimed, Progress, Shown>(
    shutdown: &'a CancellationToken,
    error: &'a Mutex<Option<sqlx::Error>>,
    claim: Claim,
    progress: Progress,
) -> impl Stream<Item = T> + Send + 'a
where
    T: Send + 'a,
    Claim: Fn() -> Claimed + Send + Sync + 'a,
    Claimed: Future<Output = Result<Vec<T>, sqlx::Error>> + Send + 'a,
    Progress: Fn() -> Shown + Send + Sync + 'a,
    Shown: Future<Output = ()> + Send + 'a,
{
    let state = (Instant::now(), claim, progress);
    futures_util::stream::unfold(
        state,
        move |(mut last_progress, claim, progress)| async move {
            if shutdown.is_cancelled() {
                return None;
            }
            if last_progress.elapsed() >= PROGRESS_EVERY {
                last_progress = Instant::now();
                progress().await;
            }
            match claim().await {
                Ok(claimed) if claimed.is_empty() => None,
                Ok(claimed) => Some((
                    futures_util::stream::iter(claimed),
                    (last_progress, claim, progress),
                )),
                Err(claim_error) => {
                    *error.lock().unwrap_or_else(|e| e.into_inner()) = Some(claim_error);
                    None
                }
            }
        },
    )
    .flatten()
}

/// What [`claimed_in_batches`] left in `error`, if anything.
pub(super) fn claim_error(error: Mutex<Option<sqlx::Error>>) -> Result<(), sqlx::Error> {
    match error.into_inner().unwrap_or_else(|e| e.into_inner()) {
        Some(error) => Err(error),
        None => Ok(()),
    }
}
