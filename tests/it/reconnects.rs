//! Reconnects that leave the numbers exact (issue 38, item 2): after an
//! op 9 and a fresh IDENTIFY (every GUILD_CREATE again), and after a RESUME
//! with the missed events replayed, no server is counted twice, no join is
//! logged twice, a server that left during the gap is gone, and
//! interactions that come meanwhile are answered.

use std::time::Duration;

use crate::support::bot::{ADMIN_GUILD, TestBot, eventually, test_config};
use crate::support::db::TestDb;
use crate::support::fake_discord::FakeDiscord;
use crate::support::fixtures;
use crate::support::http::{free_addr, get};
use crate::support::interact::stats_reply_time;
use admin_panel::store::guilds;

const WAIT: Duration = Duration::from_secs(30);
const FIRST_RESPONSE_LIMIT: Duration = Duration::from_secs(3);
const FIRST: u64 = 840_000_000_000_000_000;

async fn active(db: &TestDb) -> i64 {
    guilds::count_active(&db.pool).await.unwrap()
}

async fn logged(db: &TestDb, event_type: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM system_logs WHERE event_type = $1")
        .bind(event_type)
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

fn create(fake: &FakeDiscord, guild: u64) {
    fake.dispatch_for_guild(
        guild,
        "GUILD_CREATE",
        fixtures::guild_create(guild, &format!("Server {guild}"), 10, None),
    );
}

/// The bot in `servers` (and the admin guild), every one created and
/// counted. Heartbeats at Discord's interval: with the fake's quick one, a
/// heartbeat may fall due right as a connection closes, and serenity then
/// identifies afresh instead of resuming.
async fn started_in(servers: &[u64]) -> (FakeDiscord, TestDb, TestBot, String) {
    let db = TestDb::new().await;
    let fake = FakeDiscord::start().await;
    fake.heartbeat_like_discord();
    let admin_guild = ADMIN_GUILD.to_string();
    let health = free_addr();
    let config = test_config(
        &fake,
        &db,
        &[
            ("ADMIN_GUILD_IDS", admin_guild.as_str()),
            ("HEALTH_ADDR", health.as_str()),
        ],
    );
    let bot = TestBot::start(&fake, config).await;
    fake.join_guilds(servers.iter().copied());
    for guild in servers {
        create(&fake, *guild);
    }
    let expected = servers.len() as i64;
    eventually("every server counted", WAIT, || async {
        (active(&db).await == expected && logged(&db, "guild_join").await == expected).then_some(())
    })
    .await;
    (fake, db, bot, health)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_session_and_a_fresh_identify_change_no_count_and_log_no_join() {
    let servers: Vec<u64> = (FIRST..FIRST + 30).collect();
    let (fake, db, bot, health) = started_in(&servers).await;
    let identified = fake.identified_shards().len();

    // One server removes the bot while the session is down.
    let gone = servers[0];
    fake.leave_guilds([gone]);
    fake.invalidate_sessions();
    eventually("a fresh IDENTIFY", WAIT, || async {
        (fake.identified_shards().len() > identified).then_some(())
    })
    .await;
    // Discord sends every server's GUILD_CREATE again after the new READY,
    // and an interaction comes in the middle of them.
    for guild in &servers[1..16] {
        create(&fake, *guild);
    }
    let took = stats_reply_time(&fake, 9801).await;
    for guild in &servers[16..] {
        create(&fake, *guild);
    }
    assert!(took < FIRST_RESPONSE_LIMIT, "answered in {took:?}");

    let (active_now, left) = eventually("the left server gone", WAIT, || async {
        let left = logged(&db, "guild_leave").await;
        (left == 1).then_some((active(&db).await, left))
    })
    .await;
    assert_eq!(
        active_now, 29,
        "counted once each, the one that left is gone"
    );
    assert_eq!(left, 1);
    // Every event taken: 30 creates, then 29 again.
    eventually("the refreshes written", WAIT, || async {
        let (_, metrics) = get(&health, "/metrics").await;
        metrics
            .contains("admin_panel_guild_events_written_total 59\n")
            .then_some(())
    })
    .await;
    assert_eq!(logged(&db, "guild_join").await, 30, "no join logged twice");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_replays_what_was_missed_and_counts_nothing_twice() {
    let servers: Vec<u64> = (FIRST + 100..FIRST + 110).collect();
    let (fake, db, bot, _) = started_in(&servers).await;
    let identified = fake.identified_shards().len();

    // Discord asks for a reconnect (op 7); what is dispatched meanwhile
    // waits in the session: a known server again, a new one, a removal, an
    // interaction.
    fake.ask_to_reconnect();
    let new = FIRST + 200;
    fake.join_guilds([new]);
    create(&fake, servers[1]);
    create(&fake, new);
    fake.dispatch_for_guild(
        servers[2],
        "GUILD_DELETE",
        fixtures::guild_delete(servers[2], false),
    );
    let took = stats_reply_time(&fake, 9811).await;
    assert_eq!(fake.resumes(), 1, "resumed, not identified afresh");
    assert_eq!(fake.identified_shards().len(), identified);
    assert!(
        took < FIRST_RESPONSE_LIMIT + Duration::from_secs(5),
        "answered in {took:?}"
    );

    eventually("the replayed events written", WAIT, || async {
        (logged(&db, "guild_leave").await == 1 && logged(&db, "guild_join").await == 11)
            .then_some(())
    })
    .await;
    assert_eq!(active(&db).await, 10, "ten before, one new, one gone");
    bot.stop().await;
}
