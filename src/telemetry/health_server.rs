//! The health-check HTTP server on `HEALTH_ADDR`: `GET /health` (200 while the
//! gateway is connected, 503 otherwise) and `GET /metrics` (Prometheus text).
//! Requests never wait on the database: counts are cached by a background loop,
//! so the endpoints answer fast even while the bot is busy.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock, RwLock};
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

use super::recorder::RecorderCounters;
use super::supervisor::TaskBoard;
use super::system::SystemSampler;
use crate::error::cause_chain;
use crate::store::health as store;

/// How often the database-backed metrics are refreshed.
pub const METRICS_REFRESH: Duration = Duration::from_secs(5);

/// What the health server and `/admin health` share within one process.
#[derive(Debug, Default)]
pub struct HealthShared {
    /// The address the server actually bound (port 0 resolves here).
    pub bound_addr: OnceLock<SocketAddr>,
    /// Set once the Discord client exists.
    pub shard_manager: OnceLock<Arc<ShardManager>>,
    counts: RwLock<store::DeliveryCounts>,
}

/// Connected shards and all shards this process runs.
pub async fn shard_status(shared: &HealthShared) -> (usize, usize) {
    let Some(manager) = shared.shard_manager.get() else {
        return (0, 0);
    };
    let runners = manager.runners.lock().await;
    let connected = runners
        .values()
        .filter(|runner| runner.stage == ConnectionStage::Connected)
        .count();
    (connected, runners.len())
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
    pub shared: Arc<HealthShared>,
    /// Only the background refresh of the cached counts reads it; requests never do.
    pub pool: PgPool,
    pub started_at: DateTime<Utc>,
    pub recorder: Arc<RecorderCounters>,
    pub system: SystemSampler,
    pub tasks: Arc<TaskBoard>,
}

/// Serves `/health` and `/metrics` until `shutdown`, and keeps the cached
/// counts fresh.
pub async fn serve(listener: TcpListener, state: HealthState, shutdown: CancellationToken) {
    if let Ok(addr) = listener.local_addr() {
        let _ = state.shared.bound_addr.set(addr);
        tracing::info!(%addr, "health-check server listening");
    }
    tokio::spawn(refresh_counts(state.clone(), shutdown.clone()));
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

async fn refresh_counts(state: HealthState, shutdown: CancellationToken) {
    loop {
        match store::delivery_counts(&state.pool).await {
            Ok(counts) => {
                if let Ok(mut cached) = state.shared.counts.write() {
                    *cached = counts;
                }
            }
            Err(error) => tracing::warn!(error = %cause_chain(&error), "metrics refresh failed"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(METRICS_REFRESH) => {}
        }
    }
}

async fn health(State(state): State<HealthState>) -> Response {
    let (connected, total) = shard_status(&state.shared).await;
    let up = total > 0 && connected == total;
    let body = serde_json::json!({
        "status": if up { "ok" } else { "unavailable" },
        "shards_connected": connected,
        "shards_total": total,
        "uptime_seconds": (Utc::now() - state.started_at).num_seconds(),
    });
    let status = if up {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

async fn metrics(State(state): State<HealthState>) -> Response {
    let (connected, _) = shard_status(&state.shared).await;
    let counts = state
        .shared
        .counts
        .read()
        .map(|c| c.clone())
        .unwrap_or_default();
    let snapshot = MetricsSnapshot {
        guilds: counts.active_guilds,
        commands_recorded: state.recorder.recorded.load(Ordering::Relaxed),
        commands_dropped: state.recorder.dropped.load(Ordering::Relaxed),
        deliveries_sent: counts.sent,
        deliveries_skipped: counts.skipped,
        deliveries_failed: counts.failed,
        resident_memory: state.system.snapshot().process_rss.unwrap_or(0),
        shards_connected: connected as u64,
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

/// The figures `/metrics` exposes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsSnapshot {
    pub guilds: i64,
    pub commands_recorded: u64,
    pub commands_dropped: u64,
    pub deliveries_sent: i64,
    pub deliveries_skipped: i64,
    pub deliveries_failed: i64,
    pub resident_memory: u64,
    pub shards_connected: u64,
}

/// Prometheus text exposition format, version 0.0.4.
pub fn render_metrics(m: &MetricsSnapshot) -> String {
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, samples: &[(&str, String)]| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, value) in samples {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    metric(
        "admin_panel_guilds",
        "gauge",
        "Servers the bot is in.",
        &[("", m.guilds.to_string())],
    );
    metric(
        "admin_panel_commands_recorded_total",
        "counter",
        "Command events written by this process.",
        &[("", m.commands_recorded.to_string())],
    );
    metric(
        "admin_panel_commands_dropped_total",
        "counter",
        "Command events dropped because the queue was full or the database unreachable.",
        &[("", m.commands_dropped.to_string())],
    );
    metric(
        "admin_panel_broadcast_deliveries_total",
        "counter",
        "Broadcast deliveries by outcome.",
        &[
            ("{outcome=\"sent\"}", m.deliveries_sent.to_string()),
            ("{outcome=\"skipped\"}", m.deliveries_skipped.to_string()),
            ("{outcome=\"failed\"}", m.deliveries_failed.to_string()),
        ],
    );
    metric(
        "admin_panel_process_resident_memory_bytes",
        "gauge",
        "Resident memory of this process.",
        &[("", m.resident_memory.to_string())],
    );
    metric(
        "admin_panel_shards_connected",
        "gauge",
        "Gateway shards of this process that are connected.",
        &[("", m.shards_connected.to_string())],
    );
    out
}
