//! The pace of a delivery run (sends, edits and deletes alike): this
//! process's share of `BROADCAST_RATE` held by a governor, and the pause
//! every request of the process takes after a 429.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::{Quota, RateLimiter};
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::worker::BroadcastWorker;

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

impl BroadcastWorker {
    /// This process's share of `BROADCAST_RATE` (split evenly between the
    /// running processes) and a governor holding it.
    pub(super) async fn governor(&self) -> Result<Pace, sqlx::Error> {
        let processes = crate::store::instances::running_count(&self.pool)
            .await?
            .max(1);
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

    /// Pauses every send of this process for `secs` (after a 429).
    pub(super) async fn pause_for(&self, secs: f64) {
        *self.pause.lock().await = Some(Instant::now() + Duration::from_secs_f64(secs));
    }
}

/// Waits until the pause after a 429 (if any) is over.
pub(super) async fn wait_out_pause(pause: &Mutex<Option<Instant>>) {
    let until = *pause.lock().await;
    if let Some(until) = until
        && until > Instant::now()
    {
        tokio::time::sleep_until(until).await;
    }
}
