//! The health-check HTTP server on `HEALTH_ADDR`: `GET /health` (200 while
//! every shard is connected and every essential background task runs, 503
//! otherwise; its JSON also names the database's state) and `GET /metrics`
//! (Prometheus text). Requests never wait on the database: a background probe
//! reads it every [`PROBE_INTERVAL`] and caches what it learnt.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serenity::all::{ConnectionStage, ShardManager};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use chrono::DateTime;
use sqlx::PgPool;

use super::guild_events::GuildEventCounters;
use super::metrics::{DeliveryCounters, MetricsSnapshot, render_metrics};
use super::recorder::RecorderCounters;
use super::supervisor::TaskBoard;
use super::system::SystemSampler;
use crate::error::cause_chain;
use crate::interactions_endpoint::EndpointCounters;
use crate::store::guilds;

/// How often the database is probed (and the guild count read).
pub const PROBE_INTERVAL: Duration = Duration::from_secs(2);
/// A probe slower than this counts as the database not answering.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// What the health server and `/admin health` share within one process.
#[derive(Debug)]
pub struct HealthShared {
    /// The address the server actually bound (port 0 resolves here).
    pub bound_addr: OnceLock<SocketAddr>,
    /// The serenity shard managers of this process's shards, once they
    /// exist (one per shard: see `crate::gateway`).
    pub shard_managers: OnceLock<Vec<Arc<ShardManager>>>,
    /// Whether the last probe got an answer from PostgreSQL.
    pub database_up: AtomicBool,
    guilds: AtomicI64,
    /// Broadcast deliveries this process settled (the worker counts them).
    pub deliveries: Arc<DeliveryCounters>,
    /// POSTs to the Interactions Endpoint, by outcome (zero while it is off).
    pub interactions: Arc<EndpointCounters>,
    /// Why this process does not connect to the gateway yet (the identify
    /// budget), for `/health`.
    gateway_hold: std::sync::Mutex<Option<String>>,
    /// Discord's identifies left today as this process last read them,
    /// minus the shards it then started, for `/admin health`.
    identifies_left: std::sync::Mutex<Option<IdentifiesLeft>>,
}

/// What `GET /gateway/bot`'s `session_start_limit` said when the process
/// started its shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdentifiesLeft {
    /// Left after this process's shards identified.
    pub remaining: u64,
    /// Discord's daily total (1,000 for most bots).
    pub total: u64,
    /// When the budget is back to `total`.
    pub resets_at: DateTime<Utc>,
}

impl Default for HealthShared {
    fn default() -> Self {
        Self {
            bound_addr: OnceLock::new(),
            shard_managers: OnceLock::new(),
            // Start-up only gets here after the database answered.
            database_up: AtomicBool::new(true),
            guilds: AtomicI64::new(0),
            deliveries: Arc::default(),
            interactions: Arc::default(),
            gateway_hold: std::sync::Mutex::new(None),
            identifies_left: std::sync::Mutex::new(None),
        }
    }
}

impl HealthShared {
    /// Notes why the process does not connect to the gateway (`None` once it may).
    pub fn set_gateway_hold(&self, reason: Option<String>) {
        *self.gateway_hold.lock().unwrap_or_else(|e| e.into_inner()) = reason;
    }

    /// Notes the identifies left today, as last read.
    pub fn set_identifies_left(&self, left: IdentifiesLeft) {
        *self
            .identifies_left
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(left);
    }

    /// The identifies left today, as last read (`None` before the first read).
    pub fn identifies_left(&self) -> Option<IdentifiesLeft> {
        *self
            .identifies_left
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Why the process does not connect to the gateway, if it does not.
    pub fn gateway_hold(&self) -> Option<String> {
        self.gateway_hold
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// One running shard of this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardState {
    /// The shard id.
    pub id: u32,
    /// Its connection stage.
    pub stage: ConnectionStage,
    /// The last heartbeat round trip, once there is one.
    pub latency: Option<Duration>,
}

/// Every shard runner of `managers`, by shard id.
pub async fn shard_states(managers: &[Arc<ShardManager>]) -> Vec<ShardState> {
    let mut shards = Vec::new();
    for manager in managers {
        let runners = manager.runners.lock().await;
        shards.extend(runners.iter().map(|(id, runner)| ShardState {
            id: id.0,
            stage: runner.stage,
            latency: runner.latency,
        }));
    }
    shards.sort_by_key(|shard| shard.id);
    shards
}

impl HealthShared {
    /// This process's running shards (none before they start).
    pub async fn shards(&self) -> Vec<ShardState> {
        match self.shard_managers.get() {
            Some(managers) => shard_states(managers).await,
            None => Vec::new(),
        }
    }
}

/// Connected shards and all shards this process runs, those still waiting
/// for their identify turn included (a shard has a runner only once started).
pub async fn shard_status(shared: &HealthShared) -> (usize, usize) {
    let shards = shared.shards().await;
    let connected = shards
        .iter()
        .filter(|shard| shard.stage == ConnectionStage::Connected)
        .count();
    let planned = shared.shard_managers.get().map_or(0, Vec::len);
    (connected, shards.len().max(planned))
}

/// Binds `HEALTH_ADDR`; a taken port is a start-up error naming the variable.
pub async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|error| {
        anyhow::anyhow!(
            "HEALTH_ADDR: cannot listen on {addr} ({error}); set HEALTH_ADDR to a free address"
        )
    })
}

/// What the health-check server reads, and nothing more: the panel builds it
/// (`AdminPanel::health_state`), so this module needs no panel.
#[derive(Debug, Clone)]
pub struct HealthState {
    /// Shard and database state, updated by the gateway and the probe.
    pub shared: Arc<HealthShared>,
    /// Only the background probe reads it; requests never do.
    pub pool: PgPool,
    /// When this process started.
    pub started_at: DateTime<Utc>,
    /// The command recorder's counters.
    pub recorder: Arc<RecorderCounters>,
    /// The guild-event writer's counters.
    pub guild_events: Arc<GuildEventCounters>,
    /// Memory and CPU.
    pub system: SystemSampler,
    /// The supervised tasks.
    pub tasks: Arc<TaskBoard>,
    /// What Discord's answers say: the invalid-request window, the counts.
    pub discord: Arc<crate::discord_guard::DiscordGuard>,
}

/// Serves `/health` and `/metrics` until `shutdown`. The cached counts they
/// show are kept fresh by [`probe_database`], a task of its own, so a
/// restart of the server starts no second probe.
pub async fn serve(listener: TcpListener, state: HealthState, shutdown: CancellationToken) {
    if let Ok(addr) = listener.local_addr() {
        let _ = state.shared.bound_addr.set(addr);
        tracing::info!(%addr, "health-check server listening");
    }
    let app = axum::Router::new()
        .route("/health", axum::routing::get(health))
        .route("/metrics", axum::routing::get(metrics))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") })
        .with_state(state);
    let stop = shutdown.clone();
    if let Err(error) = axum::serve(listener, app)
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await
    {
        tracing::error!(error = %cause_chain(&error), "the health-check server stopped");
    }
}

/// Reads the guild count every [`PROBE_INTERVAL`]; whether it comes back in
/// time is the database's state for `/health`, `/metrics` and `/admin health`.
pub async fn probe_database(state: HealthState, shutdown: CancellationToken) {
    loop {
        let answer = tokio::time::timeout(PROBE_TIMEOUT, guilds::count_active(&state.pool)).await;
        let up = matches!(answer, Ok(Ok(_)));
        if let Ok(Ok(count)) = answer {
            state.shared.guilds.store(count, Ordering::Relaxed);
        }
        let was_up = state.shared.database_up.swap(up, Ordering::Relaxed);
        if was_up != up {
            if up {
                tracing::info!("PostgreSQL answers again");
            } else {
                tracing::warn!("PostgreSQL does not answer");
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(PROBE_INTERVAL) => {}
        }
    }
}

async fn health(State(state): State<HealthState>) -> Response {
    let (connected, total) = shard_status(&state.shared).await;
    let tasks_down = state.tasks.essential_down();
    let up = total > 0 && connected == total && tasks_down.is_empty();
    let database_up = state.shared.database_up.load(Ordering::Relaxed);
    let mut body = serde_json::json!({
        "status": if up { "ok" } else { "unavailable" },
        "shards_connected": connected,
        "shards_total": total,
        "database": if database_up { "ok" } else { "unreachable" },
        "tasks_down": tasks_down,
        "uptime_seconds": (Utc::now() - state.started_at).num_seconds(),
    });
    if let Some(reason) = state.shared.gateway_hold() {
        body["gateway"] = serde_json::Value::String(reason);
    }
    let status = if up {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

async fn metrics(State(state): State<HealthState>) -> Response {
    let (connected, _) = shard_status(&state.shared).await;
    let shared = &state.shared;
    let snapshot = MetricsSnapshot {
        guilds: shared.guilds.load(Ordering::Relaxed),
        database_up: shared.database_up.load(Ordering::Relaxed),
        commands_recorded: state.recorder.recorded.load(Ordering::Relaxed),
        commands_dropped: state.recorder.dropped.load(Ordering::Relaxed),
        guild_events_written: state.guild_events.written.load(Ordering::Relaxed),
        deliveries_sent: shared.deliveries.sent.load(Ordering::Relaxed),
        deliveries_skipped: shared.deliveries.skipped.load(Ordering::Relaxed),
        deliveries_failed: shared.deliveries.failed.load(Ordering::Relaxed),
        resident_memory: state.system.snapshot().process_rss.unwrap_or(0),
        shards_connected: connected as u64,
        tasks: state.tasks.statuses(),
        commands: state.recorder.command_tallies(),
        interactions: shared.interactions.snapshot(),
        discord_responses: state.discord.responses().snapshot(),
        invalid_requests: u64::from(state.discord.invalid_requests().in_window()),
        invalid_request_budget: u64::from(state.discord.invalid_requests().budget()),
    };
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        render_metrics(&snapshot),
    )
        .into_response()
}
