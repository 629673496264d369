//! Typed configuration from the environment (and `.env`), validated before the
//! bot connects anywhere: a bad value stops start-up with one line naming the
//! variable, so a misconfigured deploy fails loudly instead of half-working.

mod alerts;
mod interactions;
mod parse;

use std::fmt;
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::time::Duration;

use serenity::all::{GuildId, UserId};

pub use alerts::{AlertConfig, AlertWebhook, REPEAT_AFTER};
pub use interactions::InteractionsEndpointConfig;
pub use parse::parse_snowflake;
use parse::{
    parse_database_url, parse_days, parse_guild_list, parse_http_url, parse_sharding, parse_token,
};

/// How long list buttons stay live when `PAGER_TIMEOUT_SECS` is unset (Discord's
/// interaction tokens last 15 minutes).
pub const DEFAULT_PAGER_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// `BROADCAST_RATE` when unset: below Discord's global 50 requests/s, leaving
/// room for the bot's other calls.
pub const DEFAULT_BROADCAST_RATE: u32 = 40;

/// `LOG_RETENTION_DAYS` and `STATS_RETENTION_DAYS`. Rollups are kept forever:
/// they are small (one row per command per day).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub log_days: u32,
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

/// The bot token. Kept out of `Debug`/`Display` so it can never reach a log line.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The real value, for the one place that needs it (serenity's HTTP client).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Which shards this process runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sharding {
    /// As many shards as Discord recommends (`GET /gateway/bot`), all in this process.
    Recommended,
    /// `SHARD_COUNT` shards, all in this process.
    All { count: u32 },
    /// Shards `ids` (first and last included) of `count`, so several
    /// processes can split one bot. Inclusive because `SHARD_IDS=0-3` names
    /// both ends, and serenity's `start_shard_range` includes its end too:
    /// a half-open range here started one shard too many.
    Range {
        ids: RangeInclusive<u32>,
        count: u32,
    },
}

#[derive(Debug, Clone)]
pub struct Config {
    pub discord_token: Secret,
    pub developer_user_id: UserId,
    pub database_url: Option<String>,
    pub admin_guild_ids: Vec<GuildId>,
    pub discord_proxy_url: Option<String>,
    pub health_addr: SocketAddr,
    pub sharding: Sharding,
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
    /// The `ALERT_*` variables: what is alerted, and where.
    pub alerts: AlertConfig,
    /// `DISCORD_PUBLIC_KEY` / `INTERACTIONS_ADDR`: interactions over HTTP
    /// as well as the gateway; `None` when the key is unset.
    pub interactions_endpoint: Option<InteractionsEndpointConfig>,
}

/// A configuration problem: which variable, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

impl ConfigError {
    fn new(variable: &'static str, problem: impl Into<String>) -> Self {
        Self {
            variable,
            problem: problem.into(),
        }
    }
}

const DEFAULT_HEALTH_ADDR: &str = "0.0.0.0:8080";
const DEFAULT_RUST_LOG: &str = "info,serenity=warn,poise=warn,sqlx=warn";

impl Config {
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

        let alerts = AlertConfig::from_lookup(get)?;
        let interactions_endpoint = InteractionsEndpointConfig::from_lookup(get)?;

        Ok(Self {
            alerts,
            interactions_endpoint,
            pager_timeout,
            retention,
            broadcast_rate,
            broadcast_approvals,
            discord_token,
            developer_user_id,
            database_url,
            admin_guild_ids,
            discord_proxy_url,
            health_addr,
            sharding,
            rust_log,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const TOKEN: &str = "MTIzNDU2Nzg5MDEyMzQ1Njc4.fake.token-for-tests";

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    fn minimal() -> Vec<(&'static str, &'static str)> {
        vec![("DISCORD_TOKEN", TOKEN), ("DEVELOPER_USER_ID", "42")]
    }

    #[test]
    fn minimal_config_uses_documented_defaults() {
        let config = config(&minimal()).expect("valid");
        assert_eq!(config.developer_user_id, UserId::new(42));
        assert_eq!(config.health_addr.to_string(), DEFAULT_HEALTH_ADDR);
        assert_eq!(config.sharding, Sharding::Recommended);
        assert!(config.admin_guild_ids.is_empty());
        assert!(config.database_url.is_none());
    }

    #[test]
    fn retention_defaults_and_refuses_nonsense() {
        let defaults = config(&minimal()).expect("valid").retention;
        assert_eq!((defaults.log_days, defaults.stats_days), (30, 90));
        let mut vars = minimal();
        vars.push(("LOG_RETENTION_DAYS", "7"));
        vars.push(("STATS_RETENTION_DAYS", "365"));
        let set = config(&vars).expect("valid").retention;
        assert_eq!((set.log_days, set.stats_days), (7, 365));
        for bad in ["0", "-1", "30d", "99999"] {
            let mut vars = minimal();
            vars.push(("STATS_RETENTION_DAYS", bad));
            assert_eq!(config(&vars).unwrap_err().variable, "STATS_RETENTION_DAYS");
        }
    }

    #[test]
    fn the_token_never_shows_in_debug_output() {
        let config = config(&minimal()).expect("valid");
        assert!(!format!("{config:?}").contains(TOKEN));
    }

    #[test]
    fn missing_required_variables_are_named() {
        let error = config(&[("DEVELOPER_USER_ID", "42")]).unwrap_err();
        assert_eq!(error.variable, "DISCORD_TOKEN");
        let error = config(&[("DISCORD_TOKEN", TOKEN)]).unwrap_err();
        assert_eq!(error.variable, "DEVELOPER_USER_ID");
    }

    #[test]
    fn malformed_values_are_named() {
        for (name, value) in [
            ("DEVELOPER_USER_ID", "abc"),
            ("ADMIN_GUILD_IDS", "1,x"),
            ("DISCORD_PROXY_URL", "ftp://x"),
            ("HEALTH_ADDR", "8080"),
            ("SHARD_COUNT", "0"),
            ("DATABASE_URL", "mysql://x"),
            ("RUST_LOG", "info,[[["),
        ] {
            let mut vars = minimal();
            vars.push((name, value));
            assert_eq!(config(&vars).unwrap_err().variable, name, "{name}={value}");
        }
    }

    #[test]
    fn shard_ranges_are_parsed_and_bounded() {
        let mut vars = minimal();
        vars.extend([("SHARD_COUNT", "8"), ("SHARD_IDS", "4-7")]);
        assert_eq!(
            config(&vars).unwrap().sharding,
            Sharding::Range {
                ids: 4..=7,
                count: 8
            }
        );
        vars.push(("SHARD_IDS", "6-8"));
        let vars: Vec<_> = vars
            .into_iter()
            .filter(|(k, v)| *k != "SHARD_IDS" || *v == "6-8")
            .collect();
        assert_eq!(config(&vars).unwrap_err().variable, "SHARD_IDS");
        let mut vars = minimal();
        vars.push(("SHARD_IDS", "0-1"));
        assert_eq!(config(&vars).unwrap_err().variable, "SHARD_IDS");
    }

    #[test]
    fn a_single_shard_id_is_that_shard_alone_and_the_last_id_is_count_minus_one() {
        let with = |ids: &str| {
            let mut vars = minimal();
            vars.extend([("SHARD_COUNT", "3"), ("SHARD_IDS", ids)]);
            config(&vars).map(|config| config.sharding)
        };
        assert_eq!(
            with("2").unwrap(),
            Sharding::Range {
                ids: 2..=2,
                count: 3
            }
        );
        assert_eq!(
            with("0-2").unwrap(),
            Sharding::Range {
                ids: 0..=2,
                count: 3
            }
        );
        for past_the_end in ["3", "2-3", "0-3"] {
            let error = with(past_the_end).unwrap_err();
            assert_eq!(error.variable, "SHARD_IDS", "{past_the_end}");
            assert!(error.to_string().contains("0 to 2"), "{error}");
        }
        assert_eq!(with("2-1").unwrap_err().variable, "SHARD_IDS");
    }

    #[test]
    fn admin_guild_ids_accept_spaces_and_trailing_commas() {
        let mut vars = minimal();
        vars.push(("ADMIN_GUILD_IDS", " 1, 2 ,"));
        assert_eq!(
            config(&vars).unwrap().admin_guild_ids,
            vec![GuildId::new(1), GuildId::new(2)]
        );
    }
}
