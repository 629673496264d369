//! [`AdminPanel`]: the state the `/admin` commands need, and the background tasks
//! that go with it. A host bot keeps one in its poise user data.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serenity::all::UserId;
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::broadcast::worker::BroadcastWorker;
use crate::config::{DEFAULT_BROADCAST_RATE, DEFAULT_PAGER_TIMEOUT, Retention};
use crate::store::instances;
use crate::telemetry::health_server::{HealthShared, HealthState};
use crate::telemetry::heartbeat::run_heartbeat;
use crate::telemetry::log_layer::{run_writer as run_log_writer, take_installed_queue};
use crate::telemetry::recorder::{CHANNEL_CAPACITY, CommandRecorder, run_flusher};
use crate::telemetry::retention::run_retention;
use crate::telemetry::system::SystemSampler;

/// Lets commands generic over a host bot's data type find the panel in it.
pub trait HasAdminPanel: Send + Sync + 'static {
    fn admin_panel(&self) -> &AdminPanel;
}

impl HasAdminPanel for AdminPanel {
    fn admin_panel(&self) -> &AdminPanel {
        self
    }
}

/// What a host bot tells the panel about itself. Where `/admin` is registered
/// is the host's business (see [`crate::bot::registration`]), so it is not here.
#[derive(Debug, Clone)]
pub struct PanelOptions {
    /// `DEVELOPER_USER_ID`: always a developer, never removable.
    pub primary_developer: UserId,
    /// How long pager buttons stay live; below Discord's 15-minute token life.
    pub pager_timeout: Duration,
    /// Modules ("cogs") the host bot has, which `/settings module` can toggle.
    pub modules: Vec<String>,
    /// How long operational logs and raw command events are kept.
    pub retention: Retention,
    /// `BROADCAST_RATE`: broadcast sends per second, across all processes.
    pub broadcast_rate: u32,
}

impl PanelOptions {
    /// Options with the documented defaults (those of [`crate::config`]).
    pub fn new(primary_developer: UserId) -> Self {
        Self {
            primary_developer,
            pager_timeout: DEFAULT_PAGER_TIMEOUT,
            modules: Vec::new(),
            retention: Retention::default(),
            broadcast_rate: DEFAULT_BROADCAST_RATE,
        }
    }
}

/// Cheap to clone: the pool and recorder are handles.
#[derive(Debug, Clone)]
pub struct AdminPanel {
    pub pool: PgPool,
    pub options: PanelOptions,
    pub recorder: CommandRecorder,
    /// When this process started (its uptime).
    pub started_at: DateTime<Utc>,
    /// This process's row in `bot_instances`.
    pub instance_id: i64,
    /// CPU, memory and disk, sampled in the background.
    pub system: SystemSampler,
    /// Shared with the health-check server (its address, the shard manager).
    pub health: Arc<HealthShared>,
}

/// The panel's background tasks; [`BackgroundTasks::shutdown`] stops them and
/// writes what they buffered.
#[derive(Debug)]
pub struct BackgroundTasks {
    shutdown: CancellationToken,
    handles: Vec<JoinHandle<()>>,
}

impl AdminPanel {
    /// Applies migrations, registers this process and starts the background
    /// tasks (command recorder, heartbeat).
    pub async fn start(
        pool: PgPool,
        options: PanelOptions,
    ) -> anyhow::Result<(Self, BackgroundTasks)> {
        use anyhow::Context as _;
        crate::db::MIGRATOR
            .run(&pool)
            .await
            .context("Failed to apply database migrations")?;
        let started_at = Utc::now();
        let host = hostname();
        let instance_id = instances::register(
            &pool,
            &host,
            std::process::id(),
            env!("CARGO_PKG_VERSION"),
            started_at,
        )
        .await
        .context("Failed to register this bot process in bot_instances")?;

        let shutdown = CancellationToken::new();
        let (recorder, receiver) = CommandRecorder::new(CHANNEL_CAPACITY);
        let mut handles = vec![tokio::spawn(run_flusher(
            pool.clone(),
            receiver,
            recorder.counters().clone(),
            shutdown.clone(),
        ))];
        if let Some(queue) = take_installed_queue() {
            handles.push(tokio::spawn(run_log_writer(
                pool.clone(),
                queue,
                shutdown.clone(),
            )));
        }
        handles.push(tokio::spawn(run_retention(
            pool.clone(),
            options.retention,
            shutdown.clone(),
        )));
        let system = SystemSampler::default();
        handles.push(tokio::spawn(system.clone().run(shutdown.clone())));
        handles.push(tokio::spawn(run_heartbeat(
            pool.clone(),
            instance_id,
            system.clone(),
            shutdown.clone(),
        )));
        let panel = Self {
            pool,
            options,
            recorder,
            started_at,
            instance_id,
            system,
            health: Arc::default(),
        };
        Ok((panel, BackgroundTasks { shutdown, handles }))
    }
}

impl AdminPanel {
    /// This process's broadcast delivery worker, sending with `http`.
    pub fn broadcast_worker(&self, http: Arc<serenity::all::Http>) -> BroadcastWorker {
        BroadcastWorker::new(
            self.pool.clone(),
            http,
            self.instance_id,
            hostname(),
            self.options.broadcast_rate,
        )
    }

    /// What the health-check server reads (it never sees the whole panel).
    pub fn health_state(&self) -> HealthState {
        HealthState {
            shared: self.health.clone(),
            pool: self.pool.clone(),
            started_at: self.started_at,
            recorder: self.recorder.counters().clone(),
            system: self.system.clone(),
        }
    }
}

impl BackgroundTasks {
    /// Starts this process's broadcast delivery worker; it needs the bot's
    /// HTTP client, which exists only once the serenity client is built.
    pub fn spawn_broadcast_worker(&mut self, panel: &AdminPanel, http: Arc<serenity::all::Http>) {
        let worker = panel.broadcast_worker(http);
        self.handles
            .push(tokio::spawn(worker.run(self.shutdown.clone())));
    }

    /// Stops every task and waits for each to finish its last write.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        for handle in self.handles {
            if let Err(error) = handle.await {
                tracing::error!(%error, "a background task panicked");
            }
        }
    }
}

fn hostname() -> String {
    sysinfo::System::host_name().unwrap_or_else(|_| "unknown".to_owned())
}
