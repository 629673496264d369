//! A restart as Discord plays it for a bot in many servers. Discord allows at
//! most 2,500 servers a shard (it refuses to IDENTIFY a shard with more),
//! serenity 0.12 starts one shard every 5 s, and each shard's GUILD_CREATEs
//! follow its own READY. So here every shard's servers are sent as fast as
//! the fake can right after that shard's READY, and `/admin stats` is sent
//! from a server of the shard being fed: every probe waits behind the burst
//! on its own websocket, the worst place an interaction can be.

use super::*;

/// Discord's limit of servers on one shard.
pub const SERVERS_PER_SHARD: u64 = 2_500;

/// How often the database is asked whether a shard's servers are counted.
const POLL: Duration = Duration::from_millis(20);

pub async fn storm(servers: u64, channels: u64) -> Run {
    let shards = servers.div_ceil(SERVERS_PER_SHARD).max(1);
    let fake = FakeDiscord::start().await;
    fake.heartbeat_like_discord();
    let db = TestDb::new().await;
    let dir = work_dir();
    fake.join_guilds((0..servers).map(server_id));
    let pool = db.pool.clone();

    let bot = launch(&fake, &db, &dir, "first.log", shards);
    let first = feed(&fake, 0, servers, channels, shards, |target| {
        counted(pool.clone(), target)
    })
    .await;
    tokio::time::sleep(SETTLE).await;
    let (rss_after_burst, peak) = memory_mib(bot.id());
    stop(bot, &fake).await;
    set_broadcast_channels(&pool).await;

    let before_restart = RestartWrites::start(&pool).await;
    let identified = fake.identified_shards().len();
    let bot = launch(&fake, &db, &dir, "second.log", shards);
    let second = feed(&fake, identified, servers, channels, shards, |target| {
        taken(target as u64)
    })
    .await;
    tokio::time::sleep(SETTLE).await;
    let (rss_after_restart, second_peak) = memory_mib(bot.id());
    stop(bot, &fake).await;
    let restart_writes = before_restart.end(&pool).await;

    Run {
        servers,
        counted_in: first.took,
        sent_in: first.sent_in,
        refreshed_in: second.took,
        restart_writes,
        acks: [first.acks, second.acks].concat(),
        shard_rates: [first.shard_rates, second.shard_rates].concat(),
        rss_after_burst,
        rss_after_restart,
        peak: peak.max(second_peak),
    }
}

/// One start of the bot, fed shard by shard.
struct Fed {
    /// From the first shard's first GUILD_CREATE until every server is counted.
    took: Duration,
    /// Time the fake spent sending, every shard together.
    sent_in: Duration,
    /// Per shard: its servers over the time from its first GUILD_CREATE until
    /// they were all counted.
    shard_rates: Vec<f64>,
    acks: Vec<Duration>,
}

/// Waits for each shard's READY in turn (after the `already_identified`
/// IDENTIFYs of earlier starts), sends that shard's servers at once and waits
/// until `counted(servers so far)` holds, probing all along.
async fn feed<F, Fut>(
    fake: &FakeDiscord,
    already_identified: usize,
    servers: u64,
    channels: u64,
    shards: u64,
    counted: F,
) -> Fed
where
    F: Fn(i64) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    // Built before the clock starts, as in the burst on one shard.
    let mut by_shard: Vec<Vec<(u64, String)>> = vec![Vec::new(); shards as usize];
    for id in (0..servers).map(server_id) {
        by_shard[((id >> 22) % shards) as usize].push((id, guild(id, channels).to_string()));
    }
    let (finished, done) = tokio::sync::watch::channel(false);
    let (target, probe_target) = tokio::sync::watch::channel(0);
    let prober = probe(fake.clone(), done, probe_target);
    let mut first_sent = None;
    let mut sent_in = Duration::ZERO;
    let mut shard_rates = Vec::new();
    let mut so_far = 0;
    for started in 0..shards as usize {
        // serenity starts one shard every 5 s.
        fake.wait_for_shards(started + 1, Duration::from_secs(60))
            .await;
        let [shard, _] = fake.identified_shards()[already_identified + started];
        let frames = std::mem::take(&mut by_shard[usize::from(shard)]);
        if let Some((id, _)) = frames.first() {
            target.send_replace(*id);
        }
        let began = Instant::now();
        first_sent.get_or_insert(began);
        for (n, (id, data)) in frames.iter().enumerate() {
            fake.dispatch_prepared_for_guild(*id, "GUILD_CREATE", data);
            if n % 1_024 == 0 {
                tokio::task::yield_now().await;
            }
        }
        sent_in += began.elapsed();
        so_far += frames.len() as i64;
        while !counted(so_far).await {
            tokio::time::sleep(POLL).await;
        }
        shard_rates.push(frames.len() as f64 / began.elapsed().as_secs_f64());
    }
    let took = first_sent.map_or(Duration::ZERO, |at| at.elapsed());
    finished.send_replace(true);
    Fed {
        took,
        sent_in,
        shard_rates,
        acks: prober.await.unwrap(),
    }
}
