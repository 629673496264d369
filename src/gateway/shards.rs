//! Starting a process's shards at Discord's identify pace: one IDENTIFY per
//! `max_concurrency` bucket (`shard_id % max_concurrency`) per 5 s, across
//! every process of the bot, and the buckets side by side.
//!
//! serenity 0.12 starts the shards of one `ShardManager` one at a time, 5 s
//! apart, whatever `max_concurrency` says, and knows nothing of other
//! processes: 40 processes started together identify 40 shards in the same
//! second, and with `max_concurrency` 1 Discord invalidates all but one
//! (each still counted against the 1,000 a day). So each shard gets its own
//! manager, started when its bucket's turn comes; turns are taken in
//! PostgreSQL ([`crate::store::identify_slots`]), so they hold across
//! processes. A shard that later re-identifies by itself (after Discord
//! invalidated its session) does so through serenity, outside these turns.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures_util::StreamExt;
use serenity::all::{Client, GatewayError, GatewayIntents};
use serenity::framework::Framework;
use serenity::futures::channel::mpsc::UnboundedReceiver;
use serenity::gateway::{ShardManager, ShardManagerOptions};
use sqlx::PgPool;

use crate::error::cause_chain;
use crate::store::identify_slots;

/// Between two IDENTIFYs of one bucket: Discord's 5 s and a margin for the
/// time between a turn and the IDENTIFY it allows (the websocket connect).
pub const IDENTIFY_SPACING: Duration = Duration::from_millis(5_500);

/// Which shards this process runs, and Discord's pace for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardPlan {
    /// The shards this process runs, in order.
    pub ids: Vec<u32>,
    /// The bot's total shard count.
    pub total: u32,
    /// From `session_start_limit`: IDENTIFYs per 5 s, one per bucket.
    pub max_concurrency: u32,
}

impl ShardPlan {
    /// The plan's shards by bucket, each in ascending order.
    pub fn buckets(&self) -> BTreeMap<u32, Vec<u32>> {
        let concurrency = self.max_concurrency.max(1);
        let mut buckets: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        for id in &self.ids {
            buckets.entry(id % concurrency).or_default().push(*id);
        }
        for ids in buckets.values_mut() {
            ids.sort_unstable();
        }
        buckets
    }
}

/// The shards of one process, each with its own serenity manager.
pub struct Shards {
    plan: ShardPlan,
    managers: BTreeMap<u32, Arc<ShardManager>>,
    returns: Vec<UnboundedReceiver<Result<(), GatewayError>>>,
}

impl Shards {
    /// Managers for `plan`'s shards, dispatching to `framework` (see
    /// `SharedFramework::for_more_shards`) and sharing `client`'s HTTP
    /// client, cache and data; nothing connects before [`Self::run`].
    pub fn new(client: &Client, framework: Arc<dyn Framework>, plan: ShardPlan) -> Self {
        let mut managers = BTreeMap::new();
        let mut returns = Vec::new();
        for id in &plan.ids {
            let (manager, returned) = ShardManager::new(ShardManagerOptions {
                data: client.data.clone(),
                event_handlers: Vec::new(),
                raw_event_handlers: Vec::new(),
                framework: Arc::new(OnceLock::from(framework.clone())),
                shard_index: *id,
                shard_init: 1,
                shard_total: plan.total,
                ws_url: client.ws_url.clone(),
                cache: client.cache.clone(),
                http: client.http.clone(),
                intents: GatewayIntents::GUILDS,
                presence: None,
            });
            managers.insert(*id, manager);
            returns.push(returned);
        }
        Self {
            plan,
            managers,
            returns,
        }
    }

    /// Every shard's manager (for `/health` and for shutting them down).
    pub fn managers(&self) -> Vec<Arc<ShardManager>> {
        self.managers.values().cloned().collect()
    }

    /// Starts every shard when its bucket's turn comes (buckets side by
    /// side), then runs until a shard fails for good (the error) or every
    /// shard is shut down.
    pub async fn run(self, pool: PgPool) -> Result<(), serenity::Error> {
        let Self {
            plan,
            managers,
            returns,
        } = self;
        let buckets = plan.buckets();
        let start = futures_util::future::join_all(buckets.into_iter().map(|(bucket, ids)| {
            let (pool, managers) = (&pool, &managers);
            async move {
                for id in ids {
                    wait_for_turn(pool, plan.max_concurrency, bucket).await;
                    if let Some(manager) = managers.get(&id)
                        && let Err(error) = manager.initialize()
                    {
                        tracing::error!(shard = id, error = %error, "a shard did not start");
                    }
                }
            }
        }));
        let mut returned = futures_util::stream::select_all(returns);
        tokio::pin!(start);
        let mut started = false;
        loop {
            tokio::select! {
                _ = &mut start, if !started => started = true,
                outcome = returned.next() => {
                    return match outcome {
                        Some(Err(error)) => Err(serenity::Error::Gateway(error)),
                        Some(Ok(())) | None => Ok(()),
                    };
                }
            }
        }
    }
}

/// Waits for `bucket`'s next turn. Without the database, the turn is this
/// process's own: 5.5 s from now (the spacing holds within the process).
async fn wait_for_turn(pool: &PgPool, max_concurrency: u32, bucket: u32) {
    let wait = match identify_slots::take_turn(
        pool,
        max_concurrency.max(1),
        bucket,
        IDENTIFY_SPACING,
    )
    .await
    {
        Ok(wait) => wait,
        Err(error) => {
            tracing::warn!(error = %cause_chain(&error), bucket, "could not take an identify turn in the database; waiting one spacing");
            IDENTIFY_SPACING
        }
    };
    tokio::time::sleep(wait).await;
}

/// Shuts every shard of `managers` down (their `run` then returns).
pub async fn shutdown_all(managers: &[Arc<ShardManager>]) {
    futures_util::future::join_all(managers.iter().map(|manager| manager.shutdown_all())).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_grouped_by_bucket_in_order() {
        let plan = ShardPlan {
            ids: vec![5, 0, 3, 1, 4, 2],
            total: 6,
            max_concurrency: 2,
        };
        let buckets: Vec<(u32, Vec<u32>)> = plan.buckets().into_iter().collect();
        assert_eq!(buckets, vec![(0, vec![0, 2, 4]), (1, vec![1, 3, 5])]);
        let one = ShardPlan {
            max_concurrency: 0,
            ..plan
        };
        assert_eq!(one.buckets().len(), 1, "0 is read as 1");
    }
}
