//! The command-stat recorder. Command dispatch only does a non-blocking push
//! into a bounded channel; a background task writes batches. When the database
//! is slow or down, events are dropped and counted rather than ever delaying a
//! command or growing memory without bound.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::mpsc;
use tokio::task::{self, JoinSet};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use super::metrics::CommandTally;
use crate::error::cause_chain;
use crate::store::command_stats::{self, CommandEvent};

/// Events that make a lane write without waiting for the flush tick: the
/// usual statement size of a busy bot.
pub const BATCH_SIZE: usize = 1_000;
/// Most events per INSERT statement. A lane that has fallen behind (more
/// than [`BATCH_SIZE`] waiting when its writer comes free) writes up to this
/// many at once: per-statement costs are shared by more events exactly when
/// the database is the bottleneck, so a backlog catches up instead of growing
/// (measured: a backlogged flusher writes 15-25% more events per second).
pub const MAX_BATCH_SIZE: usize = 5 * BATCH_SIZE;
/// How often buffered events are written even if the batch is not full.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(1);
/// Channel capacity: about ten seconds of a very busy bot.
pub const CHANNEL_CAPACITY: usize = 10_000;
/// Events kept for retry while the database is unreachable; older ones are dropped.
const MAX_PENDING: usize = 10 * BATCH_SIZE;
const RETRY_DELAY: Duration = Duration::from_secs(2);
/// Batches written at once (each on its own pooled connection). Two keep both
/// cores of a small database busy; three or four measured no faster there,
/// since the database's CPU, not waiting, is then the limit.
pub const WRITERS: usize = 2;
/// Events taken from the channel per wake-up of the flusher.
const RECEIVE_CHUNK: usize = 256;

/// Counters a health view or `/metrics` can read.
#[derive(Debug, Default)]
pub struct RecorderCounters {
    /// Command uses written to the database.
    pub recorded: AtomicU64,
    /// Command uses dropped because the queue was full.
    pub dropped: AtomicU64,
    /// Batch writes that failed (their events wait for the retry).
    pub write_failures: AtomicU64,
    /// Per command since this process started: durations and errors for
    /// `/metrics`, counted at the push (so dropped events count too). The
    /// lock is held for one map lookup; the set of commands is the bot's
    /// registered commands, so it stays small.
    pub commands: Mutex<BTreeMap<String, CommandTally>>,
}

impl RecorderCounters {
    fn count(&self, event: &CommandEvent) {
        let mut commands = self
            .commands
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match commands.get_mut(&event.command) {
            Some(tally) => tally.add(event),
            None => {
                let mut tally = CommandTally::default();
                tally.add(event);
                commands.insert(event.command.clone(), tally);
            }
        }
    }

    /// A copy of the per-command figures, in command order.
    pub fn command_tallies(&self) -> Vec<(String, CommandTally)> {
        let commands = self
            .commands
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        commands
            .iter()
            .map(|(name, tally)| (name.clone(), tally.clone()))
            .collect()
    }
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
    pub fn enqueue(&self, event: CommandEvent) {
        self.counters.count(&event);
        if self.sender.try_send(event).is_err() {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// What was recorded and dropped.
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

/// Events waiting for one writer. Events are split between lanes by server,
/// so two batches written at once never update the same per-server row and
/// neither waits for the other's commit.
#[derive(Debug, Default)]
struct Lane {
    buffer: Vec<CommandEvent>,
    /// The task writing this lane's current batch, if one is.
    writing: Option<task::Id>,
}

impl Lane {
    fn of(event: &CommandEvent) -> usize {
        (event.guild_id.unwrap_or(event.user_id) % WRITERS as u64) as usize
    }

    /// Starts writing this lane's oldest events, up to [`MAX_BATCH_SIZE`].
    fn write(&mut self, writes: &mut JoinSet<BatchOutcome>, pool: &PgPool) {
        let take = self.buffer.len().min(MAX_BATCH_SIZE);
        let batch: Vec<CommandEvent> = self.buffer.drain(..take).collect();
        let pool = pool.clone();
        let handle = writes.spawn(async move {
            match command_stats::insert_batch(&pool, &batch).await {
                Ok(()) => Ok(batch.len()),
                Err(error) => Err((batch, error)),
            }
        });
        self.writing = Some(handle.id());
    }
}

/// Drains `receiver` into the database until `shutdown`, then writes whatever
/// is still buffered or queued before returning.
///
/// Up to [`WRITERS`] batches are written at once (one per `Lane`), so the
/// database's cores share the work and receiving the next batch overlaps with
/// writing the last. While writes fail, at most `MAX_PENDING` events wait
/// for the retry; past that the channel fills and new events are dropped and
/// counted at the push.
pub async fn run_flusher(
    pool: PgPool,
    receiver: &mut mpsc::Receiver<CommandEvent>,
    counters: Arc<RecorderCounters>,
    shutdown: CancellationToken,
) {
    let mut lanes: Vec<Lane> = (0..WRITERS).map(|_| Lane::default()).collect();
    let mut writes: JoinSet<BatchOutcome> = JoinSet::new();
    let mut incoming: Vec<CommandEvent> = Vec::with_capacity(RECEIVE_CHUNK);
    let mut ticker = tokio::time::interval(FLUSH_INTERVAL);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut retry_at: Option<Instant> = None;

    loop {
        let may_write = retry_at.is_none_or(|at| Instant::now() >= at);
        if may_write {
            start_writes(&mut lanes, BATCH_SIZE, &mut writes, &pool);
        }
        let pending: usize = lanes.iter().map(|lane| lane.buffer.len()).sum();
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            Some(written) = writes.join_next_with_id(), if !writes.is_empty() => {
                if let Some(at) = settle(written, &mut lanes, &counters) {
                    retry_at = Some(at);
                }
            }
            _ = ticker.tick() => {
                if may_write {
                    start_writes(&mut lanes, 1, &mut writes, &pool);
                }
            }
            // Polled after the tick: under a steady stream of events the tick
            // must still come round, or a quiet lane would wait for a full batch.
            // Events are taken a few hundred at a time, so the loop runs
            // once per chunk rather than once per event.
            received = receiver.recv_many(&mut incoming, RECEIVE_CHUNK), if pending < MAX_PENDING => {
                if received == 0 {
                    break; // every sender is gone
                }
                for event in incoming.drain(..) {
                    lanes[Lane::of(&event)].buffer.push(event);
                }
            }
        }
    }

    // Shutdown: let the writes in flight finish, take everything already
    // queued, then write it all.
    while let Some(written) = writes.join_next_with_id().await {
        settle(written, &mut lanes, &counters);
    }
    let mut buffer: Vec<CommandEvent> = lanes.into_iter().flat_map(|lane| lane.buffer).collect();
    receiver.close();
    while let Ok(event) = receiver.try_recv() {
        buffer.push(event);
    }
    let mut written = 0;
    for batch in buffer.chunks(MAX_BATCH_SIZE) {
        if let Err(error) = command_stats::insert_batch(&pool, batch).await {
            let lost = buffer.len() - written;
            counters.dropped.fetch_add(lost as u64, Ordering::Relaxed);
            tracing::error!(
                lost,
                error = %cause_chain(&error),
                "command events could not be written before shutdown"
            );
            return;
        }
        written += batch.len();
        counters
            .recorded
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
    }
}

/// Starts a write on every idle lane holding at least `min_events`: a full
/// batch as soon as there is one, anything at all on the flush tick.
fn start_writes(
    lanes: &mut [Lane],
    min_events: usize,
    writes: &mut JoinSet<BatchOutcome>,
    pool: &PgPool,
) {
    for lane in lanes {
        if lane.writing.is_none() && lane.buffer.len() >= min_events {
            lane.write(writes, pool);
        }
    }
}

/// A finished batch write: its events back when it failed.
type BatchOutcome = Result<usize, (Vec<CommandEvent>, sqlx::Error)>;

/// Counts a finished write and frees its lane. A failed batch goes back into
/// its lane (which is then cut to its share of [`MAX_PENDING`], oldest first)
/// and the time of the next attempt is returned.
fn settle(
    written: Result<(task::Id, BatchOutcome), task::JoinError>,
    lanes: &mut [Lane],
    counters: &RecorderCounters,
) -> Option<Instant> {
    let id = match &written {
        Ok((id, _)) => *id,
        Err(error) => error.id(),
    };
    let lane = lanes.iter_mut().find(|lane| lane.writing == Some(id))?;
    lane.writing = None;
    let (batch, error) = match written {
        Ok((_, Ok(count))) => {
            counters.recorded.fetch_add(count as u64, Ordering::Relaxed);
            return None;
        }
        Ok((_, Err(failed))) => failed,
        Err(panicked) => {
            tracing::error!(error = %panicked, "a command-event write task panicked");
            return Some(Instant::now() + RETRY_DELAY);
        }
    };
    counters.write_failures.fetch_add(1, Ordering::Relaxed);
    lane.buffer.splice(0..0, batch);
    let excess = lane.buffer.len().saturating_sub(MAX_PENDING / WRITERS);
    lane.buffer.drain(..excess);
    counters.dropped.fetch_add(excess as u64, Ordering::Relaxed);
    tracing::error!(
        pending = lane.buffer.len(),
        dropped = excess,
        error = %cause_chain(&error),
        "failed to write command events; will retry"
    );
    Some(Instant::now() + RETRY_DELAY)
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
            outcome: crate::store::command_stats::Outcome::Ok,
            first_response_ms: 2,
            duration_ms: 3,
        }
    }

    #[test]
    fn a_full_channel_drops_and_counts_instead_of_blocking() {
        let (recorder, _receiver) = CommandRecorder::new(2);
        for _ in 0..5 {
            recorder.enqueue(event());
        }
        assert_eq!(recorder.dropped(), 3);
    }
}
