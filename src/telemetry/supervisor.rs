//! Supervised background tasks. Each task of the panel (delivery worker,
//! recorder, log writer, retention, heartbeat, sampler, developer list, health
//! server, ...) runs under [`Supervisor::spawn`]: a task that panics or
//! returns an error is logged as an `error` entry (`task_failed`), counted,
//! and started again after a backoff (1 s, doubling to a minute; reset once it
//! has run a minute). [`TaskBoard`] is what `/health`, `/metrics` and
//! `/admin health` read: which tasks run, which are down, how often each was
//! restarted. A task the bot cannot work without is *essential*: while one
//! is down, `/health` answers 503.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use sqlx::PgPool;

use super::oplog;
use crate::error::{Panicked, cause_chain};
use crate::store::logs::Severity;
use crate::ui::health::TaskLine;

/// First pause before a restart; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// How long a task may take to finish after the shutdown (a last flush).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
/// A task that ran this long before failing starts its backoff afresh.
const HEALTHY_RUN: Duration = Duration::from_secs(60);

/// What a task is doing now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    /// Running (or started and not failed since).
    Running,
    /// Failed; waiting out the backoff before the next start.
    Restarting,
    /// Ended with the shutdown.
    Stopped,
}

/// One task, as the health views show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskStatus {
    /// The task's name.
    pub name: &'static str,
    /// Whether `/health` turns unhealthy while it is down.
    pub essential: bool,
    /// What it is doing now.
    pub state: TaskState,
    /// How often it was restarted after failing.
    pub restarts: u64,
    /// Why it last failed (cause chain), if it ever did.
    pub last_error: Option<String>,
}

impl TaskStatus {
    /// The task as `/admin health` (and the alerts reading it) draws it.
    pub fn line(self) -> TaskLine {
        TaskLine {
            name: self.name.to_owned(),
            essential: self.essential,
            running: self.state != TaskState::Restarting,
            restarts: self.restarts,
            last_error: self.last_error,
        }
    }
}

/// The state of every supervised task of one panel.
#[derive(Debug, Default)]
pub struct TaskBoard {
    tasks: RwLock<BTreeMap<&'static str, TaskStatus>>,
}

impl TaskBoard {
    /// Every task, by name.
    pub fn statuses(&self) -> Vec<TaskStatus> {
        self.tasks
            .read()
            .map(|tasks| tasks.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Essential tasks that are not running (failed and waiting to restart).
    pub fn essential_down(&self) -> Vec<&'static str> {
        self.statuses()
            .into_iter()
            .filter(|task| task.essential && task.state == TaskState::Restarting)
            .map(|task| task.name)
            .collect()
    }

    fn update(&self, name: &'static str, essential: bool, change: impl FnOnce(&mut TaskStatus)) {
        if let Ok(mut tasks) = self.tasks.write() {
            let status = tasks.entry(name).or_insert(TaskStatus {
                name,
                essential,
                state: TaskState::Running,
                restarts: 0,
                last_error: None,
            });
            change(status);
        }
    }
}

/// Which process a supervisor belongs to: its `bot_instances` id and start
/// time in microseconds (ids repeat across databases; the pair does not).
pub type ProcessKey = (i64, i64);

/// Faults injected by tests, by (process, task): the supervisor stops that
/// task as if it had crashed. Only with the `test-support` feature.
#[cfg(feature = "test-support")]
static INJECTED_FAULTS: std::sync::Mutex<
    Option<std::collections::HashSet<(ProcessKey, &'static str)>>,
> = std::sync::Mutex::new(None);

/// Test hook (`test-support` only): makes the running `task` of the process `process` (its
/// `bot_instances` id and `started_at` in microseconds) fail once, as a crash
/// would.
#[cfg(feature = "test-support")]
#[doc(hidden)]
pub fn inject_fault(process: ProcessKey, task: &'static str) {
    let mut faults = INJECTED_FAULTS.lock().unwrap_or_else(|e| e.into_inner());
    faults
        .get_or_insert_with(std::collections::HashSet::new)
        .insert((process, task));
    fault_notify().notify_waiters();
}

#[cfg(feature = "test-support")]
fn take_fault(process: ProcessKey, task: &'static str) -> bool {
    let mut faults = INJECTED_FAULTS.lock().unwrap_or_else(|e| e.into_inner());
    faults
        .as_mut()
        .is_some_and(|set| set.remove(&(process, task)))
}

/// Starts tasks and restarts them when they fail, until shutdown.
#[derive(Debug)]
pub struct Supervisor {
    board: Arc<TaskBoard>,
    /// Where failures are written as `task_failed` entries (`None` in unit tests).
    pool: Option<PgPool>,
    shutdown: CancellationToken,
    /// Which process this is, for the test fault hook.
    process: ProcessKey,
    handles: Vec<JoinHandle<()>>,
}

impl Supervisor {
    /// A supervisor whose tasks stop with `shutdown`; `pool` records their failures.
    pub fn new(process: ProcessKey, pool: Option<PgPool>, shutdown: CancellationToken) -> Self {
        Self {
            board: Arc::default(),
            pool,
            shutdown,
            process,
            handles: Vec::new(),
        }
    }

    /// The state of every task it started.
    pub fn board(&self) -> &Arc<TaskBoard> {
        &self.board
    }

    /// The token that stops every task.
    pub fn shutdown_token(&self) -> &CancellationToken {
        &self.shutdown
    }

    /// Runs `start()` as task `name`, starting it again whenever it panics or
    /// returns (an `Ok` return before the shutdown counts as a failure too: a
    /// background task is meant to run until the shutdown).
    pub fn spawn<F, Fut>(&mut self, name: &'static str, essential: bool, start: F)
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let board = self.board.clone();
        let pool = self.pool.clone();
        let shutdown = self.shutdown.clone();
        let process = self.process;
        board.update(name, essential, |_| {});
        self.handles.push(tokio::spawn(async move {
            let mut backoff = FIRST_BACKOFF;
            loop {
                board.update(name, essential, |s| s.state = TaskState::Running);
                let started = Instant::now();
                let mut task = tokio::spawn(start());
                let failure = tokio::select! {
                    joined = &mut task => match joined {
                        Ok(Ok(())) if shutdown.is_cancelled() => None,
                        Ok(Ok(())) => Some("stopped on its own".to_owned()),
                        Ok(Err(error)) => Some(cause_chain(error.as_ref())),
                        Err(join) if join.is_panic() => {
                            Some(Panicked::from_payload(join.into_panic().as_ref()).to_string())
                        }
                        Err(join) => Some(format!("was aborted: {join}")),
                    },
                    () = fault_injected(process, name) => {
                        task.abort();
                        Some("failed (fault injected by a test)".to_owned())
                    }
                    () = shutdown.cancelled() => {
                        // The task sees the same token and finishes its last
                        // write; one that does not is stopped after a grace.
                        if tokio::time::timeout(SHUTDOWN_GRACE, &mut task).await.is_err() {
                            tracing::warn!(task = name, "background task ignored the shutdown; stopped");
                            task.abort();
                        }
                        None
                    }
                };
                let Some(failure) = failure else {
                    board.update(name, essential, |s| s.state = TaskState::Stopped);
                    return;
                };
                if shutdown.is_cancelled() {
                    board.update(name, essential, |s| s.state = TaskState::Stopped);
                    return;
                }
                if started.elapsed() >= HEALTHY_RUN {
                    backoff = FIRST_BACKOFF;
                }
                let message = format!(
                    "background task {name} {failure}; restarting in {} s",
                    backoff.as_secs()
                );
                match &pool {
                    // Stored at once (and echoed to the console).
                    Some(pool) => {
                        oplog::write_entry_or_warn(pool, Severity::Error, "task_failed", None, &message)
                            .await;
                    }
                    None => tracing::error!(event_type = "task_failed", task = name, "{message}"),
                }
                board.update(name, essential, |s| {
                    s.state = TaskState::Restarting;
                    s.restarts += 1;
                    s.last_error = Some(failure);
                });
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = shutdown.cancelled() => {
                        board.update(name, essential, |s| s.state = TaskState::Stopped);
                        return;
                    }
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }));
    }

    /// Cancels every task and waits until each has finished its last write.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        for handle in self.handles {
            let _ = handle.await;
        }
    }
}

/// Resolves once a test has injected a fault for this task. Costs nothing
/// until a fault is injected: it waits on one shared `Notify`.
#[cfg(feature = "test-support")]
async fn fault_injected(process: ProcessKey, name: &'static str) {
    loop {
        let injected = fault_notify().notified();
        if take_fault(process, name) {
            return;
        }
        injected.await;
    }
}

/// Without `test-support`, no fault is ever injected.
#[cfg(not(feature = "test-support"))]
async fn fault_injected(_process: ProcessKey, _name: &'static str) {
    std::future::pending().await
}

#[cfg(feature = "test-support")]
fn fault_notify() -> &'static tokio::sync::Notify {
    static NOTIFY: std::sync::OnceLock<tokio::sync::Notify> = std::sync::OnceLock::new();
    NOTIFY.get_or_init(tokio::sync::Notify::new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test(start_paused = true)]
    async fn a_task_that_panics_or_fails_is_restarted_and_counted() {
        let mut supervisor = Supervisor::new((-1, 0), None, CancellationToken::new());
        let starts = Arc::new(AtomicU32::new(0));
        let counted = starts.clone();
        supervisor.spawn("flaky", true, move || {
            let start = counted.fetch_add(1, Ordering::SeqCst);
            async move {
                match start {
                    0 => panic!("first start"),
                    1 => anyhow::bail!("second start"),
                    _ => std::future::pending().await,
                }
            }
        });
        let board = supervisor.board().clone();
        tokio::time::sleep(Duration::from_secs(10)).await;
        let status = &board.statuses()[0];
        assert_eq!(starts.load(Ordering::SeqCst), 3);
        assert_eq!(status.restarts, 2);
        assert_eq!(status.state, TaskState::Running);
        assert_eq!(status.last_error.as_deref(), Some("second start"));
        assert!(board.essential_down().is_empty());
        supervisor.shutdown().await;
        assert_eq!(board.statuses()[0].state, TaskState::Stopped);
    }

    #[tokio::test(start_paused = true)]
    async fn an_essential_task_waiting_to_restart_is_down() {
        let mut supervisor = Supervisor::new((-2, 0), None, CancellationToken::new());
        supervisor.spawn("always failing", true, || async { anyhow::bail!("no") });
        supervisor.spawn("optional", false, || async { anyhow::bail!("no") });
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(supervisor.board().essential_down(), ["always failing"]);
        supervisor.shutdown().await;
    }
}
