//! The panel's background tasks, each supervised (restarted with backoff
//! when it panics or fails; see [`crate::telemetry::supervisor`]), and the
//! orderly stop that writes what they buffered.

use std::sync::Arc;

use tokio::sync::{Mutex, mpsc};
use tokio_util::sync::CancellationToken;

use super::AdminPanel;
use crate::store::command_stats::CommandEvent;
use crate::store::notified::keep_current;
use crate::telemetry::guild_events::{GuildEventQueue, run_guild_writer};
use crate::telemetry::health_server::{HealthState, probe_database, serve};
use crate::telemetry::heartbeat::run_heartbeat;
use crate::telemetry::log_layer::{run_writer as run_log_writer, take_installed_queue};
use crate::telemetry::recorder::run_flusher;
use crate::telemetry::retention::run_retention;
use crate::telemetry::supervisor::{ProcessKey, Supervisor, TaskBoard};

/// The panel's background tasks; [`BackgroundTasks::shutdown`] stops them and
/// writes what they buffered.
#[derive(Debug)]
pub struct BackgroundTasks {
    supervisor: Supervisor,
}

/// How often the in-memory tables (developers, blocklist, maintenance) are
/// re-read even without a notification: a change is in force everywhere
/// within this, at worst.
pub const IN_MEMORY_REFRESH: std::time::Duration = std::time::Duration::from_secs(5);

impl BackgroundTasks {
    pub(super) fn new(process: ProcessKey, pool: sqlx::PgPool) -> Self {
        Self {
            supervisor: Supervisor::new(process, Some(pool), CancellationToken::new()),
        }
    }

    /// The state of every supervised task, as `/admin health` shows it.
    pub fn board(&self) -> &Arc<TaskBoard> {
        self.supervisor.board()
    }

    /// A token cancelled when the panel shuts down, for a host's own tasks.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.supervisor.shutdown_token().clone()
    }

    /// Every task that needs no Discord client: command recorder, log
    /// writer, retention, system sampler, heartbeat, developer list.
    pub(super) fn start_panel_tasks(
        &mut self,
        panel: &AdminPanel,
        receiver: mpsc::Receiver<CommandEvent>,
        guild_receiver: GuildEventQueue,
    ) {
        let shutdown = self.shutdown_token();
        // Queues outlive a crashed task: its restart drains the same channel.
        let receiver = Arc::new(Mutex::new(receiver));
        let (pool, counters, stop) = (
            panel.background_pool.clone(),
            panel.recorder.counters().clone(),
            shutdown.clone(),
        );
        self.supervisor.spawn("recorder", true, move || {
            let (pool, counters, stop, receiver) = (
                pool.clone(),
                counters.clone(),
                stop.clone(),
                receiver.clone(),
            );
            async move {
                let mut receiver = receiver.lock_owned().await;
                run_flusher(pool, &mut receiver, counters, stop).await;
                Ok(())
            }
        });
        let guild_receiver = Arc::new(Mutex::new(guild_receiver));
        let (pool, counters, stop) = (
            panel.background_pool.clone(),
            panel.guild_events.counters.clone(),
            shutdown.clone(),
        );
        self.supervisor.spawn("guild_writer", true, move || {
            let (pool, counters, stop, receiver) = (
                pool.clone(),
                counters.clone(),
                stop.clone(),
                guild_receiver.clone(),
            );
            async move {
                let mut receiver = receiver.lock_owned().await;
                run_guild_writer(pool, &mut receiver, counters, stop).await;
                Ok(())
            }
        });
        if let Some(queue) = take_installed_queue() {
            let queue = Arc::new(Mutex::new(queue));
            let (pool, stop) = (panel.background_pool.clone(), shutdown.clone());
            self.supervisor.spawn("log_writer", false, move || {
                let (pool, stop, queue) = (pool.clone(), stop.clone(), queue.clone());
                async move {
                    let mut queue = queue.lock_owned().await;
                    run_log_writer(pool, &mut queue, stop).await;
                    Ok(())
                }
            });
        }
        let (pool, retention, instance, stop) = (
            panel.background_pool.clone(),
            panel.options.retention,
            panel.instance_id,
            shutdown.clone(),
        );
        self.supervisor.spawn("retention", false, move || {
            let (pool, stop) = (pool.clone(), stop.clone());
            async move {
                run_retention(pool, retention, instance, stop).await;
                Ok(())
            }
        });
        let (system, stop) = (panel.system.clone(), shutdown.clone());
        self.supervisor.spawn("system_sampler", false, move || {
            let (system, stop) = (system.clone(), stop.clone());
            async move {
                system.run(stop).await;
                Ok(())
            }
        });
        let (pool, instance, system, health, stop) = (
            panel.background_pool.clone(),
            panel.instance_id,
            panel.system.clone(),
            panel.health.clone(),
            shutdown.clone(),
        );
        self.supervisor.spawn("heartbeat", false, move || {
            let (pool, system, health, stop) =
                (pool.clone(), system.clone(), health.clone(), stop.clone());
            async move {
                run_heartbeat(pool, instance, system, health, stop).await;
                Ok(())
            }
        });
        // The developer list, the blocklist and maintenance mode: read on
        // every interaction, so held in memory, on one listening connection.
        let (developers, blocked, maintenance, pool) = (
            panel.developers.clone(),
            panel.blocked.clone(),
            panel.maintenance.clone(),
            panel.background_pool.clone(),
        );
        self.supervisor.spawn("in_memory_tables", false, move || {
            let followed = [
                developers.followed(),
                blocked.followed(),
                maintenance.followed(),
            ];
            let (pool, stop) = (pool.clone(), shutdown.clone());
            async move { keep_current(pool, &followed, IN_MEMORY_REFRESH, stop).await }
        });
    }

    /// Starts this process's broadcast delivery worker; it needs the bot's
    /// HTTP client, which exists only once the serenity client is built.
    pub fn spawn_broadcast_worker(&mut self, panel: &AdminPanel, http: Arc<serenity::all::Http>) {
        let worker = panel.broadcast_worker(http);
        let stop = self.shutdown_token();
        self.supervisor.spawn("broadcast_worker", true, move || {
            let (worker, stop) = (worker.clone(), stop.clone());
            async move {
                worker.run(stop).await;
                Ok(())
            }
        });
    }

    /// Starts this process's alert evaluator (it sends with the bot's HTTP
    /// client, like the broadcast worker).
    pub fn spawn_alert_evaluator(&mut self, panel: &AdminPanel, http: Arc<serenity::all::Http>) {
        let evaluator = panel.alert_evaluator(http);
        let stop = self.shutdown_token();
        self.supervisor.spawn("alert_evaluator", false, move || {
            let (evaluator, stop) = (evaluator.clone(), stop.clone());
            async move {
                evaluator.run(stop).await;
                Ok(())
            }
        });
    }

    /// Serves `/health` and `/metrics` on `listener` (bound already, so a
    /// taken port stops start-up); a restart serves the same socket again.
    /// The database probe that keeps its counts fresh is supervised apart
    /// from it.
    pub fn spawn_health_server(&mut self, listener: std::net::TcpListener, state: HealthState) {
        let (probe_state, stop) = (state.clone(), self.shutdown_token());
        self.supervisor.spawn("database_probe", false, move || {
            let (state, stop) = (probe_state.clone(), stop.clone());
            async move {
                probe_database(state, stop).await;
                Ok(())
            }
        });
        self.spawn_http_server("health_server", false, listener, state, serve);
    }

    /// Serves Discord's Interactions Endpoint URL on `listener` (bound
    /// already, like the health server's). Essential: while it is down,
    /// every interaction Discord POSTs fails.
    pub fn spawn_interactions_endpoint(
        &mut self,
        listener: std::net::TcpListener,
        endpoint: crate::interactions_endpoint::Endpoint,
    ) {
        let serve_endpoint = crate::interactions_endpoint::serve;
        self.spawn_http_server(
            "interactions_endpoint",
            true,
            listener,
            endpoint,
            serve_endpoint,
        );
    }

    /// Runs `serve` on a listener bound at start-up, under supervision: a
    /// restart serves a clone of the same socket.
    fn spawn_http_server<S, Fut>(
        &mut self,
        name: &'static str,
        essential: bool,
        listener: std::net::TcpListener,
        state: S,
        serve: fn(tokio::net::TcpListener, S, CancellationToken) -> Fut,
    ) where
        S: Clone + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let stop = self.shutdown_token();
        self.supervisor.spawn(name, essential, move || {
            let (listener, state, stop) = (listener.try_clone(), state.clone(), stop.clone());
            async move {
                let listener = tokio::net::TcpListener::from_std(listener?)?;
                serve(listener, state, stop).await;
                Ok(())
            }
        });
    }

    /// Stops every task and waits for each to finish its last write.
    pub async fn shutdown(self) {
        self.supervisor.shutdown().await;
    }
}

pub(crate) fn hostname() -> String {
    sysinfo::System::host_name().unwrap_or_else(|_| "unknown".to_owned())
}
