//! A restart in many servers: Discord sends one GUILD_CREATE per server after
//! READY, and the bot must count them all quickly while every interaction in
//! between is still answered in time; guild events are written in batches,
//! a join is never logged twice, order holds per server, and a shutdown in the
//! middle of a burst loses nothing the bot had received.

use std::time::{Duration, Instant};

use crate::support::bot::{ADMIN_GUILD, TestBot, eventually, test_config};
use crate::support::db::TestDb;
use crate::support::fake_discord::FakeDiscord;
use crate::support::fixtures;
use crate::support::http::{free_addr, get};
use crate::support::interact::stats_reply_time;
use admin_panel::store::guilds;

// Every test here runs the bot on a multi-threaded runtime, as in production
// (a test's default runtime would put the fake Discord and the bot, which
// races through 2,000 events, on one thread).
const BURST: u64 = 2_000;
/// Server ids of the burst, away from the admin guild.
const FIRST: u64 = 810_000_000_000_000_000;
const FIRST_RESPONSE_LIMIT: Duration = Duration::from_secs(3);

async fn joins_logged(db: &TestDb) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM system_logs WHERE event_type = 'guild_join'")
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

async fn active(db: &TestDb) -> i64 {
    guilds::count_active(&db.pool).await.unwrap()
}

/// The bot with its admin guild, heartbeating every 41.25 s as against
/// Discord: a debug build under load may take over the fake's one-second
/// interval to read a burst, and would reconnect and miss what followed.
/// Also returns the health-check address.
async fn start_like_discord() -> (FakeDiscord, TestDb, TestBot, String) {
    let fake = FakeDiscord::start().await;
    fake.heartbeat_like_discord();
    let db = TestDb::new().await;
    let health = free_addr();
    let bot = TestBot::start(&fake, config(&fake, &db, &health)).await;
    (fake, db, bot, health)
}

fn config(fake: &FakeDiscord, db: &TestDb, health: &str) -> admin_panel::config::Config {
    let admin_guild = ADMIN_GUILD.to_string();
    test_config(
        fake,
        db,
        &[
            ("ADMIN_GUILD_IDS", admin_guild.as_str()),
            ("HEALTH_ADDR", health),
        ],
    )
}

async fn stats(fake: &FakeDiscord, id: u64) -> Duration {
    stats_reply_time(fake, id).await
}

/// Asserts every reply in `answered` came within Discord's 3 s, and says
/// how they were spread.
fn assert_in_time(mut answered: Vec<Duration>, what: &str) {
    answered.sort();
    let slowest = *answered.last().unwrap();
    eprintln!(
        "{what}: {} interactions, median {} ms, slowest {} ms",
        answered.len(),
        answered[answered.len() / 2].as_millis(),
        slowest.as_millis()
    );
    assert!(
        slowest < FIRST_RESPONSE_LIMIT,
        "an interaction took {slowest:?}"
    );
}

/// Sends the burst: one GUILD_CREATE per server, an `/admin stats` after every
/// `interleave` of them; returns each interaction's response time.
async fn burst(
    fake: &FakeDiscord,
    servers: std::ops::Range<u64>,
    interleave: u64,
) -> Vec<Duration> {
    let mut answered = Vec::new();
    let mut pending = Vec::new();
    for (n, id) in servers.enumerate() {
        fake.dispatch(
            "GUILD_CREATE",
            fixtures::guild_create(id, &format!("Server {n}"), 100, None),
        )
        .await;
        if n as u64 % interleave == interleave - 1 {
            let fake = fake.clone();
            pending.push(tokio::spawn(async move {
                stats(&fake, 90_000 + n as u64).await
            }));
        }
    }
    for task in pending {
        answered.push(task.await.unwrap());
    }
    answered
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_two_thousand_servers_is_counted_while_every_interaction_is_answered_in_time() {
    let (fake, db, bot, health) = start_like_discord().await;
    let started = Instant::now();

    let answered = burst(&fake, FIRST..FIRST + BURST, 100).await;

    eventually("every server counted", Duration::from_secs(30), || async {
        (active(&db).await == BURST as i64).then_some(())
    })
    .await;
    let counted_in = started.elapsed();
    assert_in_time(
        answered,
        &format!("{BURST} servers counted in {} ms", counted_in.as_millis()),
    );
    assert_eq!(joins_logged(&db).await, BURST as i64, "one join each");
    let (_, metrics) = get(&health, "/metrics").await;
    assert!(
        metrics.contains(&format!("admin_panel_guild_events_written_total {BURST}\n")),
        "{metrics}"
    );
    fake.assert_no_spec_violations();
    bot.stop().await;
}

/// After a restart Discord sends every server's GUILD_CREATE again: each is
/// taken (the writer's counter), only the servers that changed meanwhile
/// are rewritten, and no join is logged twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restart_only_changed_servers_are_rewritten_and_no_join_is_logged_twice() {
    let (fake, db, bot, _) = start_like_discord().await;
    let servers = FIRST..FIRST + 300;
    fake.join_guilds(servers.clone());
    burst(&fake, servers.clone(), 1_000).await;
    eventually("every server counted", Duration::from_secs(30), || async {
        (active(&db).await == 300).then_some(())
    })
    .await;

    let health = free_addr();
    let bot = bot.restart(&fake, config(&fake, &db, &health)).await;
    let restarted_at = db_now(&db).await;
    // Ten servers gained members while the bot was away.
    const GREW: u64 = 10;
    for (n, id) in servers.clone().enumerate() {
        let members = if (n as u64) < GREW { 150 } else { 100 };
        fake.dispatch(
            "GUILD_CREATE",
            fixtures::guild_create(id, &format!("Server {n}"), members, None),
        )
        .await;
    }
    stats(&fake, 99_999).await;
    written(&health, 300).await;

    let rewritten: Vec<(i64, i32)> =
        sqlx::query_as("SELECT id, member_count FROM guilds WHERE updated_at >= $1 ORDER BY id")
            .bind(restarted_at)
            .fetch_all(&db.pool)
            .await
            .unwrap();
    let grew: Vec<(i64, i32)> = servers
        .take(GREW as usize)
        .map(|id| (id as i64, 150))
        .collect();
    assert_eq!(
        rewritten, grew,
        "only the servers that changed are rewritten"
    );
    assert_eq!(joins_logged(&db).await, 300, "a refresh is not a join");
    assert_eq!(active(&db).await, 300);
    bot.stop().await;
}

/// The database's clock (rows are stamped with it, not the test's).
async fn db_now(db: &TestDb) -> chrono::DateTime<chrono::Utc> {
    sqlx::query_scalar("SELECT clock_timestamp()")
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

/// Waits until the writer has taken `events` guild events since its start.
async fn written(health: &str, events: u64) {
    let line = format!("admin_panel_guild_events_written_total {events}\n");
    eventually("every event written", Duration::from_secs(30), || async {
        let (_, metrics) = get(health, "/metrics").await;
        metrics.contains(&line).then_some(())
    })
    .await;
}

/// Discord ends the session of a full shard (op 9): the bot identifies
/// afresh and gets all 2,500 GUILD_CREATEs again. `/admin` replies sent in
/// the middle of them still come within 3 s, and nothing is counted or
/// logged twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reidentify_of_a_full_shard_keeps_replies_within_three_seconds() {
    let (fake, db, bot, health) = start_like_discord().await;
    const FULL_SHARD: u64 = 2_500;
    let servers = FIRST + 20_000..FIRST + 20_000 + FULL_SHARD;
    fake.join_guilds(servers.clone());
    // No probe in the first burst: its ids would be the second's.
    burst(&fake, servers.clone(), FULL_SHARD + 1).await;
    eventually("every server counted", Duration::from_secs(30), || async {
        (active(&db).await == FULL_SHARD as i64).then_some(())
    })
    .await;

    let identified = fake.identified_shards().len();
    let invalidated_at = db_now(&db).await;
    fake.invalidate_sessions();
    eventually("a fresh IDENTIFY", Duration::from_secs(30), || async {
        (fake.identified_shards().len() > identified).then_some(())
    })
    .await;
    let answered = burst(&fake, servers, 100).await;
    written(&health, 2 * FULL_SHARD).await;
    assert_in_time(answered, &format!("re-identify of {FULL_SHARD} servers"));
    assert_eq!(active(&db).await, FULL_SHARD as i64, "counted once each");
    assert_eq!(joins_logged(&db).await, FULL_SHARD as i64, "no join twice");
    let rewritten: i64 = sqlx::query_scalar("SELECT count(*) FROM guilds WHERE updated_at >= $1")
        .bind(invalidated_at)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(rewritten, 0, "nothing changed, so no row is rewritten");
    bot.stop().await;
}

/// Servers added and removed at once (an anti-raid bot kicking the bot as
/// it joins): each GUILD_DELETE right behind its GUILD_CREATE on the same
/// connection, no gap. serenity hands each event to a task of its own, and
/// tokio runs the last one spawned first; the shard's collector keeps them
/// in the order received.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_created_and_deleted_back_to_back_end_as_left() {
    let (fake, db, bot, _) = start_like_discord().await;
    const BRIEF: u64 = 50;
    let guilds = FIRST + 1_000..FIRST + 1_000 + BRIEF;
    // A marker handled after them proves every event before it was taken.
    for guild in guilds.clone() {
        fake.dispatch(
            "GUILD_CREATE",
            fixtures::guild_create(guild, "Brief", 5, None),
        )
        .await;
        fake.dispatch("GUILD_DELETE", fixtures::guild_delete(guild, false))
            .await;
    }
    stats(&fake, 99_997).await;

    let logged: i64 = eventually("every join and leave", Duration::from_secs(10), || async {
        let logged: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM system_logs WHERE guild_id >= $1 AND guild_id < $2",
        )
        .bind(guilds.start as i64)
        .bind(guilds.end as i64)
        .fetch_one(&db.pool)
        .await
        .unwrap();
        (logged == 2 * BRIEF as i64).then_some(logged)
    })
    .await;
    assert_eq!(logged, 2 * BRIEF as i64, "a join and a leave each");
    assert_eq!(active(&db).await, 0, "none counted");
    let listed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM guilds WHERE left_at IS NULL AND id >= $1 AND id < $2",
    )
    .bind(guilds.start as i64)
    .bind(guilds.end as i64)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(listed, 0, "none listed");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_in_the_middle_of_a_burst_loses_nothing_the_bot_had_received() {
    let (fake, db, bot, _) = start_like_discord().await;
    let servers = 500;
    burst(&fake, FIRST..FIRST + servers, servers).await;
    // The last interaction's answer means every event before it was taken
    // off the gateway connection.
    stats(&fake, 99_998).await;

    bot.stop().await;

    assert_eq!(
        active(&db).await,
        servers as i64,
        "everything received was written at shutdown"
    );
    assert_eq!(joins_logged(&db).await, servers as i64);
}
