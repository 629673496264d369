//! The pace of a delivery run (sends, edits and deletes alike): this
//! process's share of `BROADCAST_RATE` held by a governor, the pause every
//! request of the process takes after a 429, and the slow probing while
//! Discord does not answer at all (an outage: every answer a 5xx or a
//! timeout), so an outage costs about a request a second, not the full
//! rate, and no server's delivery fails for it.

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
/// Answers in a row that are 5xx or timeouts, with none in between that
/// Discord answered, after which Discord counts as down as a whole.
const OUTAGE_AFTER: u32 = 5;
/// The first wait between probes while Discord is down; it doubles (with
/// jitter) up to [`PROBE_BACKOFF_MAX`].
const PROBE_BACKOFF_MIN: Duration = Duration::from_secs(1);
const PROBE_BACKOFF_MAX: Duration = Duration::from_secs(8);

/// What an answer from Discord says about Discord as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Answer {
    /// Discord answered (a success, or an error about this request).
    Answered,
    /// A 5xx, a timeout or a failed connection: nothing was answered.
    NotAnswered,
}

/// How Discord has been answering this process.
#[derive(Debug)]
struct Outage {
    /// Requests in a row that Discord did not answer.
    unanswered: u32,
    /// Since when Discord counts as down, if it does.
    down_since: Option<Instant>,
    /// When the next probe may go, while down.
    next_probe_at: Instant,
    /// The wait after the next probe.
    backoff: Duration,
}

impl Default for Outage {
    fn default() -> Self {
        Self {
            unanswered: 0,
            down_since: None,
            next_probe_at: Instant::now(),
            backoff: PROBE_BACKOFF_MIN,
        }
    }
}

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
    /// Whether Discord answers at all.
    outage: Arc<std::sync::Mutex<Outage>>,
}

impl Pacer {
    pub(super) fn new(rate: u32) -> Self {
        Self {
            rate,
            pause: Arc::default(),
            outage: Arc::default(),
        }
    }

    /// Notes how Discord answered one request. [`OUTAGE_AFTER`] requests in
    /// a row without an answer make it down; any answer makes it up again.
    pub(super) fn note(&self, answer: Answer) {
        let mut outage = self.outage();
        match answer {
            Answer::Answered => {
                if let Some(since) = outage.down_since {
                    tracing::warn!(
                        down_for_secs = since.elapsed().as_secs(),
                        "Discord answers again; broadcasts resume at full rate"
                    );
                }
                *outage = Outage::default();
            }
            Answer::NotAnswered => {
                outage.unanswered += 1;
                if outage.unanswered >= OUTAGE_AFTER && outage.down_since.is_none() {
                    tracing::warn!(
                        "Discord is not answering (5xx or timeouts on {OUTAGE_AFTER} requests in a row); broadcasts retry about once a second until it does"
                    );
                    let now = Instant::now();
                    outage.down_since = Some(now);
                    outage.next_probe_at = now + PROBE_BACKOFF_MIN;
                    outage.backoff = PROBE_BACKOFF_MIN;
                }
            }
        }
    }

    /// Whether Discord counts as down as a whole (see [`Self::note`]).
    pub(super) fn discord_down(&self) -> bool {
        self.outage().down_since.is_some()
    }

    /// While Discord is down, waits for the next probe's turn (backing off
    /// exponentially, with jitter) and returns `true`: the caller sends one
    /// request. Returns `false` at once while Discord answers.
    pub(super) async fn probe_turn(&self) -> bool {
        let at = {
            let mut outage = self.outage();
            if outage.down_since.is_none() {
                return false;
            }
            let at = outage.next_probe_at.max(Instant::now());
            let jitter = rand::random_range(0.75..1.25);
            outage.next_probe_at = at + outage.backoff.mul_f64(jitter);
            outage.backoff = (outage.backoff * 2).min(PROBE_BACKOFF_MAX);
            at
        };
        tokio::time::sleep_until(at).await;
        true
    }

    fn outage(&self) -> std::sync::MutexGuard<'_, Outage> {
        self.outage.lock().unwrap_or_else(|e| e.into_inner())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn discord_is_down_after_five_unanswered_requests_and_probed_ever_more_slowly() {
        let pacer = Pacer::new(40);
        for _ in 0..OUTAGE_AFTER - 1 {
            pacer.note(Answer::NotAnswered);
        }
        assert!(!pacer.discord_down());
        assert!(!pacer.probe_turn().await, "full rate while it answers");
        pacer.note(Answer::NotAnswered);
        assert!(pacer.discord_down());

        let started = Instant::now();
        let mut turns = Vec::new();
        for _ in 0..6 {
            assert!(pacer.probe_turn().await);
            turns.push(started.elapsed().as_secs_f64());
        }
        let gaps: Vec<f64> = turns.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(
            turns[0] >= 0.99,
            "the first probe a second after: {turns:?}"
        );
        assert!(
            gaps.iter().all(|gap| *gap >= 0.74),
            "never faster than about 1/s: {gaps:?}"
        );
        assert!(
            gaps.iter()
                .all(|gap| *gap <= PROBE_BACKOFF_MAX.as_secs_f64() * 1.25),
            "{gaps:?}"
        );
        assert!(gaps[3] > gaps[0], "backing off: {gaps:?}");

        pacer.note(Answer::Answered);
        assert!(!pacer.discord_down());
        assert!(!pacer.probe_turn().await);
    }
}
