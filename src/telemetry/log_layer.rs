//! A tracing [`Layer`] that persists operational events into `system_logs`:
//! every event carrying an `event_type` field, and every ERROR event (typed
//! `error` when it names none). So code logs once, with `tracing`, and the
//! entry lands both on stderr and in `/admin logs`:
//!
//! ```ignore
//! tracing::warn!(event_type = "config_update", guild_id = %id, "language set to de");
//! ```
//!
//! The layer never blocks the code that logs: it only does a non-blocking push
//! into a bounded queue that a background task drains in batches. When the
//! queue is full the entry is dropped and counted, and the writer reports each
//! run of drops once, as one warning entry.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::Utc;
use sqlx::PgPool;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::filter::{FilterFn, filter_fn};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use crate::error::cause_chain;
use crate::store::logs::{self, NewLogEntry, Severity};

/// Events with this target were already written to `system_logs` by the code
/// that emitted them (see [`super::oplog`]); the layer skips them.
pub const PERSISTED_TARGET: &str = "admin_panel::oplog";
/// Queue capacity: a burst of errors this large is kept, beyond it dropped.
pub const QUEUE_CAPACITY: usize = 10_000;
/// Entries per INSERT.
pub const BATCH_SIZE: usize = 500;
/// The event type of the warning that reports dropped entries.
pub const DROPPED_EVENT_TYPE: &str = "log_dropped";

/// The event types the project itself writes (documented in the README).
pub const KNOWN_EVENT_TYPES: &[&str] = &[
    "guild_join",
    "guild_leave",
    "config_update",
    "command_error",
    "broadcast_sent",
    "broadcast_failed",
    "developer_added",
    "developer_removed",
    "error",
    DROPPED_EVENT_TYPE,
];

/// Entries accepted into the queue and dropped because it was full.
#[derive(Debug, Default)]
pub struct LogCounters {
    /// Entries queued for the writer.
    pub queued: AtomicU64,
    /// Entries dropped because the queue was full.
    pub dropped: AtomicU64,
}

/// The layer. Cheap to clone.
#[derive(Debug, Clone)]
pub struct DbLogLayer {
    sender: mpsc::Sender<NewLogEntry>,
    counters: Arc<LogCounters>,
}

/// The receiving end, drained by [`run_writer`].
#[derive(Debug)]
pub struct LogQueue {
    receiver: mpsc::Receiver<NewLogEntry>,
    counters: Arc<LogCounters>,
}

impl LogQueue {
    /// What was queued and dropped.
    pub fn counters(&self) -> &Arc<LogCounters> {
        &self.counters
    }
}

impl DbLogLayer {
    /// A layer and its queue, with room for `capacity` entries.
    pub fn new(capacity: usize) -> (Self, LogQueue) {
        let (sender, receiver) = mpsc::channel(capacity.max(1));
        let counters = Arc::new(LogCounters::default());
        let layer = Self {
            sender,
            counters: counters.clone(),
        };
        (layer, LogQueue { receiver, counters })
    }

    /// What was queued and dropped.
    pub fn counters(&self) -> &Arc<LogCounters> {
        &self.counters
    }
}

static INSTALLED_QUEUE: Mutex<Option<LogQueue>> = Mutex::new(None);

/// The layer a host bot adds to its subscriber (next to its own `fmt` layer):
///
/// ```ignore
/// tracing_subscriber::registry()
///     .with(tracing_subscriber::fmt::layer().with_filter(EnvFilter::from_default_env()))
///     .with(admin_panel::telemetry::log_layer::layer())
///     .init();
/// ```
///
/// Its queue is kept for the next [`crate::panel::AdminPanel::start`], which
/// starts the writer. The layer carries its own filter, which `RUST_LOG` does
/// not narrow: typed events and errors reach `/admin logs` even when stderr is
/// quiet, and every other callsite is disabled for it once, when first seen.
pub fn layer<S>() -> impl Layer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let (layer, queue) = DbLogLayer::new(QUEUE_CAPACITY);
    *INSTALLED_QUEUE.lock().unwrap_or_else(|e| e.into_inner()) = Some(queue);
    layer.with_filter(persisted_callsites())
}

/// Only event callsites that are errors or carry an `event_type` field.
pub fn persisted_callsites() -> FilterFn<fn(&Metadata<'_>) -> bool> {
    fn worth_persisting(metadata: &Metadata<'_>) -> bool {
        metadata.is_event()
            && metadata.target() != PERSISTED_TARGET
            && (*metadata.level() == Level::ERROR
                || metadata.fields().field("event_type").is_some())
    }
    filter_fn(worth_persisting as fn(&Metadata<'_>) -> bool)
}

/// The queue [`layer`] left for the panel, if a layer was installed.
pub(crate) fn take_installed_queue() -> Option<LogQueue> {
    INSTALLED_QUEUE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
}

impl<S: Subscriber> Layer<S> for DbLogLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let metadata = event.metadata();
        let level = *metadata.level();
        // Cheap checks first: most events are neither errors nor typed.
        let typed = metadata.fields().field("event_type").is_some();
        if (!typed && level != Level::ERROR) || metadata.target() == PERSISTED_TARGET {
            return;
        }
        let mut fields = EntryFields::default();
        event.record(&mut fields);
        let fields = fields.finish();
        let severity = match level {
            Level::ERROR => Severity::Error,
            Level::WARN => Severity::Warning,
            _ => Severity::Info,
        };
        let entry = NewLogEntry {
            created_at: Utc::now(),
            severity,
            event_type: fields.event_type.unwrap_or_else(|| "error".to_owned()),
            guild_id: fields.guild_id,
            message: fields.message,
        };
        match self.sender.try_send(entry) {
            Ok(()) => self.counters.queued.fetch_add(1, Ordering::Relaxed),
            Err(_) => self.counters.dropped.fetch_add(1, Ordering::Relaxed),
        };
    }
}

/// Collects an event's fields: `event_type` and `guild_id` into their columns,
/// the message and every other field (`key=value`) into the message.
#[derive(Default)]
struct EntryFields {
    event_type: Option<String>,
    guild_id: Option<u64>,
    message: String,
    extra: String,
}

impl EntryFields {
    fn record_text(&mut self, field: &Field, value: &str) {
        match field.name() {
            "event_type" => self.event_type = Some(value.to_owned()),
            "guild_id" => match value.parse() {
                Ok(id) => self.guild_id = Some(id),
                Err(_) => self.push_extra(field, value),
            },
            "message" => self.message.push_str(value),
            _ => self.push_extra(field, value),
        }
    }

    fn push_extra(&mut self, field: &Field, value: &str) {
        let _ = write!(self.extra, " {}={}", field.name(), value);
    }
}

impl Visit for EntryFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.record_text(field, value);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.record_text(field, &value.to_string());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.record_text(field, &value.to_string());
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.record_text(field, &cause_chain(value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.record_text(field, &format!("{value:?}"));
    }
}

impl EntryFields {
    /// The message followed by the other fields.
    fn finish(mut self) -> Self {
        self.message.push_str(&self.extra);
        self.message = self.message.trim_start().to_owned();
        self
    }
}

/// Drains the queue into `system_logs` in batches until `shutdown`, then writes
/// what is left. Write failures are reported on stderr (never through the
/// layer, which would feed the failure back into the queue) and the batch is
/// counted as dropped.
pub async fn run_writer(pool: PgPool, queue: &mut LogQueue, shutdown: CancellationToken) {
    let mut batch = Vec::with_capacity(BATCH_SIZE);
    let mut reported_drops = 0;
    loop {
        let received = tokio::select! {
            received = queue.receiver.recv_many(&mut batch, BATCH_SIZE) => received,
            () = shutdown.cancelled() => {
                while let Ok(entry) = queue.receiver.try_recv() {
                    batch.push(entry);
                }
                write(&pool, &mut batch, &queue.counters).await;
                report_drops(&pool, &queue.counters, &mut reported_drops).await;
                return;
            }
        };
        if received == 0 {
            return;
        }
        write(&pool, &mut batch, &queue.counters).await;
        report_drops(&pool, &queue.counters, &mut reported_drops).await;
    }
}

async fn write(pool: &PgPool, batch: &mut Vec<NewLogEntry>, counters: &LogCounters) {
    for chunk in batch.chunks(BATCH_SIZE) {
        if let Err(error) = logs::insert_batch(pool, chunk).await {
            counters
                .dropped
                .fetch_add(chunk.len() as u64, Ordering::Relaxed);
            tracing::warn!(target: PERSISTED_TARGET, error = %cause_chain(&error), entries = chunk.len(), "could not write log entries");
        }
    }
    batch.clear();
}

/// One warning entry per run of drops, naming how many were lost since the last.
async fn report_drops(pool: &PgPool, counters: &LogCounters, reported: &mut u64) {
    let dropped = counters.dropped.load(Ordering::Relaxed);
    if dropped <= *reported {
        return;
    }
    let lost = dropped - *reported;
    let message = format!(
        "{lost} operational log entries were dropped because the log queue ({QUEUE_CAPACITY} entries) was full or the database refused them"
    );
    tracing::warn!(target: PERSISTED_TARGET, lost, "{message}");
    if logs::insert(pool, Severity::Warning, DROPPED_EVENT_TYPE, None, &message)
        .await
        .is_ok()
    {
        *reported = dropped;
    }
}
