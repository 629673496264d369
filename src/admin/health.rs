//! `/admin health`: bot status, database, memory, CPU, disk, runtime, OS and
//! every running bot process.

use std::net::SocketAddr;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use poise::CreateReply;
use serenity::all::ConnectionStage;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::Context;
use crate::error::Error;
use crate::panel::HasAdminPanel;
use crate::reply::is_database_outage;
use crate::store::health as store;
use crate::telemetry::health_server::shard_states;
use crate::telemetry::heartbeat::STALE_AFTER;
use crate::telemetry::supervisor::TaskStatus;
use crate::ui::health::{HealthReport, ShardLine, render};

/// How long the health-check probe may take before the bot counts as offline.
pub const PROBE_TIMEOUT: Duration = Duration::from_millis(500);

/// System health: bot status, database, memory, CPU, disk, runtime, processes.
#[poise::command(slash_command, ephemeral)]
pub async fn health<U: HasAdminPanel>(ctx: Context<'_, U>) -> Result<(), Error> {
    let panel = ctx.data().admin_panel();
    let now = Utc::now();
    let probe = async {
        match panel.health.bound_addr.get() {
            Some(addr) => probe_health(*addr).await,
            None => (false, "the health-check server is not running".to_owned()),
        }
    };
    let shards = async {
        // The panel's own list when the process started its shards through
        // `crate::gateway`; the framework's client otherwise (a host bot
        // that calls `Client::start` itself).
        let running = match panel.health.shard_managers.get() {
            Some(managers) => shard_states(managers).await,
            None => shard_states(&[ctx.framework().shard_manager.clone()]).await,
        };
        running
            .into_iter()
            .map(|shard| ShardLine {
                id: shard.id,
                connected: shard.stage == ConnectionStage::Connected,
                latency: shard.latency,
            })
            .collect::<Vec<_>>()
    };
    let ((bot_online, status_detail), shards, database, instances) = tokio::join!(
        probe,
        shards,
        store::database_facts(&panel.pool),
        store::running_instances(&panel.pool),
    );
    let tasks = panel
        .tasks
        .statuses()
        .into_iter()
        .map(TaskStatus::line)
        .collect();
    let commit = env!("ADMIN_PANEL_GIT_COMMIT");
    let report = HealthReport {
        bot_online,
        status_detail,
        shards,
        database: answered(database)?,
        pool_in_use: panel
            .pool
            .size()
            .saturating_sub(panel.pool.num_idle() as u32),
        pool_max: panel.pool.options().get_max_connections(),
        system: panel.system.snapshot(),
        runtime: format!(
            "{} · admin-panel {}{}",
            env!("ADMIN_PANEL_RUSTC_VERSION"),
            env!("CARGO_PKG_VERSION"),
            if commit.is_empty() {
                String::new()
            } else {
                format!(" · commit {commit}")
            }
        ),
        instances: answered(instances)?,
        tasks,
        invalid_requests: (
            panel.discord_guard.invalid_requests().in_window(),
            panel.discord_guard.invalid_requests().budget(),
        ),
        identifies_left: panel
            .health
            .identifies_left()
            .map(|left| (left.remaining, left.total, left.resets_at)),
        this_instance: panel.instance_id,
        maintenance: panel.maintenance.scopes(),
        stale_after: TimeDelta::from_std(STALE_AFTER).unwrap_or(TimeDelta::seconds(90)),
        now,
    };
    ctx.send(
        CreateReply::default()
            .embed(render(&report))
            .ephemeral(true),
    )
    .await?;
    Ok(())
}

/// `GET /health` on this process's health-check server. A wildcard bind
/// (0.0.0.0 / ::) is probed on loopback.
pub async fn probe_health(addr: SocketAddr) -> (bool, String) {
    let mut target = addr;
    if target.ip().is_unspecified() {
        target.set_ip(if addr.is_ipv4() {
            [127, 0, 0, 1].into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    let request = async {
        let mut stream = tokio::net::TcpStream::connect(target).await?;
        stream
            .write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await?;
        let mut head = vec![0; 64];
        let read = stream.read(&mut head).await?;
        let line = String::from_utf8_lossy(&head[..read])
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned();
        Ok::<_, std::io::Error>(
            line.split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .to_owned(),
        )
    };
    match tokio::time::timeout(PROBE_TIMEOUT, request).await {
        Ok(Ok(status)) => (status == "200", format!("GET {target}/health: {status}")),
        Ok(Err(error)) => (false, format!("GET {target}/health failed: {error}")),
        Err(_) => (
            false,
            format!(
                "GET {target}/health timed out after {} ms",
                PROBE_TIMEOUT.as_millis()
            ),
        ),
    }
}

/// A database that does not answer is shown (`None`), not an error: the rest
/// of the view is what an operator needs then.
fn answered<T>(result: Result<T, sqlx::Error>) -> Result<Option<T>, sqlx::Error> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(error) if is_database_outage(&error) => Ok(None),
        Err(error) => Err(error),
    }
}
