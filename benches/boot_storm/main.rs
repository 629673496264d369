//! A restart in many servers, as Discord plays it: READY with every server
//! listed as unavailable, then one GUILD_CREATE per server, sent as fast as
//! the fake can. The reference binary runs as its own process (release
//! build) against the fake Discord and PostgreSQL. Reports, for each size:
//! - time until every server is counted (goal: at least 10,000 servers/s);
//! - acknowledgement time of `/admin stats` sent every 200 ms during the
//!   burst (goal: p99 under 500 ms, none over 3 s);
//! - resident memory after the burst and after a restart (a second burst of
//!   the same servers), against the same process with no servers, and per
//!   server (goal: at most 2 KiB per server above the empty process);
//! - the ratio between the largest and the smallest size.
//!
//! `cargo bench --bench boot_storm` (DATABASE_URL's server; creates and drops
//! its own databases). `BENCH_SIZES` (default `10000,100000`),
//! `BENCH_CHANNELS` (channels per server in each GUILD_CREATE, default 10)
//! and `BENCH_SHARDS` change the run. `BENCH_SHARDS` is the bot's
//! `SHARD_COUNT` (default 1: every server and the probes on one websocket,
//! the worst case), every shard fed at once; `BENCH_SHARDS=discord` plays a
//! restart as Discord does instead (see [`discord_paced`]).
//! `BENCH_INTERACTIONS=http` sends the probes to the bot's Interactions
//! Endpoint (signed POSTs, as Discord does when the URL is set) instead of
//! its gateway; the burst still comes over the gateway.

mod discord_paced;

// The test harness's own unit tests do not run under a bench harness, so
// their imports look unused here.
#[path = "../support/settings.rs"]
mod settings;
#[path = "../../tests/it/support/mod.rs"]
#[allow(unused_imports)]
mod support;

use std::process::Child;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use settings::env_number;
use support::binary::{memory_mib, spawn_bot, work_dir};
use support::bot::{ADMIN_GUILD, DEVELOPER};
use support::db::TestDb;
use support::fake_discord::FakeDiscord;
use support::fixtures;

/// Server ids of the burst, away from the admin guild.
const FIRST: u64 = 810_000_000_000_000_000;

/// The `n`th server: consecutive servers on consecutive shards, as
/// snowflakes of servers created over time spread over shards.
fn server_id(n: u64) -> u64 {
    FIRST + (n << 22)
}

#[derive(Clone, Copy)]
struct Shape {
    /// Channels per server in each GUILD_CREATE.
    channels: u64,
    /// `SHARD_COUNT` of the bot, every shard fed at once; `None`: as Discord
    /// paces a restart ([`discord_paced`]).
    shards: Option<u64>,
}
const PROBE_EVERY: Duration = Duration::from_millis(200);
/// Acknowledgements slower than this are listed one by one.
const SLOW_ACK: Duration = Duration::from_millis(250);
/// Memory is read once the process has settled after a burst.
const SETTLE: Duration = Duration::from_secs(5);

struct Run {
    servers: u64,
    counted_in: Duration,
    /// How long the fake itself took to send every (prebuilt) GUILD_CREATE:
    /// the bot cannot count faster than this.
    sent_in: Duration,
    /// The same servers again after a restart: every event taken.
    refreshed_in: Duration,
    /// What the restart wrote to the database.
    restart_writes: RestartWrites,
    acks: Vec<Duration>,
    /// Discord pacing only: how fast each shard's own servers were counted,
    /// in servers a second.
    shard_rates: Vec<f64>,
    rss_after_burst: f64,
    rss_after_restart: f64,
    peak: f64,
}

/// The Interactions Endpoint of the running bot, when probes go over HTTP
/// (`BENCH_INTERACTIONS=http`); each bot gets a fresh port.
static ENDPOINT: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// The health server of the running bot (its `/metrics`); each bot gets a
/// fresh port.
static HEALTH: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

fn probes_over_http() -> bool {
    std::env::var("BENCH_INTERACTIONS").is_ok_and(|door| door == "http")
}

/// Bots this bench started and has not stopped: killed if the bench panics,
/// so a failed run leaves no bot behind to skew the next one.
static RUNNING: std::sync::Mutex<Vec<i32>> = std::sync::Mutex::new(Vec::new());

fn kill_running_bots_on_panic() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        for pid in RUNNING.lock().map(|pids| pids.clone()).unwrap_or_default() {
            // SAFETY: kill(2) with a pid we spawned and a valid signal number.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        report(info);
    }));
}

#[tokio::main]
async fn main() {
    kill_running_bots_on_panic();
    let sizes: Vec<u64> = std::env::var("BENCH_SIZES")
        .unwrap_or_else(|_| "10000,100000".to_owned())
        .split(',')
        .filter_map(|size| size.trim().parse().ok())
        .collect();
    let shards = std::env::var("BENCH_SHARDS").unwrap_or_default();
    let shape = Shape {
        channels: env_number("BENCH_CHANNELS", 10),
        shards: (shards != "discord").then(|| shards.parse().unwrap_or(1)),
    };
    let empty = empty_process_memory().await;
    let sharding = match shape.shards {
        Some(shards) => format!("{shards} shard(s) fed at once"),
        None => format!(
            "{} servers a shard, each shard's servers after its own READY (as Discord does)",
            discord_paced::SERVERS_PER_SHARD
        ),
    };
    let door = if probes_over_http() {
        "probes POSTed to the Interactions Endpoint"
    } else {
        "probes on the gateway"
    };
    println!(
        "boot storm: {sharding}, {} channels and 2 roles per server, {door}; the bot is the release binary",
        shape.channels
    );
    println!("  empty process (no servers): RSS {empty:.1} MiB");
    let mut runs = Vec::new();
    for servers in sizes {
        let run = match shape.shards {
            Some(shards) => storm(servers, shards, shape.channels).await,
            None => discord_paced::storm(servers, shape.channels).await,
        };
        report(&run, empty);
        runs.push(run);
    }
    if let (Some(small), Some(large)) = (runs.first(), runs.last())
        && large.servers > small.servers
    {
        let size = large.servers as f64 / small.servers as f64;
        let growth = |a: f64, b: f64| b / a;
        println!(
            "  {} vs {} servers ({size:.0}x): time to count {:.1}x, RSS above empty after the burst {:.1}x, after a restart {:.1}x (linear would be {size:.0}x)",
            large.servers,
            small.servers,
            growth(
                small.counted_in.as_secs_f64(),
                large.counted_in.as_secs_f64()
            ),
            growth(small.rss_after_burst - empty, large.rss_after_burst - empty),
            growth(
                small.rss_after_restart - empty,
                large.rss_after_restart - empty
            ),
        );
    }
}

fn report(run: &Run, empty: f64) {
    let mut acks = run.acks.clone();
    acks.sort();
    let at =
        |share: f64| acks[((acks.len() as f64 * share).ceil() as usize).clamp(1, acks.len()) - 1];
    let per_second = run.servers as f64 / run.counted_in.as_secs_f64();
    let per_server_kib = |rss: f64| (rss - empty) * 1024.0 / run.servers as f64;
    println!("  {} servers:", run.servers);
    println!(
        "    counted in {:.2} s = {per_second:.0} servers/s (goal >= 10000); the fake took {:.2} s to send them",
        run.counted_in.as_secs_f64(),
        run.sent_in.as_secs_f64()
    );
    println!(
        "    after a restart, every server taken in {:.2} s; {} guild rows rewritten, {} row versions written in all",
        run.refreshed_in.as_secs_f64(),
        run.restart_writes.guilds_rewritten,
        run.restart_writes.rows
    );
    if !run.shard_rates.is_empty() {
        let mut rates = run.shard_rates.clone();
        rates.sort_by(f64::total_cmp);
        println!(
            "    each shard's own servers counted at {:.0} servers/s at worst, {:.0} at the median ({} shard bursts, both starts)",
            rates[0],
            rates[rates.len() / 2],
            rates.len()
        );
    }
    println!(
        "    /admin stats during both bursts: {} acks, p50 {} ms, p99 {} ms, max {} ms (goal p99 < 500, none > 3000)",
        acks.len(),
        at(0.5).as_millis(),
        at(0.99).as_millis(),
        acks.last().map_or(0, Duration::as_millis)
    );
    println!(
        "    RSS after the burst {:.1} MiB ({:.2} KiB/server above empty), after a restart {:.1} MiB ({:.2} KiB/server; goal <= 2), peak {:.1} MiB",
        run.rss_after_burst,
        per_server_kib(run.rss_after_burst),
        run.rss_after_restart,
        per_server_kib(run.rss_after_restart),
        run.peak
    );
}

/// One GUILD_CREATE as Discord sends it, with `channels` text channels (the
/// first one the system channel), two roles (what a full cache would keep)
/// and the bot's own member.
fn guild(id: u64, channels: u64) -> Value {
    let mut guild = fixtures::guild_create(id, &format!("Server {id}"), 1_000 + id % 5_000, None);
    let list: Vec<Value> = (1..=channels)
        .map(|n| fixtures::guild_channel(id + n, id, 0, json!([])))
        .collect();
    guild["channels"] = json!(list);
    let mut moderators = guild["roles"][0].clone();
    moderators["id"] = json!((id + 1_000).to_string());
    moderators["name"] = json!("Moderators");
    guild["roles"].as_array_mut().unwrap().push(moderators);
    // Discord always sends the bot's own member (with its roles), even
    // without the GUILD_MEMBERS intent.
    let mut bot = fixtures::bot_member(id);
    bot["roles"] = json!([(id + 1_000).to_string()]);
    guild["members"] = json!([bot]);
    guild["system_channel_id"] = json!((id + 1).to_string());
    guild
}

async fn start(
    fake: &FakeDiscord,
    db: &TestDb,
    dir: &std::path::Path,
    log: &str,
    shards: u64,
) -> Child {
    let bot = launch(fake, db, dir, log, shards);
    // serenity starts one shard every 5 s.
    let boot = Duration::from_secs(60 + 6 * shards);
    fake.wait_for_shards(shards as usize, boot).await;
    support::bot::eventually("READY handled", boot, || async {
        let listed: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM bot_instances, unnest(shard_ids) WHERE stopped_at IS NULL",
        )
        .fetch_one(&db.pool)
        .await
        .unwrap();
        (listed >= shards as i64).then_some(())
    })
    .await;
    bot
}

/// Starts the reference binary with `shards` shards, without waiting for them.
fn launch(fake: &FakeDiscord, db: &TestDb, dir: &std::path::Path, log: &str, shards: u64) -> Child {
    let admin_guild = ADMIN_GUILD.to_string();
    let shard_count = shards.to_string();
    let endpoint = support::http::free_addr();
    let health = support::http::free_addr();
    *HEALTH.lock().unwrap() = Some(health.clone());
    let mut vars = vec![
        ("ADMIN_GUILD_IDS", admin_guild.as_str()),
        ("SHARD_COUNT", shard_count.as_str()),
        ("RUST_LOG", "warn"),
        ("HEALTH_ADDR", health.as_str()),
    ];
    if probes_over_http() {
        vars.push(("DISCORD_PUBLIC_KEY", support::fake_discord::PUBLIC_KEY));
        vars.push(("INTERACTIONS_ADDR", endpoint.as_str()));
        *ENDPOINT.lock().unwrap() = Some(endpoint.clone());
    }
    let bot = spawn_bot(dir, fake, db, log, &vars);
    RUNNING.lock().unwrap().push(bot.id() as i32);
    bot
}

async fn stop(mut bot: Child, fake: &FakeDiscord) {
    RUNNING
        .lock()
        .unwrap()
        .retain(|pid| *pid != bot.id() as i32);
    // SAFETY: kill(2) with a pid we spawned and a valid signal number.
    unsafe { libc::kill(bot.id() as i32, libc::SIGTERM) };
    tokio::task::spawn_blocking(move || bot.wait())
        .await
        .unwrap()
        .unwrap();
    fake.disconnect_gateway();
    fake.allow_gateway();
}

async fn empty_process_memory() -> f64 {
    let fake = FakeDiscord::start().await;
    let db = TestDb::new().await;
    let dir = work_dir();
    let bot = start(&fake, &db, &dir, "empty.log", 1).await;
    tokio::time::sleep(SETTLE).await;
    let (rss, _) = memory_mib(bot.id());
    stop(bot, &fake).await;
    rss
}

/// `/admin stats` every [`PROBE_EVERY`] until `done`, sent from the server
/// `target` names (on that server's shard; none while it is 0); the
/// acknowledgement times.
fn probe(
    fake: FakeDiscord,
    done: tokio::sync::watch::Receiver<bool>,
    target: tokio::sync::watch::Receiver<u64>,
) -> tokio::task::JoinHandle<Vec<Duration>> {
    tokio::spawn(async move {
        let mut pending = Vec::new();
        let mut n = 0u64;
        let started = Instant::now();
        while !*done.borrow() {
            let guild = *target.borrow();
            if guild == 0 {
                tokio::time::sleep(PROBE_EVERY).await;
                continue;
            }
            n += 1;
            let fake = fake.clone();
            pending.push(tokio::spawn(async move {
                let token = format!("storm-{n}-{}", rand::random::<u32>());
                let interaction = fixtures::slash_command(
                    n,
                    &token,
                    Some(guild),
                    DEVELOPER,
                    &["admin", "stats"],
                    vec![],
                );
                let sent = Instant::now();
                let endpoint = ENDPOINT.lock().unwrap().clone();
                match endpoint {
                    Some(endpoint) => {
                        // Timed to the callback, like a gateway probe; the
                        // POST's own 202 follows it.
                        let fake = fake.clone();
                        tokio::spawn(async move {
                            let reply = fake.post_interaction(&endpoint, &interaction).await;
                            assert_eq!(reply.status, 202, "{reply:?}");
                        });
                    }
                    None => fake.dispatch_for_guild(guild, "INTERACTION_CREATE", interaction),
                }
                fake.wait_for_callback(&token, Duration::from_secs(30))
                    .await;
                let took = sent.elapsed();
                if took > SLOW_ACK {
                    println!(
                        "    slow ack: probe {n} ({:.1} s into the burst) took {} ms",
                        (sent - started).as_secs_f64(),
                        took.as_millis()
                    );
                }
                took
            }));
            tokio::time::sleep(PROBE_EVERY).await;
        }
        let mut acks = Vec::new();
        for task in pending {
            acks.push(task.await.unwrap());
        }
        acks
    })
}

/// Sends one GUILD_CREATE per server while probing; returns when the database
/// holds what `written` says, with the time that took and the acks.
async fn burst<F, Fut>(
    fake: &FakeDiscord,
    servers: u64,
    channels: u64,
    written: F,
    poll_every: Duration,
) -> (Duration, Duration, Vec<Duration>)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    // Built before the clock starts: Discord's serializer is not on the
    // bot's machine, so the fake's should not share its cores while timed.
    let frames: Vec<(u64, String)> = (0..servers)
        .map(|n| (server_id(n), guild(server_id(n), channels).to_string()))
        .collect();
    let (finished, done) = tokio::sync::watch::channel(false);
    let (_target, probe_target) = tokio::sync::watch::channel(ADMIN_GUILD);
    let prober = probe(fake.clone(), done, probe_target);
    let started = Instant::now();
    for (n, (id, data)) in frames.iter().enumerate() {
        fake.dispatch_prepared_for_guild(*id, "GUILD_CREATE", data);
        if n % 1_024 == 0 {
            tokio::task::yield_now().await;
        }
    }
    drop(frames);
    let sent_in = started.elapsed();
    while !written().await {
        tokio::time::sleep(poll_every).await;
    }
    let took = started.elapsed();
    finished.send_replace(true);
    (took, sent_in, prober.await.unwrap())
}

async fn storm(servers: u64, shards: u64, channels: u64) -> Run {
    let fake = FakeDiscord::start().await;
    fake.heartbeat_like_discord();
    let db = TestDb::new().await;
    let dir = work_dir();
    fake.join_guilds((0..servers).map(server_id));
    let bot = start(&fake, &db, &dir, "first.log", shards).await;
    let pool = db.pool.clone();
    // The count is one row (a counter): cheap to read often.
    let (counted_in, sent_in, mut acks) = burst(
        &fake,
        servers,
        channels,
        || counted(pool.clone(), servers as i64),
        Duration::from_millis(20),
    )
    .await;
    tokio::time::sleep(SETTLE).await;
    let (rss_after_burst, peak) = memory_mib(bot.id());
    stop(bot, &fake).await;
    set_broadcast_channels(&pool).await;

    let before_restart = RestartWrites::start(&pool).await;
    let bot = start(&fake, &db, &dir, "second.log", shards).await;
    let (refreshed_in, _, restart_acks) = burst(
        &fake,
        servers,
        channels,
        || taken(servers),
        Duration::from_millis(20),
    )
    .await;
    tokio::time::sleep(SETTLE).await;
    let (rss_after_restart, second_peak) = memory_mib(bot.id());
    stop(bot, &fake).await;
    let restart_writes = before_restart.end(&pool).await;
    acks.extend(restart_acks);
    Run {
        refreshed_in,
        restart_writes,
        servers,
        counted_in,
        sent_in,
        acks,
        shard_rates: Vec::new(),
        rss_after_burst,
        rss_after_restart,
        peak: peak.max(second_peak),
    }
}

/// Gives every server a broadcast channel (its second channel), as on a bot
/// whose servers all set one: the restart then reads and refreshes what
/// decides the bot's permissions in each of them.
async fn set_broadcast_channels(pool: &sqlx::PgPool) {
    let mut connection = pool.acquire().await.unwrap();
    sqlx::query("UPDATE guild_settings SET broadcast_channel_id = guild_id + 2")
        .execute(&mut *connection)
        .await
        .unwrap();
    // Reported now, not up to 10 s later inside the restart's figures.
    sqlx::query("SELECT pg_stat_force_next_flush()")
        .execute(&mut *connection)
        .await
        .unwrap();
}

/// Whether at least `servers` servers are counted as active.
async fn counted(pool: sqlx::PgPool, servers: i64) -> bool {
    admin_panel::store::guilds::count_active(&pool)
        .await
        .unwrap()
        >= servers
}

/// Whether the running bot has taken at least `events` guild events (its
/// writer's counter; the fake sends no guild event of its own). A restart's
/// burst leaves unchanged rows as they were, so the rows cannot tell.
async fn taken(events: u64) -> bool {
    let health = HEALTH.lock().unwrap().clone().expect("a bot is running");
    let (_, metrics) = support::http::get(&health, "/metrics").await;
    metrics
        .lines()
        .find_map(|line| line.strip_prefix("admin_panel_guild_events_written_total "))
        .and_then(|count| count.parse::<u64>().ok())
        .is_some_and(|count| count >= events)
}

/// What a restart wrote: `guilds` rows it rewrote, and row versions written
/// to every table (PostgreSQL's own counters, read once the bot has exited
/// and its connections have reported them).
#[derive(Clone, Copy, Default)]
struct RestartWrites {
    at: chrono::DateTime<chrono::Utc>,
    rows: i64,
    guilds_rewritten: i64,
}

impl RestartWrites {
    async fn start(pool: &sqlx::PgPool) -> Self {
        Self {
            at: sqlx::query_scalar("SELECT clock_timestamp()")
                .fetch_one(pool)
                .await
                .unwrap(),
            rows: rows_written(pool).await,
            guilds_rewritten: 0,
        }
    }

    async fn end(self, pool: &sqlx::PgPool) -> Self {
        let guilds_rewritten =
            sqlx::query_scalar("SELECT count(*) FROM guilds WHERE updated_at >= $1")
                .bind(self.at)
                .fetch_one(pool)
                .await
                .unwrap();
        // A backend reports its counters as it exits, a moment after the
        // bot's connections close.
        let mut rows = rows_written(pool).await;
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let now = rows_written(pool).await;
            if now == rows {
                break;
            }
            rows = now;
        }
        Self {
            rows: rows - self.rows,
            guilds_rewritten,
            ..self
        }
    }
}

/// Row versions inserted or updated in this database's tables so far.
async fn rows_written(pool: &sqlx::PgPool) -> i64 {
    sqlx::query_scalar(
        "SELECT coalesce(sum(n_tup_ins + n_tup_upd), 0)::int8 FROM pg_stat_user_tables",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}
