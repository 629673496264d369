//! Discord's daily identify budget, read before connecting (see the parent
//! module for why).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serenity::all::{BotGateway, Http};

use crate::telemetry::health_server::{HealthShared, IdentifiesLeft};

/// Past the reset Discord announced, before the budget is read again: its
/// clock and ours may differ by a little.
const AFTER_RESET: Duration = Duration::from_secs(1);

/// Discord's `session_start_limit`, as `GET /gateway/bot` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdentifyBudget {
    /// IDENTIFYs allowed a day.
    pub total: u64,
    /// IDENTIFYs left until `reset_after`.
    pub remaining: u64,
    /// When `remaining` is back to `total`.
    pub reset_after: Duration,
    /// IDENTIFYs allowed per 5 s, one per bucket (`shard_id % max_concurrency`).
    pub max_concurrency: u64,
}

impl IdentifyBudget {
    /// The budget `GET /gateway/bot` reports.
    pub fn of(gateway: &BotGateway) -> Self {
        let limit = &gateway.session_start_limit;
        Self {
            total: limit.total,
            remaining: limit.remaining,
            reset_after: Duration::from_millis(limit.reset_after),
            max_concurrency: limit.max_concurrency,
        }
    }

    /// What starting `shards` needs and `reserve` keeps back, when it is
    /// more than is left; `None` when the process may connect.
    pub fn shortfall(&self, shards: u32, reserve: u32) -> Option<u64> {
        let needed = u64::from(shards) + u64::from(reserve);
        (self.remaining < needed).then_some(needed)
    }

    /// What the log and `/health` say while a process waits for the reset.
    pub fn waiting_reason(
        &self,
        shards: u32,
        reserve: u32,
        needed: u64,
        reset_at: DateTime<Utc>,
    ) -> String {
        let noun = if shards == 1 { "shard" } else { "shards" };
        format!(
            "identify budget: Discord allows {} more identifies (of {} a day) until {}; \
             this process needs {needed} ({shards} {noun} + IDENTIFY_RESERVE {reserve}), \
             so it connects after the reset",
            self.remaining,
            self.total,
            reset_at.format("%Y-%m-%d %H:%M:%S UTC"),
        )
    }
}

/// Reads the identify budget and waits, not connected, until it covers
/// `shards` (Discord's recommendation when `None`) plus `reserve`; returns
/// the number of shards to start and the budget read last. While it waits,
/// `/health` answers 503 naming the identify budget, and one error says why
/// and until when.
pub async fn wait_for_identify_budget(
    http: &Http,
    shards: Option<u32>,
    reserve: u32,
    health: &HealthShared,
) -> serenity::Result<(u32, IdentifyBudget)> {
    loop {
        let gateway = http.get_bot_gateway().await?;
        let budget = IdentifyBudget::of(&gateway);
        let shards = shards.unwrap_or(gateway.shards).max(1);
        let Some(needed) = budget.shortfall(shards, reserve) else {
            health.set_gateway_hold(None);
            health.set_identifies_left(IdentifiesLeft {
                remaining: budget.remaining.saturating_sub(u64::from(shards)),
                total: budget.total,
                resets_at: Utc::now()
                    + chrono::TimeDelta::from_std(budget.reset_after)
                        .unwrap_or(chrono::TimeDelta::MAX),
            });
            return Ok((shards, budget));
        };
        let reset_at = Utc::now()
            + chrono::TimeDelta::from_std(budget.reset_after).unwrap_or(chrono::TimeDelta::MAX);
        let reason = budget.waiting_reason(shards, reserve, needed, reset_at);
        tracing::error!(
            event_type = "identify_budget",
            remaining = budget.remaining,
            total = budget.total,
            needed,
            reset_at = %reset_at,
            "not connecting to Discord: {reason}"
        );
        health.set_gateway_hold(Some(reason));
        tokio::time::sleep(budget.reset_after + AFTER_RESET).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(remaining: u64) -> IdentifyBudget {
        IdentifyBudget {
            total: 1000,
            remaining,
            reset_after: Duration::from_secs(3600),
            max_concurrency: 1,
        }
    }

    #[test]
    fn a_process_connects_only_with_its_shards_and_the_reserve_left() {
        assert_eq!(budget(60).shortfall(10, 50), None);
        assert_eq!(budget(59).shortfall(10, 50), Some(60));
        assert_eq!(budget(3).shortfall(1, 50), Some(51));
        assert_eq!(budget(1).shortfall(1, 0), None);
        assert_eq!(budget(0).shortfall(1, 0), Some(1));
    }

    #[test]
    fn the_reason_names_the_budget_the_figures_and_the_reset() {
        let reset_at = DateTime::parse_from_rfc3339("2026-12-07T20:00:12Z")
            .unwrap()
            .with_timezone(&Utc);
        let reason = budget(3).waiting_reason(1, 50, 51, reset_at);
        assert!(reason.starts_with("identify budget: "), "{reason}");
        for figure in [
            "3 more",
            "1000 a day",
            "needs 51",
            "IDENTIFY_RESERVE 50",
            "2026-12-07 20:00:12 UTC",
        ] {
            assert!(reason.contains(figure), "{figure} in {reason}");
        }
    }
}
