//! The reference bot: the panel hosted in a complete poise bot. `main.rs` only
//! reads the configuration and calls [`run`]; tests call [`run`] in-process
//! against a fake Discord (through `DISCORD_PROXY_URL`), and one calls
//! [`run_with_client`] to reach it over TLS as `https://discord.com`.

pub mod commands;
pub mod database;
pub mod welcome;

use std::future::Future;

use anyhow::Context as _;
use serenity::all::{ClientBuilder, GatewayIntents, HttpBuilder};

use crate::config::{Config, Sharding};
use crate::gateway;
use crate::interactions_endpoint::{self, SharedFramework};
use crate::panel::{AdminPanel, PanelOptions};
use crate::registration;
use crate::telemetry::health_server;

/// Installs the log subscriber: stderr, filtered by `RUST_LOG`, and (with
/// `persist_logs`) the layer that stores typed events and errors in
/// `system_logs` for `/admin logs`. Test processes, which run several bots on
/// several databases, leave it out.
pub fn init_tracing(filter: &str, persist_logs: bool) {
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(crate::redact::RedactingWriter)
        .with_filter(filter);
    // Not narrowed by RUST_LOG: typed events and errors reach /admin logs even
    // when stderr is quiet.
    let persisted = persist_logs.then(crate::telemetry::log_layer::layer);
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(persisted)
        .try_init();
}

/// What serenity keeps in memory: nothing the panel does not read. The panel
/// reads no guild, channel or user from the cache (guild facts are in the
/// database, channel checks ask Discord), and a full cache costs kilobytes
/// per server (every channel and role) in memory and CPU at every start.
/// A host bot that reads the cache for its own features keeps its settings.
pub fn panel_cache_settings() -> serenity::cache::Settings {
    let mut settings = serenity::cache::Settings::default();
    settings.cache_guilds = false;
    settings.cache_channels = false;
    settings.cache_users = false;
    settings.max_messages = 0;
    settings
}

/// Runs the bot until `shutdown` resolves or the gateway fails, then stops in
/// order: shards (no new commands), background tasks (flush what they hold),
/// the database pool, and the self-managed PostgreSQL if one was started.
pub async fn run(config: Config, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
    run_with_client(config, None, shutdown).await
}

/// [`run`], with the HTTP client serenity sends every REST call through.
/// Given one, the bot runs exactly as in production (serenity's rate
/// limiter on, base URL `https://discord.com`) with only the transport
/// changed: that is how a test points it at a fake Discord that serves TLS
/// for `discord.com` without the `DISCORD_PROXY_URL` seam, which would turn
/// the limiter off. `DISCORD_PROXY_URL` is ignored when a client is given.
pub async fn run_with_client(
    config: Config,
    client: Option<reqwest::Client>,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    config.register_secrets();
    let database = database::connect(config.database_url.as_deref()).await?;
    let http = http(&config, client);
    let result = run_with_pool(&config, http, database.pool.clone(), shutdown).await;
    database.close().await;
    result
}

/// serenity's REST client: a proxy (with serenity's limiter off) when
/// `DISCORD_PROXY_URL` is set and no client is given, otherwise Discord
/// itself with serenity's limiter on, through `client` if there is one.
fn http(config: &Config, client: Option<reqwest::Client>) -> serenity::http::Http {
    let mut http = HttpBuilder::new(config.discord_token.expose());
    match (client, &config.discord_proxy_url) {
        (Some(client), _) => http = http.client(client),
        (None, Some(proxy)) => {
            // serenity applies a proxy only with its own rate limiter off: the
            // proxy (nirn-proxy, twilight-http-proxy) handles rate limits.
            http = http.proxy(proxy.as_str()).ratelimiter_disabled(true);
            tracing::info!(proxy = %without_credentials(proxy), "sending Discord REST calls through a proxy");
        }
        (None, None) => {}
    }
    http.build()
}

async fn run_with_pool(
    config: &Config,
    http: serenity::http::Http,
    pool: sqlx::PgPool,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let mut options = PanelOptions::new(config.developer_user_id);
    options.pager_timeout = config.pager_timeout;
    options.retention = config.retention;
    options.broadcast_rate = config.broadcast_rate;
    options.broadcast_approvals = config.broadcast_approvals;
    options.invalid_request_budget = config.invalid_request_budget;
    options.alerts = config.alerts.clone();
    options.modules = commands::MODULES.iter().map(|m| (*m).to_owned()).collect();
    options.module_messages = vec![welcome::MODULE.to_owned()];
    let health_listener = health_server::bind(config.health_addr).await?;
    let interactions_listener = match &config.interactions_endpoint {
        Some(endpoint) => Some(interactions_endpoint::bind(endpoint.addr).await?),
        None => None,
    };
    let (panel, mut background) = AdminPanel::start(pool, options).await?;
    let worker_panel = panel.clone();
    let guard = panel.discord_guard.clone();
    background.spawn_health_server(health_listener.into_std()?, panel.health_state());
    let health = panel.health.clone();

    let mut framework_options = crate::framework_options::<AdminPanel>();
    framework_options.commands.push(commands::ping());
    framework_options.commands.push(welcome::welcome_preview());
    let registration = registration::plan(&framework_options.commands, &config.admin_guild_ids);
    let framework = poise::Framework::builder()
        .options(framework_options)
        .setup(move |ctx, ready, _framework| {
            Box::pin(async move {
                tracing::info!(bot = %ready.user.name, guilds = ready.guilds.len(), "connected to Discord");
                let guard = panel.discord_guard.clone();
                registration::spawn_apply(ctx.http.clone(), registration, guard);
                Ok(panel)
            })
        })
        .build();
    // Interactions POSTed to the endpoint go through the same framework.
    let framework = SharedFramework::new(framework);
    let shard_framework = framework.for_more_shards();
    if let (Some(listener), Some(config)) = (interactions_listener, &config.interactions_endpoint) {
        let endpoint = interactions_endpoint::Endpoint::new(
            config.public_key,
            framework.dispatcher(),
            health.interactions.clone(),
        )?;
        background.spawn_interactions_endpoint(listener.into_std()?, endpoint);
    }

    let client = ClientBuilder::new_with_http(http, GatewayIntents::GUILDS)
        .cache_settings(panel_cache_settings())
        .framework(framework)
        .await
        .context("Failed to create the Discord client")?;

    background.spawn_broadcast_worker(&worker_panel, client.http.clone());
    background.spawn_alert_evaluator(&worker_panel, client.http.clone());
    let turns_pool = worker_panel.background_pool.clone();
    let gateway = async {
        // Nothing connects while Discord's daily identifies left are below
        // this process's shards plus IDENTIFY_RESERVE.
        let wanted = match &config.sharding {
            Sharding::Recommended => None,
            Sharding::All { count } => Some(*count),
            Sharding::Range { ids, .. } => Some(ids.clone().count() as u32),
        };
        let (count, budget) = gateway::wait_for_identify_budget(
            &client.http,
            wanted,
            config.identify_reserve,
            &health,
        )
        .await
        .inspect_err(|error| {
            guard.observe_error(error);
        })?;
        // With the recommended sharding, the count read a moment ago.
        let (ids, total) = match &config.sharding {
            Sharding::Recommended | Sharding::All { .. } => ((0..count).collect(), count),
            Sharding::Range { ids, count } => (ids.clone().collect(), *count),
        };
        let plan = gateway::ShardPlan {
            ids,
            total,
            max_concurrency: budget.max_concurrency as u32,
        };
        let shards = gateway::Shards::new(&client, shard_framework, plan);
        let _ = health.shard_managers.set(shards.managers());
        shards.run(turns_pool).await
    };
    let outcome = tokio::select! {
        result = gateway => result.context("The Discord gateway connection failed"),
        // Every request with the token would be refused too, each one
        // counting towards Discord's ban of the IP: stop (the guard has
        // logged why; broadcasts resume with a new token).
        () = guard.revoked().cancelled() => {
            stop_shards(&health).await;
            Err(anyhow::anyhow!(
                "{}: put a new DISCORD_TOKEN in place and restart",
                crate::discord_guard::TOKEN_REFUSED
            ))
        }
        () = shutdown => {
            tracing::info!("shutting down");
            stop_shards(&health).await;
            Ok(())
        }
    };
    background.shutdown().await;
    outcome
}

/// Shuts down the shards this process started (none if it was still
/// waiting for the identify budget).
async fn stop_shards(health: &crate::telemetry::health_server::HealthShared) {
    if let Some(managers) = health.shard_managers.get() {
        gateway::shutdown_all(managers).await;
    }
}

/// A URL as it may be logged: `http://user:secret@host/` becomes
/// `http://[redacted]@host/`.
fn without_credentials(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest
            .split('/')
            .next()
            .and_then(|host| host.rsplit_once('@'))
        {
            Some((_, host)) => {
                let path = &rest[rest.find('/').unwrap_or(rest.len())..];
                format!("{scheme}://[redacted]@{host}{path}")
            }
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::without_credentials;

    #[test]
    fn a_proxy_url_is_logged_without_its_credentials() {
        assert_eq!(
            without_credentials("http://bot:s3cret@proxy.internal:8080/base"),
            "http://[redacted]@proxy.internal:8080/base"
        );
        assert_eq!(
            without_credentials("http://proxy:8080"),
            "http://proxy:8080"
        );
    }
}
