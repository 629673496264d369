//! `/admin health` and the health-check HTTP server (`/health`, `/metrics`).

use std::time::Duration;

use crate::support::bot::{DEVELOPER, TestBot, eventually, test_config};
use crate::support::db::TestDb;
use crate::support::discord::EPHEMERAL;
use crate::support::fake_discord::FakeDiscord;
use crate::support::fixtures;
use crate::support::http::{free_addr, get};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(15);

async fn start(db: &TestDb) -> (FakeDiscord, TestBot, String) {
    let fake = FakeDiscord::start().await;
    let addr = free_addr();
    let bot = TestBot::start(&fake, test_config(&fake, db, &[("HEALTH_ADDR", &addr)])).await;
    (fake, bot, addr)
}

#[tokio::test]
async fn admin_health_shows_every_section_and_reports_a_stale_process() {
    let db = TestDb::new().await;
    sqlx::query(
        "INSERT INTO bot_instances (host, pid, version, started_at, last_heartbeat_at)
         VALUES ('old-host', 4242, '0.0.1', now() - interval '1 day', now() - interval '10 minutes')",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let (fake, bot, _addr) = start(&db).await;

    let interaction = fixtures::slash_command(
        9001,
        "health-token",
        None,
        DEVELOPER,
        &["admin", "health"],
        vec![],
    );
    fake.dispatch("INTERACTION_CREATE", interaction).await;
    let response = fake.wait_for_callback("health-token", WAIT).await;

    assert_eq!(response["data"]["flags"], EPHEMERAL);
    let embed = &response["data"]["embeds"][0];
    let names: Vec<&str> = embed["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    for expected in [
        "Bot status",
        "Database",
        "Database connections",
        "Process memory",
        "System memory",
        "CPU",
        "Disk",
        "Runtime",
        "OS",
        "Bot processes",
        "Background tasks",
    ] {
        assert!(names.contains(&expected), "{expected} in {names:?}");
    }
    let field = |name: &str| {
        embed["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .unwrap()["value"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(
        field("Bot status").starts_with("**online**"),
        "{}",
        field("Bot status")
    );
    assert!(field("Runtime").contains("rustc"), "{}", field("Runtime"));
    // Discord's side: the fake reports 999 identifies left; one shard used one.
    assert!(
        field("Identifies left today").starts_with("998 of 1,000 · resets <t:"),
        "{}",
        field("Identifies left today")
    );
    assert_eq!(field("Discord refusals"), "0 of 2,500 in the last 10 min");
    assert!(
        field("Database").starts_with("**ok**"),
        "{}",
        field("Database")
    );
    assert!(
        field("Background tasks").starts_with("all "),
        "{}",
        field("Background tasks")
    );
    let processes = field("Bot processes");
    assert!(
        processes.contains("▶"),
        "this process is marked: {processes}"
    );
    assert!(
        processes.contains("`old-host` pid 4242") && processes.contains("**stale**"),
        "{processes}"
    );
    assert_eq!(embed["color"], admin_panel::ui::health::ORANGE);
    assert!(
        embed["footer"]["text"]
            .as_str()
            .unwrap()
            .contains("stale heartbeat")
    );
    fake.assert_no_spec_violations();
    bot.stop().await;
}

#[tokio::test]
async fn health_is_200_while_connected_and_503_once_the_gateway_drops() {
    let db = TestDb::new().await;
    let (fake, bot, addr) = start(&db).await;

    let body: Value = eventually("a 200 from /health", WAIT, || async {
        let (status, body) = get(&addr, "/health").await;
        (status == 200).then(|| serde_json::from_str(&body).unwrap())
    })
    .await;
    assert_eq!(body["status"], "ok");
    assert_eq!(body["shards_connected"], 1);
    // The process's age, as `bot_instances` has it.
    let age: i64 = sqlx::query_scalar(
        "SELECT extract(epoch FROM now() - started_at)::int8 FROM bot_instances",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let uptime = body["uptime_seconds"].as_i64().unwrap();
    assert!(
        (age - 2..=age + 1).contains(&uptime),
        "{uptime} s up, started {age} s ago"
    );

    fake.disconnect_gateway();
    let body: Value = eventually("a 503 from /health", WAIT, || async {
        let (status, body) = get(&addr, "/health").await;
        (status == 503).then(|| serde_json::from_str(&body).unwrap())
    })
    .await;
    assert_eq!(body["status"], "unavailable");
    bot.stop().await;
}

#[tokio::test]
async fn metrics_parse_as_prometheus_text_and_match_the_database() {
    let db = TestDb::new().await;
    sqlx::query("INSERT INTO guilds (id, name, joined_at) SELECT i, 'g', now() FROM generate_series(1, 3) AS i")
        .execute(&db.pool)
        .await
        .unwrap();
    let (_fake, bot, addr) = start(&db).await;

    let text = eventually("metrics with 3 guilds", WAIT, || async {
        let (status, body) = get(&addr, "/metrics").await;
        (status == 200 && body.contains("admin_panel_guilds 3\n")).then_some(body)
    })
    .await;

    let mut described = std::collections::HashSet::new();
    let mut typed = std::collections::HashSet::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            described.insert(rest.split_whitespace().next().unwrap().to_owned());
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split_whitespace();
            typed.insert(parts.next().unwrap().to_owned());
            assert!(
                matches!(parts.next(), Some("gauge" | "counter" | "histogram")),
                "{line}"
            );
        } else {
            let (series, value) = line
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("sample line: {line}"));
            value
                .parse::<f64>()
                .unwrap_or_else(|_| panic!("float value: {line}"));
            let name = series.split('{').next().unwrap();
            assert!(
                name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "{line}"
            );
            if let Some(labels) = series.strip_prefix(name) {
                assert!(
                    labels.is_empty() || (labels.starts_with('{') && labels.ends_with('}')),
                    "{line}"
                );
            }
            // A histogram's samples are its name with _bucket, _sum, _count.
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| name.strip_suffix(suffix).filter(|f| typed.contains(*f)))
                .unwrap_or(name);
            assert!(
                described.contains(family) && typed.contains(family),
                "HELP/TYPE before {name}"
            );
        }
    }
    for metric in [
        "admin_panel_guilds",
        "admin_panel_commands_recorded_total",
        "admin_panel_commands_dropped_total",
        "admin_panel_guild_events_written_total",
        "admin_panel_broadcast_deliveries_total",
        "admin_panel_process_resident_memory_bytes",
        "admin_panel_command_duration_seconds",
        "admin_panel_command_errors_total",
    ] {
        assert!(typed.contains(metric), "{metric} missing");
    }
    bot.stop().await;
}

#[tokio::test]
async fn unknown_paths_are_404() {
    let db = TestDb::new().await;
    let (_fake, bot, addr) = start(&db).await;
    assert_eq!(get(&addr, "/nope").await.0, 404);
    bot.stop().await;
}

/// The running process as the supervisor's fault hook names it: its
/// `bot_instances` id and start time in microseconds.
async fn process_key(db: &TestDb) -> (i64, i64) {
    sqlx::query_as("SELECT id, (extract(epoch FROM started_at) * 1000000)::int8 FROM bot_instances")
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

/// A background task that fails is logged, counted, restarted with backoff,
/// and works again; while an essential one is down, `/health` answers 503.
#[tokio::test]
async fn a_failed_background_task_is_logged_restarted_counted_and_works_again() {
    let db = TestDb::new().await;
    let (fake, bot, addr) = start(&db).await;
    let process = process_key(&db).await;

    admin_panel::telemetry::supervisor::inject_fault(process, "recorder");

    let (status, body) = eventually("/health to report the recorder down", WAIT, || async {
        let (status, body) = get(&addr, "/health").await;
        (status == 503).then_some((status, body))
    })
    .await;
    assert_eq!(status, 503);
    assert!(body.contains("\"tasks_down\":[\"recorder\"]"), "{body}");
    eventually(
        "/health to be 200 again once the recorder restarted",
        WAIT,
        || async { (get(&addr, "/health").await.0 == 200).then_some(()) },
    )
    .await;
    let (_, metrics) = get(&addr, "/metrics").await;
    assert!(
        metrics.contains("admin_panel_task_restarts_total{task=\"recorder\"} 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("admin_panel_task_up{task=\"recorder\"} 1\n"),
        "{metrics}"
    );
    let logged: String = sqlx::query_scalar(
        "SELECT message FROM system_logs WHERE event_type = 'task_failed' AND severity = 'error'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(logged.contains("background task recorder"), "{logged}");

    // The restarted recorder records commands again.
    let interaction =
        fixtures::slash_command(77, "after-restart", None, DEVELOPER, &["ping"], vec![]);
    fake.dispatch("INTERACTION_CREATE", interaction).await;
    fake.wait_for_callback("after-restart", WAIT).await;
    eventually("the ping to be recorded", WAIT, || async {
        let count: i64 =
            sqlx::query_scalar("SELECT count(*) FROM command_stats WHERE command = 'ping'")
                .fetch_one(&db.pool)
                .await
                .unwrap();
        (count == 1).then_some(())
    })
    .await;
    bot.stop().await;
}

/// The database probe behind `/health`'s counts is a supervised task of its
/// own: a health server that fails and restarts starts no second probe.
#[tokio::test]
async fn the_database_probe_is_its_own_task_and_a_server_restart_leaves_it_alone() {
    let db = TestDb::new().await;
    let (_fake, bot, addr) = start(&db).await;
    let process = process_key(&db).await;
    for restarts in 1..=2 {
        admin_panel::telemetry::supervisor::inject_fault(process, "health_server");
        let restarted =
            format!("admin_panel_task_restarts_total{{task=\"health_server\"}} {restarts}\n");
        eventually("the health server to restart", WAIT, || async {
            get(&addr, "/metrics")
                .await
                .1
                .contains(&restarted)
                .then_some(())
        })
        .await;
    }
    let (_, metrics) = get(&addr, "/metrics").await;
    for line in [
        "admin_panel_task_up{task=\"database_probe\"} 1\n",
        "admin_panel_task_restarts_total{task=\"database_probe\"} 0\n",
        "admin_panel_database_up 1\n",
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
    bot.stop().await;
}
