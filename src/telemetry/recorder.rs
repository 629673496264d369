//! The command-stat recorder. Command dispatch only does a non-blocking push
//! into a bounded channel; a background task writes batches. When the database
//! is slow or down, events are dropped and counted rather than ever delaying a
//! command or growing memory without bound.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::error::cause_chain;
use crate::store::command_stats::{self, CommandEvent};

/// Events per INSERT statement; also the size that triggers an early flush.
pub const BATCH_SIZE: usize = 1_000;
/// How often buffered events are written even if the batch is not full.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(1);
/// Channel capacity: about ten seconds of a very busy bot.
pub const CHANNEL_CAPACITY: usize = 10_000;
/// Events kept for retry while the database is unreachable; older ones are dropped.
const MAX_PENDING: usize = 10 * BATCH_SIZE;
const RETRY_DELAY: Duration = Duration::from_secs(2);

/// Counters a health view or `/metrics` can read.
#[derive(Debug, Default)]
pub struct RecorderCounters {
    pub recorded: AtomicU64,
    pub dropped: AtomicU64,
}

/// The cheap, cloneable handle command hooks push into.
#[derive(Debug, Clone)]
pub struct CommandRecorder {
    sender: mpsc::Sender<CommandEvent>,
    counters: Arc<RecorderCounters>,
}

impl CommandRecorder {
    /// A recorder and the receiving end its flusher task drains.
    pub fn new(capacity: usize) -> (Self, mpsc::Receiver<CommandEvent>) {
        let (sender, receiver) = mpsc::channel(capacity);
        let recorder = Self {
            sender,
            counters: Arc::new(RecorderCounters::default()),
        };
        (recorder, receiver)
    }

    /// Never waits: a full channel drops the event and counts it.
    pub fn record(&self, event: CommandEvent) {
        if self.sender.try_send(event).is_err() {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn counters(&self) -> &Arc<RecorderCounters> {
        &self.counters
    }

    /// Events recorded into the database so far (by this process).
    pub fn recorded(&self) -> u64 {
        self.counters.recorded.load(Ordering::Relaxed)
    }

    /// Events lost because the channel was full or the database unreachable.
    pub fn dropped(&self) -> u64 {
        self.counters.dropped.load(Ordering::Relaxed)
    }
}

/// Drains `receiver` into the database until `shutdown`, then writes whatever
/// is still buffered or queued before returning.
pub async fn run_flusher(
    pool: PgPool,
    mut receiver: mpsc::Receiver<CommandEvent>,
    counters: Arc<RecorderCounters>,
    shutdown: CancellationToken,
) {
    let mut buffer: Vec<CommandEvent> = Vec::with_capacity(BATCH_SIZE);
    let mut ticker = tokio::time::interval(FLUSH_INTERVAL);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut retry_at: Option<Instant> = None;

    loop {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            received = receiver.recv() => match received {
                Some(event) => {
                    buffer.push(event);
                    let may_write = retry_at.is_none_or(|at| Instant::now() >= at);
                    if buffer.len() >= BATCH_SIZE && may_write {
                        retry_at = flush(&pool, &mut buffer, &counters).await;
                    }
                }
                None => break,
            },
            _ = ticker.tick() => {
                if !buffer.is_empty() && retry_at.is_none_or(|at| Instant::now() >= at) {
                    retry_at = flush(&pool, &mut buffer, &counters).await;
                }
            }
        }
    }

    // Shutdown: take everything already queued, then write it all.
    receiver.close();
    while let Ok(event) = receiver.try_recv() {
        buffer.push(event);
    }
    if flush(&pool, &mut buffer, &counters).await.is_some() {
        let lost = buffer.len() as u64;
        counters.dropped.fetch_add(lost, Ordering::Relaxed);
        tracing::error!(lost, "command events could not be written before shutdown");
    }
}

/// Writes the buffer in batches. On failure the unwritten events stay buffered
/// (capped at [`MAX_PENDING`]) and the time of the next attempt is returned.
async fn flush(
    pool: &PgPool,
    buffer: &mut Vec<CommandEvent>,
    counters: &RecorderCounters,
) -> Option<Instant> {
    while !buffer.is_empty() {
        let take = buffer.len().min(BATCH_SIZE);
        match command_stats::insert_batch(pool, &buffer[..take]).await {
            Ok(()) => {
                buffer.drain(..take);
                counters.recorded.fetch_add(take as u64, Ordering::Relaxed);
            }
            Err(error) => {
                let excess = buffer.len().saturating_sub(MAX_PENDING);
                buffer.drain(..excess);
                counters.dropped.fetch_add(excess as u64, Ordering::Relaxed);
                tracing::error!(
                    pending = buffer.len(),
                    dropped = excess,
                    error = %cause_chain(&error),
                    "failed to write command events; will retry"
                );
                return Some(Instant::now() + RETRY_DELAY);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn event() -> CommandEvent {
        CommandEvent {
            command: "ping".into(),
            guild_id: None,
            user_id: 1,
            executed_at: Utc::now(),
            success: true,
            duration_ms: 3,
        }
    }

    #[test]
    fn a_full_channel_drops_and_counts_instead_of_blocking() {
        let (recorder, _receiver) = CommandRecorder::new(2);
        for _ in 0..5 {
            recorder.record(event());
        }
        assert_eq!(recorder.dropped(), 3);
    }
}
