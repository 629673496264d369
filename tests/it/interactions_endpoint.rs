//! Interactions POSTed to the bot's Interactions Endpoint URL, as Discord
//! sends them when the URL is set: verified, answered through the same
//! commands, checks and router as gateway interactions, and never behind the
//! gateway's backlog. Forged, stale, replayed and unreadable POSTs are
//! refused and run nothing.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::bot::{ADMIN_GUILD, DEVELOPER, TestBot, test_config};
use crate::support::db::TestDb;
use crate::support::fake_discord::{FakeDiscord, PUBLIC_KEY, Signing};
use crate::support::fixtures;
use crate::support::http::free_addr;
use crate::support::interact::{WAIT, control};

const STRANGER: u64 = 200_000_000_000_000_999;
const ACCEPTED: u16 = 202;
const UNAUTHORIZED: u16 = 401;

/// A bot with its endpoint on a free port; returns the endpoint's address.
async fn start(fake: &FakeDiscord, db: &TestDb) -> (TestBot, String) {
    let (bot, endpoint, _) = start_with_health(fake, db).await;
    (bot, endpoint)
}

/// [`start`], also returning the health-check server's address.
async fn start_with_health(fake: &FakeDiscord, db: &TestDb) -> (TestBot, String, String) {
    let (endpoint, health) = (free_addr(), free_addr());
    let admin_guild = ADMIN_GUILD.to_string();
    let config = test_config(
        fake,
        db,
        &[
            ("ADMIN_GUILD_IDS", &admin_guild),
            ("DISCORD_PUBLIC_KEY", PUBLIC_KEY),
            ("INTERACTIONS_ADDR", &endpoint),
            ("HEALTH_ADDR", &health),
        ],
    );
    (TestBot::start(fake, config).await, endpoint, health)
}

fn command(id: u64, token: &str, user: u64, path: &[&str]) -> Value {
    fixtures::slash_command(id, token, Some(ADMIN_GUILD), user, path, vec![])
}

fn callbacks(fake: &FakeDiscord, token: &str) -> usize {
    fake.interaction_responses(token)
        .iter()
        .filter(|request| request.path.ends_with("/callback"))
        .count()
}

#[tokio::test]
async fn discords_ping_gets_a_pong_and_forged_stale_replayed_or_unreadable_posts_run_nothing() {
    let fake = FakeDiscord::start().await;
    let db = TestDb::new().await;
    let (bot, endpoint, health) = start_with_health(&fake, &db).await;

    let ping = json!({ "id": "1", "application_id": FakeDiscord::APPLICATION_ID.to_string(), "type": 1, "token": "ping", "version": 1 });
    let pong = fake.post_interaction(&endpoint, &ping).await;
    assert_eq!(pong.status, 200, "{pong:?}");
    assert_eq!(
        serde_json::from_str::<Value>(&pong.body).unwrap(),
        json!({ "type": 1 })
    );

    let forged = command(11, "forged", DEVELOPER, &["admin", "stats"]).to_string();
    let refused = fake
        .post_interaction_signed(&endpoint, &forged, Signing::Forged)
        .await;
    assert_eq!(
        (refused.status, refused.body.trim()),
        (UNAUTHORIZED, "invalid request signature")
    );

    let stale = command(12, "stale", DEVELOPER, &["admin", "stats"]).to_string();
    let aged = Signing::Aged(Duration::from_secs(600));
    let refused = fake.post_interaction_signed(&endpoint, &stale, aged).await;
    assert_eq!(
        (refused.status, refused.body.trim()),
        (UNAUTHORIZED, "stale timestamp")
    );

    let unreadable = fake
        .post_interaction_signed(&endpoint, r#"{"type":2}"#, Signing::Discord)
        .await;
    assert_eq!(unreadable.status, 400, "{unreadable:?}");

    let once = command(13, "once", DEVELOPER, &["admin", "stats"]);
    assert_eq!(
        fake.post_interaction(&endpoint, &once).await.status,
        ACCEPTED
    );
    let replayed = fake.post_interaction(&endpoint, &once).await;
    assert_eq!(
        (replayed.status, replayed.body.trim()),
        (UNAUTHORIZED, "interaction already received")
    );

    // The refusals were refused before their HTTP answer (the counts below
    // are taken there), so anything wrongly dispatched was dispatched before
    // the accepted one, which is answered once it has been handled.
    fake.wait_for_callback("once", WAIT).await;
    assert_eq!(callbacks(&fake, "forged") + callbacks(&fake, "stale"), 0);
    assert_eq!(callbacks(&fake, "once"), 1, "the replay ran nothing");
    let (_, metrics) = crate::support::http::get(&health, "/metrics").await;
    for (outcome, count) in [
        ("accepted", 1),
        ("pong", 1),
        ("bad_signature", 1),
        ("stale", 1),
        ("replayed", 1),
        ("unreadable", 1),
        ("not_ready", 0),
    ] {
        let line =
            format!("admin_panel_interactions_http_total{{outcome=\"{outcome}\"}} {count}\n");
        assert!(metrics.contains(&line), "{line} in {metrics}");
    }
    fake.assert_no_spec_violations();
    bot.stop().await;
}

#[tokio::test]
async fn over_http_a_developer_is_answered_a_stranger_refused_and_buttons_work() {
    let fake = FakeDiscord::start().await;
    let db = TestDb::new().await;
    let (bot, endpoint) = start(&fake, &db).await;

    let stats = command(21, "http-stats", DEVELOPER, &["admin", "stats"]);
    let reply = fake.post_interaction(&endpoint, &stats).await;
    assert_eq!(
        reply.status, ACCEPTED,
        "answered through the API, so 202 with no body"
    );
    assert_eq!(reply.body, "");
    let answer = fake.wait_for_callback("http-stats", WAIT).await;
    assert_eq!(
        answer["data"]["embeds"][0]["title"], "Bot statistics",
        "{answer}"
    );

    let stranger = command(22, "http-stranger", STRANGER, &["admin", "stats"]);
    assert_eq!(
        fake.post_interaction(&endpoint, &stranger).await.status,
        ACCEPTED
    );
    let refused = fake.wait_for_callback("http-stranger", WAIT).await;
    assert_eq!(
        refused["data"]["content"],
        "This command is for the bot's developers."
    );
    assert_eq!(refused["data"]["flags"], 64, "ephemeral");

    // A button on a message drawn over HTTP, pressed over HTTP: the router
    // answers it like a gateway press, and refuses a stranger's.
    sqlx::query("INSERT INTO guilds (id, name, joined_at) SELECT i, 'Server ' || i, now() FROM generate_series(1, 25) AS i")
        .execute(&db.pool)
        .await
        .unwrap();
    let servers = command(23, "http-servers", DEVELOPER, &["admin", "servers"]);
    assert_eq!(
        fake.post_interaction(&endpoint, &servers).await.status,
        ACCEPTED
    );
    let first = fake.wait_for_callback("http-servers", WAIT).await;
    let message = crate::support::bot::eventually("the pager message", WAIT, || async {
        fake.original_response("http-servers")
    })
    .await;
    let next = control(&first, "Next ›");
    let press = |id: u64, token: &str, user: u64| {
        fixtures::button_press(id, token, Some(ADMIN_GUILD), user, &next, message.clone())
    };
    fake.post_interaction(&endpoint, &press(24, "http-stranger-press", STRANGER))
        .await;
    let refused = fake.wait_for_callback("http-stranger-press", WAIT).await;
    assert_eq!(
        refused["data"]["content"],
        "These controls belong to someone else."
    );
    fake.post_interaction(&endpoint, &press(25, "http-press", DEVELOPER))
        .await;
    let turned = fake.wait_for_callback("http-press", WAIT).await;
    assert_eq!(turned["type"], 7, "the pager is updated in place: {turned}");

    fake.assert_no_spec_violations();
    bot.stop().await;
}

/// The gateway busy with a restart's burst: interactions over HTTP do not
/// wait behind it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn during_a_gateway_burst_interactions_over_http_are_answered_in_time() {
    let fake = FakeDiscord::start().await;
    fake.heartbeat_like_discord();
    let db = TestDb::new().await;
    let (bot, endpoint) = start(&fake, &db).await;
    const FIRST: u64 = 810_000_000_000_000_000;
    const SERVERS: u64 = 2_000;
    let mut answered = Vec::new();
    for n in 0..SERVERS {
        let id = FIRST + n;
        fake.dispatch(
            "GUILD_CREATE",
            fixtures::guild_create(id, &format!("Server {n}"), 100, None),
        )
        .await;
        if n % 200 == 199 {
            let (fake, endpoint) = (fake.clone(), endpoint.clone());
            answered.push(tokio::spawn(async move {
                let token = format!("burst-http-{n}");
                let started = Instant::now();
                let reply = fake
                    .post_interaction(
                        &endpoint,
                        &command(30_000 + n, &token, DEVELOPER, &["admin", "stats"]),
                    )
                    .await;
                assert_eq!(reply.status, ACCEPTED);
                fake.wait_for_callback(&token, WAIT).await;
                started.elapsed()
            }));
        }
    }
    let mut took = Vec::new();
    for task in answered {
        took.push(task.await.unwrap());
    }
    let slowest = took.iter().max().unwrap();
    eprintln!(
        "{} interactions over HTTP during the burst, slowest {} ms",
        took.len(),
        slowest.as_millis()
    );
    assert!(
        *slowest < Duration::from_secs(3),
        "Discord's deadline: {slowest:?}"
    );
    fake.assert_no_spec_violations();
    bot.stop().await;
}
