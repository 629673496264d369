//! A database that stops answering: every interaction is still answered
//! within Discord's 3 seconds with a clear message, access stays closed, the
//! bot recovers by itself once PostgreSQL answers again (also after a
//! failover that cuts every connection), commands run meanwhile are counted,
//! and a broadcast that was running resumes. PostgreSQL is reached through a
//! fault-injecting proxy that stalls (drops packets), refuses, or cuts.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::bot::{ADMIN_GUILD, DEVELOPER, TestBot, eventually, test_config};
use crate::support::broadcast::{ALL, button_id, channel, compose, draft_id, seed_guild};
use crate::support::db::TestDb;
use crate::support::discord::EPHEMERAL;
use crate::support::fake_discord::FakeDiscord;
use crate::support::fault_proxy::{FaultProxy, upstream_of};
use crate::support::fixtures;
use crate::support::http::{free_addr, get};
use crate::support::interact::{WAIT, control};
use admin_panel::access::REFUSAL;
use admin_panel::reply::DATABASE_UNAVAILABLE;

/// Discord drops an interaction not answered within this.
const FIRST_RESPONSE_LIMIT: Duration = Duration::from_secs(3);
const STRANGER: u64 = 200_000_000_000_000_999;

struct Rig {
    fake: FakeDiscord,
    db: TestDb,
    proxy: FaultProxy,
    bot: TestBot,
    /// The bot's HEALTH_ADDR.
    health: String,
}

/// A bot whose database is behind a fault proxy, with `guilds` servers.
async fn rig(guilds: i64, extra: &[(&str, &str)]) -> Rig {
    let fake = FakeDiscord::start().await;
    let db = TestDb::new().await;
    for guild in 1..=guilds {
        seed_guild(&db, guild, true, ALL).await;
    }
    fake.join_guilds(1..=guilds as u64);
    let proxy = FaultProxy::start(upstream_of(&db.url)).await;
    let url = proxy.url_through(&db.url);
    let admin_guild = ADMIN_GUILD.to_string();
    let health = free_addr();
    let mut vars = vec![
        ("ADMIN_GUILD_IDS", admin_guild.as_str()),
        ("DATABASE_URL", url.as_str()),
        ("HEALTH_ADDR", health.as_str()),
    ];
    vars.extend_from_slice(extra);
    let bot = TestBot::start(&fake, test_config(&fake, &db, &vars)).await;
    Rig {
        fake,
        db,
        proxy,
        bot,
        health,
    }
}

/// Dispatches `interaction` and returns its first response and how long it took.
async fn answered(fake: &FakeDiscord, interaction: Value) -> (Value, Duration) {
    let token = interaction["token"].as_str().unwrap().to_owned();
    let started = Instant::now();
    fake.dispatch_for_guild(ADMIN_GUILD, "INTERACTION_CREATE", interaction);
    let response = fake.wait_for_callback(&token, WAIT).await;
    (response, started.elapsed())
}

fn slash(id: u64, user: u64, path: &[&str]) -> Value {
    fixtures::slash_command(
        id,
        &format!("cmd-{id}"),
        Some(ADMIN_GUILD),
        user,
        path,
        vec![],
    )
}

fn press_on(id: u64, message: &Value, custom_id: &str, values: Option<Vec<&str>>) -> Value {
    let mut press = fixtures::button_press(
        id,
        &format!("press-{id}"),
        Some(ADMIN_GUILD),
        DEVELOPER,
        custom_id,
        message.clone(),
    );
    if let Some(values) = values {
        press["data"] = json!({ "custom_id": custom_id, "component_type": 3, "values": values });
    }
    press
}

/// Every kind of interaction while the database does not answer: each is
/// answered in time, with the outage message where the database was needed.
async fn every_interaction_in_time(rig: &Rig, list: &Value, form: &str, what: &str) {
    // The health probe notices within a few seconds; until then a request
    // that times out is told the database is busy, after it that it is down.
    eventually("the probe to notice", WAIT, || async {
        let (_, body) = get(&rig.health, "/health").await;
        body.contains("\"database\":\"unreachable\"").then_some(())
    })
    .await;
    let list_message = rig.fake.original_response("cmd-1").unwrap();
    let cases = [
        ("a command", slash(11, DEVELOPER, &["admin", "stats"])),
        (
            "a button",
            press_on(12, &list_message, &control(list, "Next ›"), None),
        ),
        (
            "a select menu",
            press_on(
                13,
                &list_message,
                &control(list, "Open one…"),
                Some(vec!["7"]),
            ),
        ),
        (
            "a modal submit",
            fixtures::modal_submit(
                14,
                "form-14",
                Some(ADMIN_GUILD),
                DEVELOPER,
                form,
                &[("title", "During the outage")],
            ),
        ),
    ];
    for (kind, interaction) in cases {
        let (response, took) = answered(&rig.fake, interaction).await;
        eprintln!("{what}: {kind} answered in {} ms", took.as_millis());
        assert!(took < FIRST_RESPONSE_LIMIT, "{kind} took {took:?}");
        assert_eq!(
            response["data"]["content"], DATABASE_UNAVAILABLE,
            "{kind}: {response}"
        );
        assert_eq!(response["data"]["flags"], EPHEMERAL, "{kind}");
    }
    let typed = fixtures::autocomplete(
        15,
        "typing-15",
        Some(ADMIN_GUILD),
        DEVELOPER,
        &["admin", "server"],
        "guild",
        "Serv",
    );
    let (suggestions, took) = answered(&rig.fake, typed).await;
    eprintln!(
        "{what}: an autocomplete answered in {} ms",
        took.as_millis()
    );
    assert!(took < FIRST_RESPONSE_LIMIT);
    assert_eq!(suggestions["type"], 8, "choices, even if none");
    let (refused, took) = answered(
        &rig.fake,
        slash(16 + what.len() as u64, STRANGER, &["admin", "stats"]),
    )
    .await;
    assert!(took < FIRST_RESPONSE_LIMIT);
    assert_eq!(refused["data"]["content"], REFUSAL, "access stays closed");
}

/// Runs `/admin stats` until it answers with the statistics; returns how long that took.
async fn time_to_recover(fake: &FakeDiscord, first_id: u64) -> Duration {
    let started = Instant::now();
    let mut id = first_id;
    loop {
        let (response, _) = answered(fake, slash(id, DEVELOPER, &["admin", "stats"])).await;
        if response["data"]["embeds"][0]["title"] == "Bot statistics" {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no recovery: {response}"
        );
        id += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn draw_list_and_open_form(rig: &Rig) -> (Value, String) {
    let list = answered(&rig.fake, slash(1, DEVELOPER, &["admin", "servers"]))
        .await
        .0;
    let opened = answered(
        &rig.fake,
        fixtures::slash_command(
            2,
            "cmd-2",
            Some(ADMIN_GUILD),
            DEVELOPER,
            &["admin", "broadcast", "new"],
            vec![("category", json!(0))],
        ),
    )
    .await
    .0;
    (
        list,
        opened["data"]["custom_id"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn every_interaction_is_answered_in_time_while_the_database_stalls_and_it_recovers_alone() {
    let rig = rig(25, &[]).await;
    let (list, form) = draw_list_and_open_form(&rig).await;

    rig.proxy.stall();
    every_interaction_in_time(&rig, &list, &form, "stalled").await;
    rig.proxy.heal().await;

    let took = time_to_recover(&rig.fake, 100).await;
    eprintln!(
        "stalled: recovered {} ms after PostgreSQL answered again",
        took.as_millis()
    );
    assert!(took < Duration::from_secs(10));
    rig.fake.assert_no_spec_violations();
    rig.bot.stop().await;
}

#[tokio::test]
async fn every_interaction_is_answered_in_time_while_the_database_refuses_connections() {
    let rig = rig(25, &[]).await;
    let (list, form) = draw_list_and_open_form(&rig).await;

    rig.proxy.refuse();
    every_interaction_in_time(&rig, &list, &form, "refused").await;
    rig.proxy.heal().await;

    let took = time_to_recover(&rig.fake, 100).await;
    eprintln!(
        "refused: recovered {} ms after PostgreSQL answered again",
        took.as_millis()
    );
    assert!(took < Duration::from_secs(10));
    rig.bot.stop().await;
}

#[tokio::test]
async fn after_a_failover_that_cuts_every_connection_the_bot_works_at_once() {
    let rig = rig(3, &[]).await;
    answered(&rig.fake, slash(1, DEVELOPER, &["admin", "stats"])).await;

    rig.proxy.cut();

    let took = time_to_recover(&rig.fake, 100).await;
    eprintln!("failover: working again after {} ms", took.as_millis());
    assert!(took < Duration::from_secs(10));
    rig.bot.stop().await;
}

#[tokio::test]
async fn health_names_the_database_state_and_metrics_gauge_it() {
    let rig = rig(1, &[]).await;
    let addr = rig.health.clone();

    rig.proxy.stall();
    let down = eventually("/health to say unreachable", WAIT, || async {
        let (_, body) = get(&addr, "/health").await;
        body.contains("\"database\":\"unreachable\"")
            .then_some(body)
    })
    .await;
    assert!(down.contains("\"database\":\"unreachable\""), "{down}");
    let (_, metrics) = get(&addr, "/metrics").await;
    assert!(metrics.contains("admin_panel_database_up 0\n"), "{metrics}");
    rig.proxy.heal().await;
    eventually("/health to say ok", WAIT, || async {
        let (_, body) = get(&addr, "/health").await;
        body.contains("\"database\":\"ok\"").then_some(())
    })
    .await;
    rig.bot.stop().await;
}

#[tokio::test]
async fn commands_run_during_an_outage_are_counted_once_it_is_over() {
    let rig = rig(1, &[]).await;
    rig.proxy.stall();
    for id in 0..5 {
        answered(&rig.fake, slash(200 + id, DEVELOPER, &["admin", "stats"])).await;
    }
    rig.proxy.heal().await;

    let counted = eventually(
        "the commands run during the outage",
        Duration::from_secs(20),
        || async {
            let count: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM command_stats WHERE command = 'admin stats'",
            )
            .fetch_one(&rig.db.pool)
            .await
            .unwrap();
            (count >= 5).then_some(count)
        },
    )
    .await;
    assert_eq!(counted, 5, "each once, none lost");
    rig.bot.stop().await;
}

#[tokio::test]
async fn a_broadcast_that_was_running_resumes_after_the_outage_and_sends_nothing_twice() {
    let rig = rig(40, &[("BROADCAST_RATE", "10")]).await;
    let preview = compose(
        &rig.fake,
        8601,
        "announcement",
        None,
        &[("title", "Through the storm")],
    )
    .await;
    let id = draft_id(&preview);
    crate::support::interact::press(
        &rig.fake,
        "submit-8601",
        "send",
        DEVELOPER,
        &button_id(&preview, "Send"),
        None,
    )
    .await;
    eventually("some messages", Duration::from_secs(20), || async {
        ((1..=40)
            .filter(|g| !rig.fake.messages_in(channel(*g)).is_empty())
            .count()
            >= 5)
            .then_some(())
    })
    .await;

    rig.proxy.stall();
    tokio::time::sleep(Duration::from_secs(3)).await;
    rig.proxy.heal().await;

    eventually(
        "the broadcast to finish",
        Duration::from_secs(60),
        || async {
            let status: String = sqlx::query_scalar("SELECT status FROM broadcasts WHERE id = $1")
                .bind(id)
                .fetch_one(&rig.db.pool)
                .await
                .unwrap();
            (status == "sent").then_some(())
        },
    )
    .await;
    for guild in 1..=40 {
        assert_eq!(
            rig.fake.messages_in(channel(guild)).len(),
            1,
            "guild {guild}"
        );
    }
    rig.bot.stop().await;
}
