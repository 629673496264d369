//! The evaluator driven by hand (`tick()`), as any number of bot processes
//! would run it on one database: the budget, the summary, and the database
//! deciding which process sends each alert.

use admin_panel::store::alerts as store;

use super::*;

fn config(error_count: u32) -> AlertConfig {
    AlertConfig {
        error_count,
        ..AlertConfig::default()
    }
}

async fn alert_channel(db: &TestDb) {
    store::set_channel(&db.pool, ADMIN_GUILD, ALERT_CHANNEL, DEVELOPER)
        .await
        .unwrap();
}

fn summaries(fake: &FakeDiscord) -> Vec<Value> {
    with_key(&fake.messages_in(ALERT_CHANNEL), "summary")
}

#[tokio::test]
async fn two_hundred_alerts_in_an_hour_are_thirty_messages_and_one_summary() {
    let fake = FakeDiscord::start().await;
    let db = TestDb::new().await;
    alert_channel(&db).await;
    let (panel, _tasks) = panel(&db, config(1)).await;
    let evaluator = evaluator(&panel, &fake);
    sqlx::query(
        "INSERT INTO system_logs (severity, event_type, message)
         SELECT 'error', 'kind_' || i, 'boom ' || i FROM generate_series(1, 200) AS i",
    )
    .execute(&db.pool)
    .await
    .unwrap();

    let report = evaluator.tick().await.unwrap();
    // Health warnings of this machine (memory, disk) may fire too: they
    // share the budget with the 200.
    assert!(report.firing >= 200, "{report:?}");
    assert_eq!(report.sent, 31, "{report:?}");
    assert_eq!(report.suppressed, report.firing - 30, "{report:?}");
    let messages = fake.messages_in(ALERT_CHANNEL);
    assert_eq!(messages.len(), 31);
    let summaries = summaries(&fake);
    assert_eq!(summaries.len(), 1);
    let summary = &summaries[0]["embeds"][0];
    assert_eq!(
        summary["title"],
        format!("{} alert(s) suppressed", report.firing - 30)
    );
    let listed = summary["description"].as_str().unwrap();
    assert!(listed.contains("`errors:kind_"), "{listed}");

    // The rest of the hour: nothing more, the suppressed were summarized.
    sqlx::query(
        "INSERT INTO system_logs (severity, event_type, message)
         SELECT 'error', 'late_' || i, 'boom' FROM generate_series(1, 5) AS i",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    for _ in 0..3 {
        let report = evaluator.tick().await.unwrap();
        assert_eq!(report.sent, 0, "{report:?}");
    }
    assert_eq!(fake.messages_in(ALERT_CHANNEL).len(), 31);
    let (sent, suppressed) = store::budget(&db.pool).await.unwrap();
    assert_eq!(sent, 30);
    assert_eq!(suppressed as usize, report.firing - 30 + 5);

    // When the hour is over, the late ones get their own summary.
    sqlx::query("UPDATE alert_budget SET window_started_at = now() - interval '61 minutes'")
        .execute(&db.pool)
        .await
        .unwrap();
    evaluator.tick().await.unwrap();
    let summaries = self::summaries(&fake);
    assert_eq!(summaries.len(), 2);
    assert_eq!(summaries[1]["embeds"][0]["title"], "5 alert(s) suppressed");
    fake.assert_no_spec_violations();
}

#[tokio::test]
async fn two_processes_on_one_database_send_each_alert_once() {
    let fake = FakeDiscord::start().await;
    let db = TestDb::new().await;
    alert_channel(&db).await;
    let (first, _first_tasks) = panel(&db, config(10)).await;
    let (second, _second_tasks) = panel(&db, config(10)).await;
    assert_ne!(first.instance_id, second.instance_id);
    let (a, b) = (evaluator(&first, &fake), evaluator(&second, &fake));

    // (a) a burst of errors, (c) a broadcast with 30 % failed,
    // (d) 25 servers left within the hour.
    errors(&db, "delivery_error", 50).await;
    let broadcast: i64 = sqlx::query_scalar(
        "INSERT INTO broadcasts (category, title, status, created_by, started_at, finished_at)
         VALUES ('changelog', 'v2 is out', 'sent', 1, now(), now()) RETURNING id",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO broadcast_deliveries (broadcast_id, guild_id, status)
         SELECT $1, i, CASE WHEN i <= 3 THEN 'failed' ELSE 'sent' END
           FROM generate_series(1, 10) AS i",
    )
    .bind(broadcast)
    .execute(&db.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO system_logs (severity, event_type, guild_id, message)
         SELECT 'info', 'guild_leave', i, 'Left server ' || i FROM generate_series(1, 25) AS i",
    )
    .execute(&db.pool)
    .await
    .unwrap();

    for _ in 0..5 {
        let (x, y) = tokio::join!(a.tick(), b.tick());
        x.unwrap();
        y.unwrap();
    }
    let messages = fake.messages_in(ALERT_CHANNEL);
    let broadcast_key = format!("broadcast:{broadcast}");
    for key in [
        "errors:delivery_error",
        broadcast_key.as_str(),
        "servers:drop",
    ] {
        assert_eq!(with_key(&messages, key).len(), 1, "{key}: {messages:#?}");
    }
    assert!(title(&with_key(&messages, &broadcast_key)[0]).contains("failed for 30% of servers"));
    assert!(
        with_key(&messages, "servers:drop")[0]["embeds"][0]["description"]
            .as_str()
            .unwrap()
            .starts_with("25 servers removed the bot in the last hour")
    );

    // Over: one resolved message each (a broadcast's alert ends quietly).
    an_hour_later(&db).await;
    sqlx::query("UPDATE broadcasts SET finished_at = now() - interval '2 days'")
        .execute(&db.pool)
        .await
        .unwrap();
    for _ in 0..5 {
        let (x, y) = tokio::join!(a.tick(), b.tick());
        x.unwrap();
        y.unwrap();
    }
    let messages = fake.messages_in(ALERT_CHANNEL);
    for (key, count) in [
        ("errors:delivery_error", 2),
        (broadcast_key.as_str(), 1),
        ("servers:drop", 2),
    ] {
        assert_eq!(with_key(&messages, key).len(), count, "{key}");
    }
    let (sent, _) = store::budget(&db.pool).await.unwrap();
    assert_eq!(
        sent as usize,
        messages.len(),
        "every message was counted once"
    );
    fake.assert_no_spec_violations();
}

#[tokio::test]
async fn a_background_task_restarting_turns_health_red_and_back() {
    let fake = FakeDiscord::start().await;
    let db = TestDb::new().await;
    alert_channel(&db).await;
    let (panel, _tasks) = panel(&db, config(1000)).await;
    let evaluator = evaluator(&panel, &fake);
    let process = (panel.instance_id, panel.started_at.timestamp_micros());
    admin_panel::telemetry::supervisor::inject_fault(process, "recorder");
    let key = "health:task:recorder";
    crate::support::bot::eventually("the recorder to restart", WAIT, || async {
        evaluator.tick().await.unwrap();
        (!with_key(&fake.messages_in(ALERT_CHANNEL), key).is_empty()).then_some(())
    })
    .await;
    let alert = &with_key(&fake.messages_in(ALERT_CHANNEL), key)[0];
    assert_eq!(
        title(alert),
        "🔴 Health red: background task recorder is down"
    );
    crate::support::bot::eventually("the recorder to run again", WAIT, || async {
        evaluator.tick().await.unwrap();
        (with_key(&fake.messages_in(ALERT_CHANNEL), key).len() == 2).then_some(())
    })
    .await;
    let resolved = &with_key(&fake.messages_in(ALERT_CHANNEL), key)[1];
    assert!(title(resolved).starts_with("✅ Resolved: Health red"));
    fake.assert_no_spec_violations();
}

#[tokio::test]
async fn a_command_failing_in_a_burst_is_one_alert_under_its_own_key_then_one_resolved() {
    use admin_panel::store::command_stats::{self, CommandEvent, Outcome};
    let fake = FakeDiscord::start().await;
    let db = TestDb::new().await;
    alert_channel(&db).await;
    let (panel, _tasks) = panel(&db, config(10)).await;
    let evaluator = evaluator(&panel, &fake);
    let now = chrono::Utc::now();
    // 50 internal errors of /admin stats (logged as command_error, as the
    // error path does), and refusals of /ping, which are no errors.
    let events: Vec<CommandEvent> = (0..100)
        .map(|i| CommandEvent {
            command: if i < 50 { "admin stats" } else { "ping" }.to_owned(),
            guild_id: None,
            user_id: 7,
            executed_at: now,
            outcome: if i < 50 {
                Outcome::InternalError
            } else {
                Outcome::Refused
            },
            first_response_ms: 3,
            duration_ms: 4,
        })
        .collect();
    command_stats::insert_batch(&db.pool, &events)
        .await
        .unwrap();
    errors(&db, "command_error", 50).await;

    for _ in 0..3 {
        evaluator.tick().await.unwrap();
    }
    let messages = fake.messages_in(ALERT_CHANNEL);
    let alerts = with_key(&messages, "errors:command:admin.stats");
    assert_eq!(alerts.len(), 1, "{messages:#?}");
    assert_eq!(title(&alerts[0]), "🔴 `/admin stats` is failing");
    let detail = alerts[0]["embeds"][0]["description"].as_str().unwrap();
    assert!(
        detail.contains("50 internal errors in the last 5m"),
        "{detail}"
    );
    assert!(
        detail.contains("/admin stats failed (error id 50): boom"),
        "{detail}"
    );
    assert!(
        with_key(&messages, "errors:command_error").is_empty()
            && with_key(&messages, "errors:command:ping").is_empty(),
        "the command's burst is alerted once, under its command; refusals are no errors"
    );

    sqlx::query("UPDATE command_stats SET executed_at = executed_at - interval '1 hour'")
        .execute(&db.pool)
        .await
        .unwrap();
    evaluator.tick().await.unwrap();
    let alerts = with_key(
        &fake.messages_in(ALERT_CHANNEL),
        "errors:command:admin.stats",
    );
    assert_eq!(alerts.len(), 2);
    assert!(title(&alerts[1]).starts_with("✅ Resolved: `/admin stats` is failing"));
    fake.assert_no_spec_violations();
}

/// A process whose invalid-request window passes half its budget is
/// alerted once, while it stays there.
#[tokio::test]
async fn half_the_invalid_request_budget_is_alerted_once() {
    let fake = FakeDiscord::start().await;
    let db = TestDb::new().await;
    alert_channel(&db).await;
    let mut options = PanelOptions::new(UserId::new(DEVELOPER));
    options.invalid_request_budget = 40;
    let (panel, _tasks) = AdminPanel::start(db.pool.clone(), options)
        .await
        .expect("the panel starts");
    let evaluator = evaluator(&panel, &fake);
    let key = format!("discord:invalid_requests:{}", panel.instance_id);
    let window = panel.discord_guard.invalid_requests();
    for _ in 0..19 {
        window.record();
    }
    evaluator.tick().await.unwrap();
    assert!(
        with_key(&fake.messages_in(ALERT_CHANNEL), &key).is_empty(),
        "19 of 40"
    );

    window.record();
    for _ in 0..3 {
        evaluator.tick().await.unwrap();
    }
    let alerts = with_key(&fake.messages_in(ALERT_CHANNEL), &key);
    assert_eq!(alerts.len(), 1, "once: {alerts:?}");
    assert_eq!(title(&alerts[0]), "🔴 Discord is refusing many requests");
    let detail = alerts[0]["embeds"][0]["description"].as_str().unwrap();
    assert!(
        detail.contains("20 invalid responses") && detail.contains("of 40"),
        "{detail}"
    );
    fake.assert_no_spec_violations();
}
