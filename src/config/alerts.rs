//! The alert variables (`ALERT_*`): thresholds, pacing, and where else than
//! the alert channel alerts go. Defaults live here; the README says why each
//! is what it is.

use std::fmt;
use std::time::Duration;

use super::parse::parse_snowflake;
use super::values::{ConfigError, Secret};

/// How long a key stays quiet after it was announced, while it lasts or when
/// it comes back: at most one message per key per 10 minutes.
pub const REPEAT_AFTER: Duration = Duration::from_secs(10 * 60);

/// A Discord webhook to execute with every alert. Its token is a secret: it
/// never appears in `Debug` output, and the bot registers it with
/// [`crate::redact`] so no log line carries it.
#[derive(Clone, PartialEq, Eq)]
pub struct AlertWebhook {
    /// The webhook's id (the number in its URL).
    pub id: u64,
    token: String,
}

impl AlertWebhook {
    /// `https://discord.com/api/webhooks/<id>/<token>` (also `discordapp.com`,
    /// `ptb.` / `canary.`, with or without `/v10`).
    pub fn parse(url: &str) -> Option<Self> {
        let rest = url.trim().strip_prefix("https://")?;
        let (host, path) = rest.split_once('/')?;
        let known = [
            "discord.com",
            "discordapp.com",
            "ptb.discord.com",
            "canary.discord.com",
        ];
        if !known.contains(&host) {
            return None;
        }
        let path = path.strip_prefix("api/")?;
        let path = path
            .strip_prefix("v10/")
            .or_else(|| path.strip_prefix("v9/"))
            .unwrap_or(path);
        let mut parts = path.strip_prefix("webhooks/")?.split('/');
        let id = parts.next()?.parse().ok().filter(|id| *id > 0)?;
        let token = parts.next()?.split(['?', '#']).next()?;
        let valid = (20..=200).contains(&token.len())
            && token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        (valid && parts.next().is_none_or(str::is_empty)).then(|| Self {
            id,
            token: token.to_owned(),
        })
    }

    /// The webhook's token, kept out of `Debug`.
    pub fn token(&self) -> Secret {
        Secret::new(self.token.clone())
    }
}

impl fmt::Debug for AlertWebhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AlertWebhook {{ id: {}, token: [redacted] }}", self.id)
    }
}

/// What is alerted, when, and where besides the alert channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertConfig {
    /// `ALERT_INTERVAL`: how often conditions are evaluated.
    pub interval: Duration,
    /// `ALERT_ERROR_COUNT` errors of one event type within
    /// `ALERT_ERROR_WINDOW` make a burst.
    pub error_count: u32,
    /// See `error_count`.
    pub error_window: Duration,
    /// `ALERT_BROADCAST_FAILED_PERCENT`: a finished broadcast with more than
    /// this share of failed deliveries.
    pub broadcast_failed_percent: u32,
    /// `ALERT_SERVER_LEAVES`: more servers left in an hour than this.
    pub server_leaves_per_hour: u32,
    /// `ALERT_MAX_PER_HOUR`: alert messages an hour, all keys together.
    pub max_per_hour: u32,
    /// `ALERT_WEBHOOK_URL`.
    pub webhook: Option<AlertWebhook>,
    /// `ALERT_MENTION_ROLE`: the one role alert messages may mention.
    pub mention_role: Option<u64>,
}

impl Default for AlertConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(20),
            error_count: 10,
            error_window: Duration::from_secs(5 * 60),
            broadcast_failed_percent: 10,
            server_leaves_per_hour: 20,
            max_per_hour: 30,
            webhook: None,
            mention_role: None,
        }
    }
}

fn duration(
    variable: &'static str,
    raw: Option<String>,
    default: Duration,
    range: (Duration, Duration),
) -> Result<Duration, ConfigError> {
    let Some(raw) = raw else {
        return Ok(default);
    };
    match humantime::parse_duration(&raw) {
        Ok(value) if value >= range.0 && value <= range.1 => Ok(value),
        _ => Err(ConfigError::new(
            variable,
            format!(
                "{raw:?} is not a duration from {} to {} (e.g. 20s, 5m, 1h)",
                humantime::format_duration(range.0),
                humantime::format_duration(range.1)
            ),
        )),
    }
}

fn number(
    variable: &'static str,
    raw: Option<String>,
    default: u32,
    range: std::ops::RangeInclusive<u32>,
) -> Result<u32, ConfigError> {
    let Some(raw) = raw else {
        return Ok(default);
    };
    match raw.parse::<u32>() {
        Ok(value) if range.contains(&value) => Ok(value),
        _ => Err(ConfigError::new(
            variable,
            format!(
                "{raw:?} is not a whole number from {} to {}",
                range.start(),
                range.end()
            ),
        )),
    }
}

impl AlertConfig {
    /// Reads the `ALERT_*` variables through `get` (trimmed, empty as unset).
    pub(super) fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let default = Self::default();
        let webhook = get("ALERT_WEBHOOK_URL")
            .map(|url| {
                // Never echo the value: it is a secret.
                AlertWebhook::parse(&url).ok_or_else(|| {
                    ConfigError::new(
                        "ALERT_WEBHOOK_URL",
                        "is not a Discord webhook URL (https://discord.com/api/webhooks/<id>/<token>)",
                    )
                })
            })
            .transpose()?;
        let mention_role = get("ALERT_MENTION_ROLE")
            .map(|raw| parse_snowflake("ALERT_MENTION_ROLE", &raw))
            .transpose()?;
        let (second, day) = (Duration::from_millis(100), Duration::from_secs(86_400));
        Ok(Self {
            interval: duration(
                "ALERT_INTERVAL",
                get("ALERT_INTERVAL"),
                default.interval,
                (second, Duration::from_secs(3600)),
            )?,
            error_count: number(
                "ALERT_ERROR_COUNT",
                get("ALERT_ERROR_COUNT"),
                default.error_count,
                1..=100_000,
            )?,
            error_window: duration(
                "ALERT_ERROR_WINDOW",
                get("ALERT_ERROR_WINDOW"),
                default.error_window,
                (Duration::from_secs(1), day),
            )?,
            broadcast_failed_percent: number(
                "ALERT_BROADCAST_FAILED_PERCENT",
                get("ALERT_BROADCAST_FAILED_PERCENT"),
                default.broadcast_failed_percent,
                0..=99,
            )?,
            server_leaves_per_hour: number(
                "ALERT_SERVER_LEAVES",
                get("ALERT_SERVER_LEAVES"),
                default.server_leaves_per_hour,
                1..=1_000_000,
            )?,
            max_per_hour: number(
                "ALERT_MAX_PER_HOUR",
                get("ALERT_MAX_PER_HOUR"),
                default.max_per_hour,
                1..=1000,
            )?,
            webhook,
            mention_role,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "abcDEF123_-abcDEF123_-abcDEF123";

    #[test]
    fn webhook_urls_are_parsed_and_never_shown() {
        let url = format!("https://discord.com/api/webhooks/123/{TOKEN}");
        let webhook = AlertWebhook::parse(&url).expect("valid");
        assert_eq!(webhook.id, 123);
        assert_eq!(webhook.token().expose(), TOKEN);
        assert!(!format!("{webhook:?}").contains(TOKEN));
        for ok in [
            format!("https://discordapp.com/api/v10/webhooks/1/{TOKEN}"),
            format!("https://canary.discord.com/api/webhooks/1/{TOKEN}?wait=true"),
        ] {
            assert!(AlertWebhook::parse(&ok).is_some(), "{ok}");
        }
        for bad in [
            format!("http://discord.com/api/webhooks/1/{TOKEN}"),
            format!("https://evil.com/api/webhooks/1/{TOKEN}"),
            format!("https://discord.com/api/webhooks/x/{TOKEN}"),
            "https://discord.com/api/webhooks/1/short".to_owned(),
            format!("https://discord.com/api/webhooks/1/{TOKEN}/slack"),
        ] {
            assert!(AlertWebhook::parse(&bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn defaults_and_bad_values() {
        let none = AlertConfig::from_lookup(|_| None).unwrap();
        assert_eq!(none, AlertConfig::default());
        let set = AlertConfig::from_lookup(|name| match name {
            "ALERT_INTERVAL" => Some("250ms".into()),
            "ALERT_ERROR_WINDOW" => Some("2m".into()),
            "ALERT_MAX_PER_HOUR" => Some("5".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(set.interval, Duration::from_millis(250));
        assert_eq!(set.error_window, Duration::from_secs(120));
        assert_eq!(set.max_per_hour, 5);
        for (name, value) in [
            ("ALERT_INTERVAL", "0s"),
            ("ALERT_ERROR_COUNT", "0"),
            ("ALERT_ERROR_WINDOW", "forever"),
            ("ALERT_BROADCAST_FAILED_PERCENT", "100"),
            ("ALERT_MENTION_ROLE", "@ops"),
            ("ALERT_WEBHOOK_URL", "https://example.com/hook"),
        ] {
            let error =
                AlertConfig::from_lookup(|n| (n == name).then(|| value.to_owned())).unwrap_err();
            assert_eq!(error.variable, name);
        }
    }
}
