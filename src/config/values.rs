//! The values the configuration is made of, apart from how they are read:
//! the parsers (`parse.rs`, `alerts.rs`, `interactions.rs`) and the
//! `Config` that gathers them all build on these, and these on nothing.

use std::fmt;
use std::ops::RangeInclusive;

/// The bot token. Kept out of `Debug`/`Display` so it can never reach a log line.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// A secret holding `value`.
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
    All {
        /// `SHARD_COUNT`.
        count: u32,
    },
    /// Shards `ids` (first and last included) of `count`, so several
    /// processes can split one bot. Inclusive because `SHARD_IDS=0-3` names
    /// both ends, and serenity's `start_shard_range` includes its end too:
    /// a half-open range here started one shard too many.
    Range {
        /// The shards this process runs.
        ids: RangeInclusive<u32>,
        /// The bot's total, `SHARD_COUNT`.
        count: u32,
    },
}

/// A configuration problem: which variable, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    /// The environment variable.
    pub variable: &'static str,
    /// What is wrong with its value, and what would be right.
    pub problem: String,
}

impl ConfigError {
    pub(super) fn new(variable: &'static str, problem: impl Into<String>) -> Self {
        Self {
            variable,
            problem: problem.into(),
        }
    }
}
