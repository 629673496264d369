//! The reference bot end to end: the real library, serenity's real HTTP client
//! and gateway, against the fake Discord and a real PostgreSQL database.

use std::time::Duration;

use crate::support::bot::{
    ADMIN_GUILD, DEVELOPER, TestBot, eventually, start_with_admin_guild, test_config,
};
use crate::support::db::TestDb;
use crate::support::discord::{CHANNEL_MESSAGE_WITH_SOURCE, EPHEMERAL};
use crate::support::fake_discord::FakeDiscord;
use crate::support::fixtures;
use crate::support::interact::wait_for_access;
use admin_panel::store::command_stats::{self, CommandEvent, Outcome};
use admin_panel::store::developers;
use chrono::{TimeDelta, Utc};
use serde_json::Value;

const STRANGER: u64 = 200_000_000_000_000_999;
const WAIT: Duration = Duration::from_secs(10);

/// Sends `/admin <path>` (or any command) and returns the first response's body.
async fn run_command(fake: &FakeDiscord, user: u64, path: &[&str], token: &str) -> Value {
    let interaction = fixtures::slash_command(
        rand::random::<u32>() as u64 + 1,
        token,
        Some(ADMIN_GUILD),
        user,
        path,
        vec![],
    );
    fake.dispatch("INTERACTION_CREATE", interaction).await;
    fake.wait_for_callback(token, WAIT).await
}

async fn count(db: &TestDb, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&db.pool)
        .await
        .expect(sql)
}

#[tokio::test]
async fn the_bot_boots_against_the_fake_and_registers_admin_only_in_the_admin_guilds() {
    let (fake, _db, bot) = start_with_admin_guild(&[]).await;

    eventually("both registrations", WAIT, || async {
        let guild = fake.registered_commands(Some(ADMIN_GUILD));
        let global = fake.registered_commands(None);
        (!guild.is_empty() && !global.is_empty()).then_some(())
    })
    .await;

    let names = |commands: Vec<Value>| -> Vec<String> {
        commands
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        names(fake.registered_commands(Some(ADMIN_GUILD))),
        vec!["admin"]
    );
    let global = names(fake.registered_commands(None));
    assert!(!global.contains(&"admin".to_owned()), "global: {global:?}");
    assert!(global.contains(&"ping".to_owned()));
    let admin = &fake.registered_commands(Some(ADMIN_GUILD))[0];
    assert!(
        admin["options"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["name"] == "stats")
    );
    assert!(
        fake.requests().iter().any(|r| r.path == "/api/v10/gateway"),
        "gateway URL fetched through the proxy"
    );
    fake.assert_no_spec_violations();
    bot.stop().await;
}

#[tokio::test]
async fn without_admin_guilds_admin_is_global_and_hidden_behind_administrator() {
    let fake = FakeDiscord::start().await;
    let db = TestDb::new().await;
    let bot = TestBot::start(&fake, test_config(&fake, &db, &[])).await;

    let global = eventually("the global registration", WAIT, || async {
        fake.assert_no_spec_violations();
        Some(fake.registered_commands(None)).filter(|c| !c.is_empty())
    })
    .await;
    let admin = global
        .iter()
        .find(|c| c["name"] == "admin")
        .expect("/admin is global");
    assert_eq!(admin["default_member_permissions"], "8");
    fake.assert_no_spec_violations();
    bot.stop().await;
}

#[tokio::test]
async fn a_developers_admin_stats_is_an_ephemeral_embed_whose_numbers_match_seeded_rows() {
    let (fake, db, bot) = start_with_admin_guild(&[]).await;
    for (id, left) in [(1_i64, false), (2, false), (3, false), (4, true)] {
        sqlx::query("INSERT INTO guilds (id, name, member_count, joined_at, left_at) VALUES ($1, 'g', 10, now(), CASE WHEN $2 THEN now() END)")
            .bind(id)
            .bind(left)
            .execute(&db.pool)
            .await
            .unwrap();
    }
    let now = Utc::now();
    let event = |command: &str, user: u64, hours_ago: i64, outcome: Outcome| CommandEvent {
        command: command.to_owned(),
        guild_id: Some(1),
        user_id: user,
        executed_at: now - TimeDelta::hours(hours_ago),
        outcome,
        first_response_ms: 5,
        duration_ms: 5,
    };
    let events = vec![
        event("ping", 11, 1, Outcome::Ok),
        event("ping", 12, 2, Outcome::Ok),
        // A refusal is the command working as meant: no error.
        event("ping", 13, 3, Outcome::Refused),
        event("admin stats", 11, 4, Outcome::InternalError),
        // Outside the 24 h window, but a unique user.
        event("ping", 14, 30, Outcome::Ok),
    ];
    command_stats::insert_batch(&db.pool, &events)
        .await
        .unwrap();

    let response = run_command(&fake, DEVELOPER, &["admin", "stats"], "stats-token").await;

    assert_eq!(response["type"], CHANNEL_MESSAGE_WITH_SOURCE);
    assert_eq!(response["data"]["flags"], EPHEMERAL, "ephemeral");
    let embed = &response["data"]["embeds"][0];
    let field = |name: &str| -> String {
        embed["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .unwrap_or_else(|| panic!("field {name} in {embed}"))["value"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(field("Servers"), "3");
    assert_eq!(field("Unique users"), "4");
    assert_eq!(field("Commands (24 h)"), "4");
    let ranking = field("Top commands (24 h)");
    assert!(ranking.starts_with("1. `/ping` 3 (75.0%)"), "{ranking}");
    assert!(ranking.contains("2. `/admin stats` 1 (25.0%)"), "{ranking}");
    assert!(field("Last restart").contains("<t:"));
    // The trend, from the hourly rollup: four commands now, one the day before.
    let trend = field("Last 24 h vs the 24 h before");
    assert!(trend.contains("Commands: 4 vs 1 (▲ 300.0%)"), "{trend}");
    assert!(trend.contains("New users: 3 vs 1 (▲ 200.0%)"), "{trend}");
    assert!(
        trend.contains("Servers joined / left: +4 / −1 vs +0 / −0"),
        "{trend}"
    );
    assert!(
        trend.contains("Error rate: 25.0% vs 0.0% (+25.0 pts)"),
        "{trend}"
    );
    fake.assert_no_spec_violations();
    bot.stop().await;
}

#[tokio::test]
async fn a_non_developer_gets_the_refusal_and_no_data() {
    let (fake, _db, bot) = start_with_admin_guild(&[]).await;

    let response = run_command(&fake, STRANGER, &["admin", "stats"], "stranger-token").await;

    assert_eq!(
        response["data"]["content"],
        "This command is for the bot's developers."
    );
    assert_eq!(response["data"]["flags"], EPHEMERAL);
    assert!(
        response["data"]["embeds"]
            .as_array()
            .is_none_or(Vec::is_empty)
    );
    assert_eq!(
        fake.interaction_responses("stranger-token").len(),
        1,
        "nothing else is sent"
    );
    fake.assert_no_spec_violations();
    bot.stop().await;
}

#[tokio::test]
async fn a_developer_added_to_the_developers_table_gets_access_at_once() {
    let (fake, db, bot) = start_with_admin_guild(&[]).await;
    let before = run_command(&fake, STRANGER, &["admin", "stats"], "before-token").await;
    assert!(
        before["data"]["content"]
            .as_str()
            .unwrap()
            .contains("developers")
    );

    developers::add(&db.pool, STRANGER, DEVELOPER)
        .await
        .unwrap();
    wait_for_access(&fake, STRANGER, true).await;
    let after = run_command(&fake, STRANGER, &["admin", "stats"], "after-token").await;

    assert_eq!(after["data"]["embeds"][0]["title"], "Bot statistics");
    bot.stop().await;
}

#[tokio::test]
async fn guild_create_and_guild_delete_keep_the_guilds_table_current() {
    let (fake, db, bot) = start_with_admin_guild(&[]).await;
    let guild = 800_000_000_000_000_001_u64;
    let active = |db: &TestDb| {
        let pool = db.pool.clone();
        async move {
            sqlx::query_scalar::<_, Option<bool>>(
                "SELECT left_at IS NULL FROM guilds WHERE id = $1",
            )
            .bind(guild as i64)
            .fetch_optional(&pool)
            .await
            .unwrap()
            .flatten()
        }
    };

    fake.dispatch(
        "GUILD_CREATE",
        fixtures::guild_create(guild, "Cats", 1234, None),
    )
    .await;
    eventually("the guild row", WAIT, || async {
        active(&db).await.filter(|a| *a)
    })
    .await;
    let (name, members): (String, i32) =
        sqlx::query_as("SELECT name, member_count FROM guilds WHERE id = $1")
            .bind(guild as i64)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!((name.as_str(), members), ("Cats", 1234));

    fake.dispatch("GUILD_UPDATE", fixtures::guild_update(guild, "Dogs", None))
        .await;
    eventually("the rename", WAIT, || async {
        let name: String = sqlx::query_scalar("SELECT name FROM guilds WHERE id = $1")
            .bind(guild as i64)
            .fetch_one(&db.pool)
            .await
            .unwrap();
        (name == "Dogs").then_some(())
    })
    .await;

    // An outage is not a removal.
    fake.dispatch("GUILD_DELETE", fixtures::guild_delete(guild, true))
        .await;
    // A marker event processed after it proves the outage was handled.
    fake.dispatch(
        "GUILD_CREATE",
        fixtures::guild_create(guild + 1, "Marker", 1, None),
    )
    .await;
    eventually("the marker guild", WAIT, || async {
        (count(&db, "SELECT count(*) FROM guilds").await == 2).then_some(())
    })
    .await;
    assert_eq!(
        active(&db).await,
        Some(true),
        "still active after an outage"
    );

    fake.dispatch("GUILD_DELETE", fixtures::guild_delete(guild, false))
        .await;
    eventually("the leave", WAIT, || async {
        active(&db).await.filter(|a| !*a)
    })
    .await;

    // serenity handles events concurrently, so log rows may land in any order
    // and just after the guild row: wait for all three, compare as a set.
    let logs: Vec<(String, Option<i64>)> = eventually("three log entries", WAIT, || async {
        let logs: Vec<(String, Option<i64>)> = sqlx::query_as(
            "SELECT event_type, guild_id FROM system_logs ORDER BY event_type, guild_id",
        )
        .fetch_all(&db.pool)
        .await
        .unwrap();
        (logs.len() >= 3).then_some(logs)
    })
    .await;
    assert_eq!(
        logs,
        vec![
            ("guild_join".to_owned(), Some(guild as i64)),
            ("guild_join".to_owned(), Some(guild as i64 + 1)),
            ("guild_leave".to_owned(), Some(guild as i64)),
        ]
    );
    bot.stop().await;
}

#[tokio::test]
async fn commands_are_recorded_and_flushed_on_shutdown() {
    let (fake, db, bot) = start_with_admin_guild(&[]).await;

    let pong = run_command(&fake, STRANGER, &["ping"], "ping-token").await;
    assert!(
        pong["data"]["content"]
            .as_str()
            .unwrap()
            .starts_with("Pong")
    );
    run_command(&fake, STRANGER, &["admin", "stats"], "refused-token").await;
    run_command(&fake, DEVELOPER, &["admin", "stats"], "allowed-token").await;
    bot.stop().await;

    let rows: Vec<(String, i64, bool)> = sqlx::query_as(
        "SELECT command, user_id, success FROM command_stats ORDER BY command, success",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        rows,
        vec![
            ("admin stats".to_owned(), STRANGER as i64, false),
            ("admin stats".to_owned(), DEVELOPER as i64, true),
            ("ping".to_owned(), STRANGER as i64, true),
        ]
    );
    assert_eq!(
        count(&db, "SELECT sum(uses)::int8 FROM command_stats_daily").await,
        3
    );
    let guild: Option<i64> =
        sqlx::query_scalar("SELECT guild_id FROM command_stats WHERE command = 'ping'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(guild, Some(ADMIN_GUILD as i64));
}

/// serenity starts a process's shards one every 5 s; 2 s past the next turn
/// after the last expected shard, a shard that should not exist has shown itself.
const PAST_THE_NEXT_SHARDS_TURN: Duration = Duration::from_secs(7);

/// Starts a bot with `SHARD_COUNT=count SHARD_IDS=ids` and checks that it
/// identifies exactly `expected`, waiting past every shard's turn, and
/// records them as its shards.
async fn runs_exactly(count: &str, ids: &str, expected: &[u16]) {
    let fake = FakeDiscord::start().await;
    let db = TestDb::new().await;
    let config = test_config(&fake, &db, &[("SHARD_COUNT", count), ("SHARD_IDS", ids)]);
    let bot = TestBot::start(&fake, config).await;

    let extra_identify = fake
        .identifies_reach(expected.len() + 1, PAST_THE_NEXT_SHARDS_TURN)
        .await;
    let mut shards = fake.identified_shards();
    shards.sort();
    let total: u16 = count.parse().unwrap();
    let want: Vec<[u16; 2]> = expected.iter().map(|id| [*id, total]).collect();
    assert_eq!(shards, want, "SHARD_COUNT={count} SHARD_IDS={ids}");
    assert_eq!(
        fake.invalid_shards(),
        Vec::<[u16; 2]>::new(),
        "no shard past the count"
    );
    assert!(!extra_identify, "no further IDENTIFY");

    let recorded: Vec<i32> = eventually("the shards in bot_instances", WAIT, || async {
        let ids: Vec<i32> = sqlx::query_scalar("SELECT shard_ids FROM bot_instances")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        (ids.len() == expected.len()).then_some(ids)
    })
    .await;
    let expected: Vec<i32> = expected.iter().map(|id| i32::from(*id)).collect();
    assert_eq!(recorded, expected);
    bot.stop().await;
}

#[tokio::test]
async fn a_process_runs_only_the_shards_named_in_shard_ids() {
    // A range (both ends included) and a single id, each the last of 3, where
    // one shard too many would be shard 2 of another process or a shard 3 that
    // does not exist.
    tokio::join!(
        runs_exactly("3", "0-1", &[0, 1]),
        runs_exactly("3", "2", &[2]),
    );
}

#[tokio::test]
async fn an_internal_error_shows_only_an_error_id_and_logs_the_cause() {
    let (fake, db, bot) = start_with_admin_guild(&[]).await;
    // One deliberately broken dependency: the hourly rollup is gone.
    sqlx::query("DROP TABLE command_stats_hourly")
        .execute(&db.pool)
        .await
        .unwrap();

    let response = run_command(&fake, DEVELOPER, &["admin", "stats"], "broken-token").await;

    let text = response["data"]["content"].as_str().unwrap().to_owned();
    assert_eq!(response["data"]["flags"], EPHEMERAL);
    assert!(
        text.starts_with("Something went wrong on our side."),
        "{text}"
    );
    let error_id = text
        .split('`')
        .nth(1)
        .expect("an error id in backticks")
        .to_owned();
    assert_eq!(error_id.len(), 8);
    assert!(
        !text.contains("command_stats_hourly"),
        "no raw error text reaches the user"
    );
    // The reply goes out first; the log entry follows it.
    let logged: String = eventually(
        "the command_error entry",
        Duration::from_secs(10),
        || async {
            sqlx::query_scalar("SELECT message FROM system_logs WHERE event_type = 'command_error'")
                .fetch_optional(&db.pool)
                .await
                .unwrap()
        },
    )
    .await;
    assert!(
        logged.contains(&error_id) && logged.contains("command_stats_hourly"),
        "{logged}"
    );
    bot.stop().await;
}

/// READY lists every server of its shard: an active server missing from it
/// removed the bot while it was offline, and is marked as left (logged), while
/// servers of shards this process does not run are left alone.
#[tokio::test]
async fn servers_that_removed_the_bot_while_it_was_offline_are_marked_left_at_ready() {
    // Shard of a guild id: (id >> 22) % 2.
    let on_shard = |shard: u64, n: u64| (n << 23) | (shard << 22);
    let (still_here, gone, other_shards) = (on_shard(0, 1), on_shard(0, 2), on_shard(1, 3));
    let fake = FakeDiscord::start().await;
    let db = TestDb::new().await;
    for guild in [still_here, gone, other_shards] {
        sqlx::query(
            "INSERT INTO guilds (id, name, member_count, joined_at) VALUES ($1, 'g', 10, now())",
        )
        .bind(guild as i64)
        .execute(&db.pool)
        .await
        .unwrap();
    }
    fake.join_guilds([still_here, other_shards]);

    // This process runs shard 0 of 2 only.
    let bot = TestBot::start(
        &fake,
        test_config(&fake, &db, &[("SHARD_COUNT", "2"), ("SHARD_IDS", "0")]),
    )
    .await;

    let left = eventually("the missing server to be marked left", WAIT, || async {
        let left: Vec<i64> = sqlx::query_scalar("SELECT id FROM guilds WHERE left_at IS NOT NULL")
            .fetch_all(&db.pool)
            .await
            .unwrap();
        (!left.is_empty()).then_some(left)
    })
    .await;
    assert_eq!(
        left,
        [gone as i64],
        "only the missing server of this process's shard"
    );
    let logged: String =
        sqlx::query_scalar("SELECT message FROM system_logs WHERE event_type = 'guild_leave'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(
        logged,
        format!("Left server {gone} (removed while offline)")
    );
    let active = command_stats_active_guilds(&db).await;
    assert_eq!(active, 2, "stats no longer count it");
    bot.stop().await;
}

async fn command_stats_active_guilds(db: &TestDb) -> i64 {
    admin_panel::store::guilds::count_active(&db.pool)
        .await
        .unwrap()
}

/// poise runs the developer check for autocomplete too: a stranger typing
/// into an `/admin` option gets no suggestions, and no failed command is
/// recorded for it (Discord accepts only choices there, so nothing is sent).
#[tokio::test]
async fn a_refused_autocomplete_records_nothing_and_sends_nothing() {
    let (fake, db, bot) = start_with_admin_guild(&[]).await;
    let typed = fixtures::autocomplete(
        5,
        "stranger-typing",
        Some(ADMIN_GUILD),
        STRANGER,
        &["admin", "server"],
        "guild",
        "Ser",
    );
    fake.dispatch_for_guild(ADMIN_GUILD, "INTERACTION_CREATE", typed);
    // A developer's command after it: once it is recorded, the autocomplete
    // before it has long been handled.
    run_command(&fake, DEVELOPER, &["admin", "stats"], "after-typing").await;
    eventually("the developer's command recorded", WAIT, || async {
        (count(&db, "SELECT count(*) FROM command_stats").await == 1).then_some(())
    })
    .await;

    assert_eq!(
        count(&db, "SELECT count(*) FROM command_stats WHERE NOT success").await,
        0
    );
    assert!(
        fake.interaction_responses("stranger-typing").is_empty(),
        "nothing was sent"
    );
    bot.stop().await;
}
