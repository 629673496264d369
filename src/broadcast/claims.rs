//! The claiming side of a delivery or follow-up run: a stream of the rows
//! this process claims, one batch at a time, asked for the next batch only
//! when the worker has taken every row of the last one; and the release of
//! claims nobody will send (a crashed process's, or this one's as it stops).

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::db::process_is_alive;
use crate::error::cause_chain;
use crate::store::broadcasts;

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

/// Puts what process `instance` claimed but did not send back in the queue
/// (it stops: shutdown, or a refused token).
pub(super) async fn release_own(pool: &sqlx::PgPool, instance: i64) {
    match broadcasts::release_claims_of(pool, instance).await {
        Ok(0) => {}
        Ok(released) => tracing::info!(
            released,
            "deliveries and follow-ups not sent were put back in the queue"
        ),
        Err(error) => {
            tracing::warn!(error = %cause_chain(&error), "could not put unsent deliveries back in the queue; their leases will expire")
        }
    }
}

/// Deliveries leased by processes on `host` that no longer run are released
/// at once (a restart after a crash resumes without waiting).
pub(super) async fn release_crashed(pool: &sqlx::PgPool, host: &str, instance: i64) {
    let pids = match broadcasts::claiming_pids(pool, host, instance).await {
        Ok(pids) => pids,
        Err(error) => {
            tracing::warn!(error = %cause_chain(&error), "could not look for crashed claims");
            return;
        }
    };
    let dead: Vec<i32> = pids
        .into_iter()
        .filter(|pid| !process_is_alive(*pid))
        .collect();
    if dead.is_empty() {
        return;
    }
    match broadcasts::release_dead_claims(pool, host, &dead).await {
        Ok(released) => tracing::info!(
            released,
            ?dead,
            "released deliveries claimed by crashed processes"
        ),
        Err(error) => {
            tracing::warn!(error = %cause_chain(&error), "could not release crashed claims")
        }
    }
}
