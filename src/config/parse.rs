//! Parsers for single variables. Each names its variable in the error and
//! never echoes a value that may be secret.

use std::ops::RangeInclusive;

use serenity::all::GuildId;

use super::values::{ConfigError, Secret, Sharding};

/// A whole number of days from 1 to 3650, or `default` when unset.
pub(super) fn parse_days(
    variable: &'static str,
    raw: Option<&str>,
    default: u32,
) -> Result<u32, ConfigError> {
    let Some(raw) = raw else {
        return Ok(default);
    };
    match raw.parse::<u32>() {
        Ok(days) if (1..=3650).contains(&days) => Ok(days),
        _ => Err(ConfigError::new(
            variable,
            format!("{raw:?} is not a whole number of days from 1 to 3650"),
        )),
    }
}

pub(super) fn parse_token(raw: Option<String>) -> Result<Secret, ConfigError> {
    let Some(token) = raw else {
        return Err(ConfigError::new(
            "DISCORD_TOKEN",
            "is not set (the bot token from the Discord developer portal)",
        ));
    };
    let token = token.strip_prefix("Bot ").unwrap_or(&token);
    if token.chars().any(char::is_whitespace) || token.len() < 20 {
        // Never echo the value: it may be a real, slightly mangled token.
        return Err(ConfigError::new(
            "DISCORD_TOKEN",
            "does not look like a bot token (too short or contains spaces)",
        ));
    }
    Ok(Secret::new(token))
}

/// Discord ids are positive 64-bit numbers that fit in PostgreSQL's BIGINT.
pub fn parse_snowflake(variable: &'static str, raw: &str) -> Result<u64, ConfigError> {
    match raw.parse::<u64>() {
        Ok(id) if id > 0 && id <= i64::MAX as u64 => Ok(id),
        _ => Err(ConfigError::new(
            variable,
            format!("{raw:?} is not a Discord id (expected a number like 123456789012345678)"),
        )),
    }
}

pub(super) fn parse_guild_list(raw: Option<&str>) -> Result<Vec<GuildId>, ConfigError> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| parse_snowflake("ADMIN_GUILD_IDS", part).map(GuildId::new))
        .collect()
}

pub(super) fn parse_database_url(url: &str) -> Result<(), ConfigError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(())
    } else {
        Err(ConfigError::new(
            "DATABASE_URL",
            "must start with postgres:// or postgresql:// (or be unset to use the built-in database)",
        ))
    }
}

pub(super) fn parse_http_url(variable: &'static str, url: &str) -> Result<String, ConfigError> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    match rest {
        Some(host) if !host.is_empty() && !host.contains(char::is_whitespace) => {
            Ok(url.trim_end_matches('/').to_owned())
        }
        // Never echo the value: a proxy URL may carry credentials.
        _ => Err(ConfigError::new(
            variable,
            "is not an http:// or https:// URL (the value is not shown: it may hold credentials)",
        )),
    }
}

pub(super) fn parse_sharding(
    count: Option<&str>,
    ids: Option<&str>,
) -> Result<Sharding, ConfigError> {
    let count = count
        .map(|raw| match raw.parse::<u32>() {
            Ok(n) if (1..=65_535).contains(&n) => Ok(n),
            _ => Err(ConfigError::new(
                "SHARD_COUNT",
                format!("{raw:?} is not a shard count (a number from 1 to 65535)"),
            )),
        })
        .transpose()?;
    match (count, ids) {
        (None, None) => Ok(Sharding::Recommended),
        (Some(count), None) => Ok(Sharding::All { count }),
        (None, Some(_)) => Err(ConfigError::new(
            "SHARD_IDS",
            "needs SHARD_COUNT too (the total number of shards across all processes)",
        )),
        (Some(count), Some(raw)) => {
            let ids = parse_shard_range(raw)?;
            if *ids.end() >= count {
                return Err(ConfigError::new(
                    "SHARD_IDS",
                    format!(
                        "{raw:?} goes past SHARD_COUNT={count} (shard ids run from 0 to {})",
                        count - 1
                    ),
                ));
            }
            Ok(Sharding::Range { ids, count })
        }
    }
}

/// `"0-3"` (both ends included) or a single `"5"`.
fn parse_shard_range(raw: &str) -> Result<RangeInclusive<u32>, ConfigError> {
    let invalid = || {
        ConfigError::new(
            "SHARD_IDS",
            format!("{raw:?} is not a shard range (expected e.g. 0-3 or 5)"),
        )
    };
    let (first, last) = match raw.split_once('-') {
        Some((first, last)) => (first.trim(), last.trim()),
        None => (raw, raw),
    };
    let first: u32 = first.parse().map_err(|_| invalid())?;
    let last: u32 = last.parse().map_err(|_| invalid())?;
    if first > last {
        return Err(invalid());
    }
    Ok(first..=last)
}
