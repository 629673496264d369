//! Typed configuration from the environment (and `.env`), validated before the
//! bot connects anywhere: a bad value stops start-up with one line naming the
//! variable, so a misconfigured deploy fails loudly instead of half-working.

mod alerts;
mod interactions;
mod parse;
mod values;

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use serenity::all::{GuildId, UserId};

pub use alerts::{AlertConfig, AlertWebhook, REPEAT_AFTER};
pub use interactions::InteractionsEndpointConfig;
pub use parse::parse_snowflake;
use parse::{
    parse_database_url, parse_days, parse_guild_list, parse_http_url, parse_sharding, parse_token,
};
pub use values::{ConfigError, Secret, Sharding};

/// How long list buttons stay live when `PAGER_TIMEOUT_SECS` is unset (Discord's
/// interaction tokens last 15 minutes).
pub const DEFAULT_PAGER_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// `BROADCAST_RATE` when unset: below Discord's global 50 requests/s, leaving
/// room for the bot's other calls.
pub const DEFAULT_BROADCAST_RATE: u32 = 40;

/// `IDENTIFY_RESERVE` when unset: identifies kept back from Discord's daily
/// 1,000 (`session_start_limit`) for reconnects and a restart by hand, since
/// Discord resets the token of a bot that runs out.
pub const DEFAULT_IDENTIFY_RESERVE: u32 = 50;

/// `LOG_RETENTION_DAYS` and `STATS_RETENTION_DAYS`. Rollups are kept forever:
/// they are small (one row per command per day).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// `LOG_RETENTION_DAYS`: days operational logs are kept.
    pub log_days: u32,
    /// `STATS_RETENTION_DAYS`: days raw command events are kept.
    pub stats_days: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            log_days: 30,
            stats_days: 90,
        }
    }
}

/// Everything the reference bot reads from the environment, checked once at start-up:
/// [`Config::from_env`] names the variable and the problem of the first bad value.
///
/// `Debug` shows no secret: the token and the webhook's token as
/// `[redacted]`, and the URLs without their credentials.
#[derive(Clone)]
pub struct Config {
    /// `DISCORD_TOKEN` (required).
    pub discord_token: Secret,
    /// `DEVELOPER_USER_ID` (required): the primary developer, never removable.
    pub developer_user_id: UserId,
    /// `DATABASE_URL`; without it the bot runs its own PostgreSQL.
    pub database_url: Option<String>,
    /// `ADMIN_GUILD_IDS`: where `/admin` is registered; empty registers it globally.
    pub admin_guild_ids: Vec<GuildId>,
    /// `DISCORD_PROXY_URL`: a proxy in front of Discord's HTTP API. Holds credentials
    /// when the URL does: never log it.
    pub discord_proxy_url: Option<String>,
    /// `HEALTH_ADDR`: where `/health` and `/metrics` listen.
    pub health_addr: SocketAddr,
    /// `SHARD_COUNT` and `SHARD_IDS`: which shards this process runs.
    pub sharding: Sharding,
    /// `IDENTIFY_RESERVE`: the process does not connect while Discord's
    /// identifies left today are below its shards plus this.
    pub identify_reserve: u32,
    /// `RUST_LOG`: the log filter.
    pub rust_log: String,
    /// How long pager buttons stay live (`PAGER_TIMEOUT_SECS`).
    pub pager_timeout: Duration,
    /// How long operational logs and raw command events are kept.
    pub retention: Retention,
    /// `BROADCAST_RATE`: broadcast sends per second across all processes.
    pub broadcast_rate: u32,
    /// `BROADCAST_APPROVALS=1`: Send and Schedule ask another developer to
    /// approve first.
    pub broadcast_approvals: bool,
    /// `INVALID_REQUEST_BUDGET`: invalid responses (401, 403, 429) this
    /// process may receive in 10 minutes; broadcasts, edits and recalls
    /// pause at 80 % of it.
    pub invalid_request_budget: u32,
    /// The `ALERT_*` variables: what is alerted, and where.
    pub alerts: AlertConfig,
    /// `DISCORD_PUBLIC_KEY` / `INTERACTIONS_ADDR`: interactions over HTTP
    /// as well as the gateway; `None` when the key is unset.
    pub interactions_endpoint: Option<InteractionsEndpointConfig>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let without_credentials = |url: &Option<String>| {
            url.as_deref()
                .map(|url| crate::redact::redact(url).into_owned())
        };
        f.debug_struct("Config")
            .field("discord_token", &self.discord_token)
            .field("developer_user_id", &self.developer_user_id)
            .field("database_url", &without_credentials(&self.database_url))
            .field("admin_guild_ids", &self.admin_guild_ids)
            .field(
                "discord_proxy_url",
                &without_credentials(&self.discord_proxy_url),
            )
            .field("health_addr", &self.health_addr)
            .field("sharding", &self.sharding)
            .field("identify_reserve", &self.identify_reserve)
            .field("rust_log", &self.rust_log)
            .field("pager_timeout", &self.pager_timeout)
            .field("retention", &self.retention)
            .field("broadcast_rate", &self.broadcast_rate)
            .field("broadcast_approvals", &self.broadcast_approvals)
            .field("invalid_request_budget", &self.invalid_request_budget)
            .field("alerts", &self.alerts)
            .field("interactions_endpoint", &self.interactions_endpoint)
            .finish()
    }
}

const DEFAULT_HEALTH_ADDR: &str = "0.0.0.0:8080";
const DEFAULT_RUST_LOG: &str = "info,serenity=warn,poise=warn,sqlx=warn";

impl Config {
    /// Registers every secret this configuration holds with
    /// [`crate::redact`] (the bot token, the alert webhook's token, the
    /// credentials in `DATABASE_URL` and `DISCORD_PROXY_URL`), so no log
    /// line, stored log entry or printed error carries one. The reference
    /// bot calls it first thing; a host bot reading its own configuration
    /// registers its secrets with [`crate::redact::register_secret`].
    pub fn register_secrets(&self) {
        crate::redact::register_secret(self.discord_token.expose());
        if let Some(webhook) = &self.alerts.webhook {
            crate::redact::register_secret(webhook.token().expose());
        }
        for url in [&self.database_url, &self.discord_proxy_url]
            .into_iter()
            .flatten()
        {
            crate::redact::register_url_credentials(url);
        }
    }

    /// Reads `.env` (if present) and the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        // A missing .env is normal (variables may come from the service manager);
        // a malformed one is not.
        match dotenvy::dotenv() {
            Ok(_) => {}
            Err(error) if error.not_found() => {}
            Err(error) => return Err(ConfigError::new(".env", error.to_string())),
        }
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds the configuration from any variable source (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };

        let discord_token = parse_token(get("DISCORD_TOKEN"))?;
        let developer_user_id = match get("DEVELOPER_USER_ID") {
            None => {
                return Err(ConfigError::new(
                    "DEVELOPER_USER_ID",
                    "is not set (the Discord user id of the primary developer, e.g. 123456789012345678)",
                ));
            }
            Some(raw) => UserId::new(parse_snowflake("DEVELOPER_USER_ID", &raw)?),
        };
        let database_url = get("DATABASE_URL")
            .map(|url| parse_database_url(&url).map(|()| url))
            .transpose()?;
        let admin_guild_ids = parse_guild_list(get("ADMIN_GUILD_IDS").as_deref())?;
        let discord_proxy_url = get("DISCORD_PROXY_URL")
            .map(|url| parse_http_url("DISCORD_PROXY_URL", &url))
            .transpose()?;
        let health_addr = get("HEALTH_ADDR")
            .unwrap_or_else(|| DEFAULT_HEALTH_ADDR.to_owned())
            .parse::<SocketAddr>()
            .map_err(|_| {
                ConfigError::new(
                    "HEALTH_ADDR",
                    "is not an address with a port (expected e.g. 0.0.0.0:8080)",
                )
            })?;
        let sharding = parse_sharding(get("SHARD_COUNT").as_deref(), get("SHARD_IDS").as_deref())?;
        let rust_log = get("RUST_LOG").unwrap_or_else(|| DEFAULT_RUST_LOG.to_owned());
        tracing_subscriber::EnvFilter::try_new(&rust_log).map_err(|error| {
            ConfigError::new("RUST_LOG", format!("is not a valid log filter ({error})"))
        })?;

        let pager_timeout = match get("PAGER_TIMEOUT_SECS") {
            None => DEFAULT_PAGER_TIMEOUT,
            Some(raw) => match raw.parse::<u64>() {
                // Discord's interaction tokens expire after 15 minutes.
                Ok(secs) if (1..=840).contains(&secs) => Duration::from_secs(secs),
                _ => {
                    return Err(ConfigError::new(
                        "PAGER_TIMEOUT_SECS",
                        format!(
                            "{raw:?} is not a number of seconds from 1 to 840 (Discord tokens last 15 minutes)"
                        ),
                    ));
                }
            },
        };

        let retention = Retention {
            log_days: parse_days(
                "LOG_RETENTION_DAYS",
                get("LOG_RETENTION_DAYS").as_deref(),
                Retention::default().log_days,
            )?,
            stats_days: parse_days(
                "STATS_RETENTION_DAYS",
                get("STATS_RETENTION_DAYS").as_deref(),
                Retention::default().stats_days,
            )?,
        };

        let broadcast_rate = match get("BROADCAST_RATE") {
            None => DEFAULT_BROADCAST_RATE,
            Some(raw) => match raw.parse::<u32>() {
                // Discord allows a bot 50 requests per second in all.
                Ok(rate) if (1..=50).contains(&rate) => rate,
                _ => {
                    return Err(ConfigError::new(
                        "BROADCAST_RATE",
                        format!(
                            "{raw:?} is not a number of sends per second from 1 to 50 (Discord's global limit)"
                        ),
                    ));
                }
            },
        };

        let identify_reserve = match get("IDENTIFY_RESERVE") {
            None => DEFAULT_IDENTIFY_RESERVE,
            Some(raw) => match raw.parse::<u32>() {
                Ok(reserve) if reserve <= 1_000 => reserve,
                _ => {
                    return Err(ConfigError::new(
                        "IDENTIFY_RESERVE",
                        format!(
                            "{raw:?} is not a number of identifies from 0 to 1000 (Discord allows 1000 a day)"
                        ),
                    ));
                }
            },
        };

        let broadcast_approvals = match get("BROADCAST_APPROVALS").as_deref() {
            None | Some("0" | "false" | "off") => false,
            Some("1" | "true" | "on") => true,
            Some(raw) => {
                return Err(ConfigError::new(
                    "BROADCAST_APPROVALS",
                    format!("{raw:?} is not 1 (on) or 0 (off)"),
                ));
            }
        };

        let invalid_request_budget = match get("INVALID_REQUEST_BUDGET") {
            None => crate::discord_guard::invalid_requests::DEFAULT_BUDGET,
            Some(raw) => match raw.parse::<u32>() {
                Ok(n) if (1..=10_000).contains(&n) => n,
                _ => {
                    return Err(ConfigError::new(
                        "INVALID_REQUEST_BUDGET",
                        format!(
                            "{raw:?} is not a number of invalid responses from 1 to 10000 (Discord bans an IP at 10,000 in 10 minutes)"
                        ),
                    ));
                }
            },
        };

        let alerts = AlertConfig::from_lookup(get)?;
        let interactions_endpoint = InteractionsEndpointConfig::from_lookup(get)?;

        Ok(Self {
            alerts,
            interactions_endpoint,
            pager_timeout,
            retention,
            broadcast_rate,
            broadcast_approvals,
            invalid_request_budget,
            discord_token,
            developer_user_id,
            database_url,
            admin_guild_ids,
            discord_proxy_url,
            health_addr,
            sharding,
            identify_reserve,
            rust_log,
        })
    }
}

#[cfg(test)]
mod tests;
