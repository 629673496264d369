//! The pace of a delivery run (sends, edits and deletes alike): this
//! process's share of `BROADCAST_RATE` held by a governor, and the pause
//! every request of the process takes after a 429.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt};
use governor::{Quota, RateLimiter};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::store::instances;

/// The governor of one delivery run: a direct (not keyed) rate limiter.
pub(super) type DirectLimiter = RateLimiter<
    governor::state::NotKeyed,
    governor::state::InMemoryState,
    governor::clock::DefaultClock,
>;
/// How many sends the governor lets through at once.
const BURST: NonZeroU32 = NonZeroU32::new(2).unwrap();

/// The pace of one pass of the worker: this process's share of
/// `BROADCAST_RATE` and the governor holding it, shared by everything the
/// pass sends (deliveries, publishes, edits, deletes).
pub(super) struct Pace {
    pub(super) per_process: u32,
    pub(super) limiter: DirectLimiter,
}

/// This process's pace: `BROADCAST_RATE` split between the running
/// processes, and the pause every request of the process takes after a 429.
/// The worker owns one; clones share the pause.
#[derive(Debug, Clone)]
pub(super) struct Pacer {
    /// `BROADCAST_RATE`: sends per second across all processes.
    rate: u32,
    /// Until when every send of this process waits, after a 429.
    pause: Arc<Mutex<Option<Instant>>>,
}

impl Pacer {
    pub(super) fn new(rate: u32) -> Self {
        Self {
            rate,
            pause: Arc::default(),
        }
    }

    /// This process's share of `BROADCAST_RATE` (split evenly between the
    /// running processes) and a governor holding it.
    pub(super) async fn governor(&self, pool: &sqlx::PgPool) -> Result<Pace, sqlx::Error> {
        let processes = instances::running_count(pool).await?.max(1);
        let per_process = (self.rate as i64 / processes).max(1) as u32;
        // A burst of two: a send that reaches the governor a few milliseconds
        // late (task scheduling) takes its turn then instead of losing it, so
        // the long-run rate stays at `per_process` (tests/it/production_transport.rs
        // measured 95-97 % of it with a burst of one, 98 % with two).
        let limiter = RateLimiter::direct(
            Quota::per_second(NonZeroU32::new(per_process).unwrap_or(NonZeroU32::MIN))
                .allow_burst(BURST),
        );
        Ok(Pace {
            per_process,
            limiter,
        })
    }

    /// Lets `claimed` through one at a time at the governor's pace, after any
    /// 429 pause: claims are paced, not sends, so the next batch is claimed
    /// once the last one has passed the governor.
    ///
    /// Boxed: unboxed, rustc fails to prove the worker's task `Send` ("Send
    /// is not general enough", a known limit of its higher-ranked lifetime
    /// checks for borrowing futures inside stream combinators).
    pub(super) fn at_pace<'a, T: Send + 'a>(
        &'a self,
        claimed: impl Stream<Item = T> + Send + 'a,
        pace: &'a Pace,
    ) -> BoxStream<'a, T> {
        claimed
            .then(move |item| async move {
                self.wait_out_pause().await;
                pace.limiter.until_ready().await;
                item
            })
            .boxed()
    }

    /// Pauses every send of this process for `secs` (after a 429).
    pub(super) async fn pause_for(&self, secs: f64) {
        *self.pause.lock().await = Some(Instant::now() + Duration::from_secs_f64(secs));
    }

    /// Waits until the pause after a 429 (if any) is over.
    pub(super) async fn wait_out_pause(&self) {
        let until = *self.pause.lock().await;
        if let Some(until) = until
            && until > Instant::now()
        {
            tokio::time::sleep_until(until).await;
        }
    }
}
