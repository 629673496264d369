//! [`AdminPanel`]: the state the `/admin` commands need, and the background tasks
//! that go with it ([`tasks`]). A host bot keeps one in its poise user data.

pub mod tasks;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serenity::all::UserId;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::alerts::{AlertEvaluator, AlertState};
use crate::blocked_set::BlockedSet;
use crate::broadcast::worker::BroadcastWorker;
use crate::config::{AlertConfig, DEFAULT_BROADCAST_RATE, DEFAULT_PAGER_TIMEOUT, Retention};
use crate::developer_set::DeveloperSet;
use crate::discord_guard::DiscordGuard;
use crate::maintenance::Maintenance;
use crate::permissions::watched::WatchedChannels;
use crate::store::{self, instances};
use crate::telemetry::event_order::EventOrder;
use crate::telemetry::guild_events::GuildEvents;
use crate::telemetry::health_server::{HealthShared, HealthState};
use crate::telemetry::recorder::{CHANNEL_CAPACITY, CommandRecorder};
use crate::telemetry::supervisor::TaskBoard;
use crate::telemetry::system::SystemSampler;
use crate::ui::custom_id::ControlKey;
pub use tasks::BackgroundTasks;

/// Connections of the panel's own pool for background writes (command
/// stats, log entries, guild events, broadcast deliveries, retention), so
/// that they never take the connections interactive commands need.
pub const BACKGROUND_CONNECTIONS: u32 = 4;
/// Connections for what a user waits on (commands, buttons, modals).
pub const INTERACTIVE_CONNECTIONS: u32 = 8;
/// How long an interaction waits for a connection: a database that does not
/// answer is reported in time for Discord's 3-second limit on a first reply.
/// A pooled connection is pinged before use, within this bound too, so a
/// database that stopped answering mid-connection fails here, not in a hang.
pub const INTERACTIVE_ACQUIRE_TIMEOUT: Duration = Duration::from_millis(1500);
/// Connections kept open for interactions, so the first command after a
/// quiet spell does not pay for a connection (TLS, SCRAM) first.
pub const INTERACTIVE_WARM_CONNECTIONS: u32 = 2;
/// The server cancels an interactive query that runs longer than this.
pub const INTERACTIVE_STATEMENT_TIMEOUT: &str = "2500ms";

/// Lets commands generic over a host bot's data type find the panel in it.
pub trait HasAdminPanel: Send + Sync + 'static {
    /// The panel in the host bot's data.
    fn admin_panel(&self) -> &AdminPanel;
}

impl HasAdminPanel for AdminPanel {
    fn admin_panel(&self) -> &AdminPanel {
        self
    }
}

/// What a host bot tells the panel about itself. Where `/admin` is registered
/// is the host's business (see [`crate::registration`]), so it is not here.
#[derive(Debug, Clone)]
pub struct PanelOptions {
    /// `DEVELOPER_USER_ID`: always a developer, never removable.
    pub primary_developer: UserId,
    /// How long pager buttons stay live; below Discord's 15-minute token life.
    pub pager_timeout: Duration,
    /// Modules ("cogs") the host bot has, which `/settings module` can toggle.
    pub modules: Vec<String>,
    /// Modules among `modules` that take a message (e.g. a welcome text):
    /// `/settings module <name> on|off message:<text>` stores it as the
    /// `message` key of the module's settings ([`crate::modules`]).
    pub module_messages: Vec<String>,
    /// How long operational logs and raw command events are kept.
    pub retention: Retention,
    /// `BROADCAST_RATE`: broadcast sends per second, across all processes.
    pub broadcast_rate: u32,
    /// `BROADCAST_APPROVALS`: Send and Schedule ask another developer to
    /// approve first (off by default).
    pub broadcast_approvals: bool,
    /// `INVALID_REQUEST_BUDGET`: invalid responses (401, 403, 429) this
    /// process may receive in 10 minutes; Discord bans an IP at 10,000, so
    /// processes sharing an IP divide that between them.
    pub invalid_request_budget: u32,
    /// The `ALERT_*` variables: thresholds, pacing, webhook, mention.
    pub alerts: AlertConfig,
}

impl PanelOptions {
    /// Options with the documented defaults (those of [`crate::config`]).
    pub fn new(primary_developer: UserId) -> Self {
        Self {
            primary_developer,
            pager_timeout: DEFAULT_PAGER_TIMEOUT,
            modules: Vec::new(),
            module_messages: Vec::new(),
            retention: Retention::default(),
            broadcast_rate: DEFAULT_BROADCAST_RATE,
            broadcast_approvals: false,
            invalid_request_budget: crate::discord_guard::invalid_requests::DEFAULT_BUDGET,
            alerts: AlertConfig::default(),
        }
    }
}

/// Cheap to clone: pools, recorder and sets are handles.
#[derive(Debug, Clone)]
pub struct AdminPanel {
    /// For what a developer or server manager waits on: commands, buttons,
    /// modals. The panel's own pool (same server and options as the host's),
    /// with the timeouts of [`INTERACTIVE_ACQUIRE_TIMEOUT`] and
    /// [`INTERACTIVE_STATEMENT_TIMEOUT`].
    pub pool: PgPool,
    /// For background writers, apart, so interactive queries always find a
    /// connection ([`BACKGROUND_CONNECTIONS`], same server and options).
    pub background_pool: PgPool,
    /// What the panel was started with.
    pub options: PanelOptions,
    /// Records every command's use in batches.
    pub recorder: CommandRecorder,
    /// The `developers` table, held in memory (the access check reads this).
    pub developers: DeveloperSet,
    /// The blocklist, held in memory (interactions and GUILD_CREATEs read it).
    pub blocked: BlockedSet,
    /// Maintenance mode, held in memory (every command reads it).
    pub maintenance: Maintenance,
    /// Guild events on their way to the database, in batches.
    pub guild_events: GuildEvents,
    /// When this process started (its uptime).
    pub started_at: DateTime<Utc>,
    /// This process's row in `bot_instances`.
    pub instance_id: i64,
    /// CPU, memory and disk, sampled in the background.
    pub system: SystemSampler,
    /// Shared with the health-check server (its address, the shard manager).
    pub health: Arc<HealthShared>,
    /// Which background tasks run, are down or were restarted.
    pub tasks: Arc<TaskBoard>,
    /// Signs the custom ids of every control, shared by every process.
    pub control_key: ControlKey,
    /// What Discord's answers say of the whole bot. Its
    /// [`revoked`](DiscordGuard::revoked) token is cancelled when Discord
    /// refuses the bot token: the panel's senders have stopped, and a host
    /// bot should stop too (the reference bot exits).
    pub discord_guard: Arc<DiscordGuard>,
    /// Each server's broadcast channel, whose permission snapshot the
    /// gateway handler keeps.
    pub watched_channels: Arc<WatchedChannels>,
    /// The collectors that queue guild events in each shard's order, and
    /// what they queued (so the handlers skip it).
    pub event_order: Arc<EventOrder>,
}

impl AdminPanel {
    /// Applies migrations (with the host's `pool`), registers this process,
    /// reads the developer list and starts the background tasks. The panel
    /// opens two pools of its own to the same database with the same
    /// options: one for interactions, one for background writes, so neither
    /// waits for the other and their timeouts suit what they do.
    pub async fn start(
        host_pool: PgPool,
        options: PanelOptions,
    ) -> anyhow::Result<(Self, BackgroundTasks)> {
        use anyhow::Context as _;
        crate::db::MIGRATOR
            .run(&host_pool)
            .await
            .context("Failed to apply database migrations")?;
        let connect = host_pool.connect_options().as_ref().clone();
        let pool = PgPoolOptions::new()
            .max_connections(INTERACTIVE_CONNECTIONS)
            .min_connections(INTERACTIVE_WARM_CONNECTIONS)
            .acquire_timeout(INTERACTIVE_ACQUIRE_TIMEOUT)
            .connect_lazy_with(
                connect
                    .clone()
                    .options([("statement_timeout", INTERACTIVE_STATEMENT_TIMEOUT)]),
            );
        let background_pool = PgPoolOptions::new()
            .max_connections(BACKGROUND_CONNECTIONS)
            .acquire_timeout(Duration::from_secs(10))
            .connect_lazy_with(connect);
        let started_at = Utc::now();
        let instance_id = instances::register(
            &pool,
            &tasks::hostname(),
            std::process::id(),
            env!("CARGO_PKG_VERSION"),
            started_at,
        )
        .await
        .context("Failed to register this bot process in bot_instances")?;
        let key = store::views::control_key(&pool)
            .await
            .context("Failed to read the key that signs the panel's controls")?;
        let control_key = ControlKey::new(
            key.get(..32)
                .and_then(|bytes| bytes.try_into().ok())
                .context("the stored control key is shorter than 32 bytes")?,
        );
        let developers = DeveloperSet::default();
        developers
            .reload(&pool)
            .await
            .context("Failed to read the developers table")?;
        let blocked = BlockedSet::default();
        blocked
            .reload(&pool)
            .await
            .context("Failed to read the blocklist")?;
        let maintenance = Maintenance::default();
        maintenance
            .reload(&pool)
            .await
            .context("Failed to read the maintenance mode")?;

        let watched_channels = Arc::new(WatchedChannels::default());
        watched_channels.replace(
            store::settings::broadcast_channels(&pool)
                .await
                .context("Failed to read the servers' broadcast channels")?,
        );

        let (recorder, receiver) = CommandRecorder::new(CHANNEL_CAPACITY);
        let (guild_events, guild_receiver) = GuildEvents::new();
        let process = (instance_id, started_at.timestamp_micros());
        let mut background = BackgroundTasks::new(process, background_pool.clone());
        let discord_guard = Arc::new(DiscordGuard::with_budget(options.invalid_request_budget));
        let panel = Self {
            pool,
            background_pool,
            options,
            recorder,
            developers,
            blocked,
            maintenance,
            guild_events,
            started_at,
            instance_id,
            system: SystemSampler::default(),
            health: Arc::default(),
            tasks: background.board().clone(),
            control_key,
            discord_guard,
            watched_channels,
            event_order: Arc::default(),
        };
        background.start_panel_tasks(&panel, receiver, guild_receiver);
        Ok((panel, background))
    }

    /// This process's broadcast delivery worker, sending with `http`.
    pub fn broadcast_worker(&self, http: Arc<serenity::all::Http>) -> BroadcastWorker {
        BroadcastWorker::new(
            self.background_pool.clone(),
            http,
            self.instance_id,
            tasks::hostname(),
            self.options.broadcast_rate,
        )
        .counting_into(self.health.deliveries.clone())
        .guarded_by(self.discord_guard.clone())
    }

    /// This process's alert evaluator, sending with `http`. It reads the
    /// background pool only, so alerts never take an interaction's connection.
    pub fn alert_evaluator(&self, http: Arc<serenity::all::Http>) -> AlertEvaluator {
        AlertEvaluator::new(AlertState {
            pool: self.background_pool.clone(),
            http,
            config: self.options.alerts.clone(),
            instance_id: self.instance_id,
            host: tasks::hostname(),
            health: self.health.clone(),
            tasks: self.tasks.clone(),
            system: self.system.clone(),
            last_channel: Arc::default(),
            guard: self.discord_guard.clone(),
        })
    }

    /// What the health-check server reads (it never sees the whole panel).
    pub fn health_state(&self) -> HealthState {
        HealthState {
            shared: self.health.clone(),
            pool: self.background_pool.clone(),
            started_at: self.started_at,
            recorder: self.recorder.counters().clone(),
            guild_events: self.guild_events.counters.clone(),
            system: self.system.clone(),
            tasks: self.tasks.clone(),
            discord: self.discord_guard.clone(),
        }
    }
}
