//! Broadcasts end to end against the fake Discord and a real database: the
//! modal, the preview and dry run, Send, delivery with every kind of outcome,
//! the report, Retry failed, scheduling, cancel, and validation.

mod support;

use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};
use support::bot::{
    ADMIN_GUILD, DEVELOPER, TestBot, eventually, start_with_admin_guild, test_config,
};
use support::broadcast::{ALL, button_id, channel, compose, draft_id, seed_guild};
use support::db::TestDb;
use support::fake_discord::Failure;
use support::interact::{WAIT, attachments, press, slash};

const DELIVERY_WAIT: Duration = Duration::from_secs(30);

async fn status(db: &TestDb, id: i64) -> String {
    sqlx::query_scalar("SELECT status FROM broadcasts WHERE id = $1")
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_broadcast_goes_from_modal_to_preview_to_every_outcome_and_a_report() {
    let (fake, db, bot) = start_with_admin_guild(&[]).await;
    for guild in 1..=9 {
        match guild {
            4 => seed_guild(&db, guild, false, ALL).await,
            5 => seed_guild(&db, guild, true, &["changelog"]).await,
            _ => seed_guild(&db, guild, true, ALL).await,
        }
    }
    seed_guild(&db, 10, true, ALL).await;
    sqlx::query("UPDATE guilds SET left_at = now() WHERE id = 10")
        .execute(&db.pool)
        .await
        .unwrap();
    let messages = |guild| format!("/api/v10/channels/{}/messages", channel(guild));
    fake.fail_route(
        "POST",
        &messages(6),
        Failure::Status {
            status: 403,
            code: 50013,
            message: "Missing Permissions".into(),
        },
        Some(1),
    );
    fake.fail_route(
        "POST",
        &messages(7),
        Failure::Status {
            status: 404,
            code: 10003,
            message: "Unknown Channel".into(),
        },
        None,
    );
    fake.fail_route("POST", &messages(8), Failure::ServerError, Some(1));
    fake.fail_route(
        "POST",
        &messages(9),
        Failure::RateLimited {
            retry_after_secs: 0.5,
            global: false,
        },
        Some(1),
    );

    let preview = compose(
        &fake,
        8001,
        "announcement",
        None,
        &[
            ("title", "Version 2.0 is out"),
            ("content", "New things for @everyone"),
            ("color", "#FF8800"),
            ("image_url", ""),
            ("footer", "The team"),
        ],
    )
    .await;
    assert_eq!(preview["type"], 4);
    assert_eq!(preview["data"]["flags"], 64, "ephemeral");
    let embeds = preview["data"]["embeds"].as_array().unwrap();
    assert_eq!(embeds[0]["title"], "Version 2.0 is out");
    assert_eq!(embeds[0]["color"], 0xFF8800);
    let dry_run = embeds[1]["description"].as_str().unwrap();
    assert!(dry_run.starts_with("Reaches **7** servers; **1** have no broadcast channel and will be skipped; **1** do not accept announcement messages."), "{dry_run}");
    let id = draft_id(&preview);
    assert_eq!(status(&db, id).await, "draft");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        fake.messages_in(channel(1)).is_empty(),
        "nothing goes out before Send"
    );

    let sent = press(
        &fake,
        "submit-8001",
        "press-send",
        DEVELOPER,
        &button_id(&preview, "Send"),
        None,
    )
    .await;
    assert_eq!(sent["type"], 7);
    eventually("the broadcast to finish", DELIVERY_WAIT, || async {
        (status(&db, id).await == "sent").then_some(())
    })
    .await;

    for guild in [1, 2, 3, 8, 9] {
        let posted = fake.messages_in(channel(guild));
        assert_eq!(posted.len(), 1, "guild {guild} got exactly one message");
    }
    for guild in [4, 5, 6, 7, 10] {
        assert!(
            fake.messages_in(channel(guild)).is_empty(),
            "guild {guild} got nothing"
        );
    }
    let bodies: Vec<Value> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.contains("/channels/900000000"))
        .filter_map(|r| r.body)
        .collect();
    assert!(bodies.len() >= 8);
    for body in &bodies {
        assert_eq!(
            body["allowed_mentions"]["parse"],
            json!([]),
            "mentions are never allowed"
        );
        assert_eq!(body["enforce_nonce"], true);
        assert!(body["nonce"].as_str().unwrap().len() <= 25);
    }
    let counts: (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE status = 'sent'), count(*) FILTER (WHERE status = 'skipped'), count(*) FILTER (WHERE status = 'failed') FROM broadcast_deliveries WHERE broadcast_id = $1",
    )
    .bind(id)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(counts, (9, 5, 2, 2), "targeted, sent, skipped, failed");
    let failures: Vec<(i64, Option<i32>)> = sqlx::query_as("SELECT guild_id, error_code FROM broadcast_deliveries WHERE broadcast_id = $1 AND status = 'failed' ORDER BY guild_id")
        .bind(id)
        .fetch_all(&db.pool)
        .await
        .unwrap();
    assert_eq!(failures, [(6, Some(50013)), (7, Some(10003))]);
    assert_eq!(count(&db, "SELECT count(*) FROM guild_settings WHERE guild_id = 7 AND broadcast_channel_id IS NULL").await, 1, "Unknown Channel cleared the setting");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM system_logs WHERE event_type = 'config_update' AND guild_id = 7"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM system_logs WHERE event_type = 'broadcast_sent'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM system_logs WHERE event_type = 'broadcast_failed'"
        )
        .await,
        1
    );
    let progress = eventually("the final report in the progress message", WAIT, || async {
        fake.original_response("press-send").filter(|m| {
            m["embeds"][1]["title"]
                .as_str()
                .is_some_and(|t| t.ends_with("delivered"))
        })
    })
    .await;
    assert!(
        progress["embeds"][1]["description"]
            .as_str()
            .unwrap()
            .contains("71.4% success"),
        "{progress}"
    );

    let report = slash(
        &fake,
        8100,
        "report",
        DEVELOPER,
        &["admin", "broadcast", "report"],
        vec![("id", json!(id))],
    )
    .await;
    let embed = &report["data"]["embeds"][0];
    let failures_field = embed["fields"][0]["value"].as_str().unwrap();
    assert!(
        failures_field.contains("50013 Missing Permissions: `6`"),
        "{failures_field}"
    );
    assert!(
        failures_field.contains("10003 Unknown Channel: `7`"),
        "{failures_field}"
    );
    let skipped_field = embed["fields"][1]["value"].as_str().unwrap();
    assert!(
        skipped_field.contains("**1** × no broadcast channel")
            && skipped_field.contains("**1** × category not accepted"),
        "{skipped_field}"
    );

    press(
        &fake,
        "report",
        "report-csv",
        DEVELOPER,
        "pg8100:x:csv",
        None,
    )
    .await;
    let files = attachments(&fake, "report-csv");
    let mut reader = csv::Reader::from_reader(files[0].1.as_slice());
    assert_eq!(&reader.headers().unwrap()[0], "guild_id");
    assert_eq!(reader.records().count(), 9, "every delivery row");

    let retried = press(
        &fake,
        "report",
        "report-retry",
        DEVELOPER,
        "pg8100:x:retry",
        None,
    )
    .await;
    assert!(
        retried["data"]["content"]
            .as_str()
            .unwrap()
            .starts_with("Re-queued 2 failed deliveries")
    );
    eventually("the retry to finish", DELIVERY_WAIT, || async {
        (status(&db, id).await == "sent"
            && count(
                &db,
                "SELECT count(*) FROM broadcast_deliveries WHERE status = 'sent'",
            )
            .await
                == 6)
            .then_some(())
    })
    .await;
    assert_eq!(
        fake.messages_in(channel(6)).len(),
        1,
        "the 403 was once; the retry delivered"
    );
    for guild in [1, 2, 3, 8, 9] {
        assert_eq!(
            fake.messages_in(channel(guild)).len(),
            1,
            "retry resends only failed ones (guild {guild})"
        );
    }
    fake.assert_no_spec_violations();
    bot.stop().await;
}

#[tokio::test]
async fn a_scheduled_broadcast_waits_until_it_is_due() {
    let (fake, db, bot) = start_with_admin_guild(&[]).await;
    seed_guild(&db, 1, true, ALL).await;
    let at = Utc::now() + chrono::TimeDelta::seconds(4);
    let schedule = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let preview = compose(
        &fake,
        8201,
        "changelog",
        Some(&schedule),
        &[("title", "Later")],
    )
    .await;
    let description = preview["data"]["embeds"][1]["description"]
        .as_str()
        .unwrap();
    assert!(
        description.contains(&format!("Scheduled for <t:{}:F>", at.timestamp())),
        "{description}"
    );
    let scheduled = press(
        &fake,
        "submit-8201",
        "press-schedule",
        DEVELOPER,
        &button_id(&preview, "Schedule"),
        None,
    )
    .await;
    assert!(
        scheduled["data"]["content"]
            .as_str()
            .unwrap()
            .contains("is scheduled for")
    );
    let id = draft_id(&preview);
    assert_eq!(status(&db, id).await, "scheduled");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        fake.messages_in(channel(1)).is_empty(),
        "not before its time"
    );
    eventually("the scheduled broadcast", DELIVERY_WAIT, || async {
        (!fake.messages_in(channel(1)).is_empty()).then_some(())
    })
    .await;
    let sent_at: chrono::DateTime<Utc> =
        sqlx::query_scalar("SELECT started_at FROM broadcasts WHERE id = $1")
            .bind(id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert!(sent_at >= at, "started {sent_at}, due {at}");
    bot.stop().await;
}

#[tokio::test]
async fn bad_input_is_refused_with_a_reason_and_saves_nothing() {
    let (fake, db, bot) = start_with_admin_guild(&[]).await;
    let refused = slash(
        &fake,
        8301,
        "bad-schedule",
        DEVELOPER,
        &["admin", "broadcast", "new"],
        vec![("category", json!(0)), ("schedule", json!("tomorrow"))],
    )
    .await;
    assert_eq!(refused["type"], 4);
    assert_eq!(refused["data"]["flags"], 64);
    assert!(
        refused["data"]["content"]
            .as_str()
            .unwrap()
            .contains("`tomorrow` is not a time I understand"),
        "{refused}"
    );
    let past = slash(
        &fake,
        8302,
        "past",
        DEVELOPER,
        &["admin", "broadcast", "new"],
        vec![
            ("category", json!(0)),
            ("schedule", json!("2020-01-01 10:00")),
        ],
    )
    .await;
    assert!(
        past["data"]["content"]
            .as_str()
            .unwrap()
            .contains("is in the past")
    );

    let long_title = "t".repeat(257);
    let long_content = "c".repeat(4001);
    let cases: [(&[(&str, &str)], &str); 4] = [
        (
            &[("title", long_title.as_str())],
            "The title has 257 characters",
        ),
        (
            &[("title", "ok"), ("content", long_content.as_str())],
            "The content has 4001 characters",
        ),
        (&[("title", "ok"), ("color", "blurple")], "is not a color"),
        (
            &[("title", "ok"), ("image_url", "ftp://example.com/a.png")],
            "is not an image URL",
        ),
    ];
    for (index, (fields, expected)) in cases.into_iter().enumerate() {
        let answer = compose(&fake, 8310 + index as u64 * 2, "announcement", None, fields).await;
        assert_eq!(answer["data"]["flags"], 64);
        let content = answer["data"]["content"].as_str().unwrap();
        assert!(content.contains(expected), "{content}");
    }
    assert_eq!(
        count(&db, "SELECT count(*) FROM broadcasts").await,
        0,
        "nothing was saved"
    );
    fake.assert_no_spec_violations();
    bot.stop().await;
}

#[tokio::test]
async fn cancelling_mid_delivery_stops_the_rest_and_keeps_what_was_sent() {
    let (fake, db, bot) = start_with_admin_guild(&[("BROADCAST_RATE", "10")]).await;
    for guild in 1..=60 {
        seed_guild(&db, guild, true, ALL).await;
    }
    let preview = compose(
        &fake,
        8401,
        "maintenance",
        None,
        &[("title", "Downtime tonight")],
    )
    .await;
    let id = draft_id(&preview);
    press(
        &fake,
        "submit-8401",
        "press-send-2",
        DEVELOPER,
        &button_id(&preview, "Send"),
        None,
    )
    .await;
    eventually("some messages", DELIVERY_WAIT, || async {
        ((1..=60)
            .filter(|g| !fake.messages_in(channel(*g)).is_empty())
            .count()
            >= 5)
            .then_some(())
    })
    .await;
    let question = slash(
        &fake,
        8402,
        "cancel",
        DEVELOPER,
        &["admin", "broadcast", "cancel"],
        vec![("id", json!(id))],
    )
    .await;
    let confirm = question["data"]["components"][0]["components"][0]["custom_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let answer = press(&fake, "cancel", "cancel-confirm", DEVELOPER, &confirm, None).await;
    assert!(
        answer["data"]["content"]
            .as_str()
            .unwrap()
            .contains("is stopped"),
        "{answer}"
    );
    assert_eq!(status(&db, id).await, "cancelled");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let delivered = (1..=60)
        .filter(|g| !fake.messages_in(channel(*g)).is_empty())
        .count() as i64;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let later = (1..=60)
        .filter(|g| !fake.messages_in(channel(*g)).is_empty())
        .count() as i64;
    assert_eq!(
        delivered, later,
        "nothing goes out after the cancel settles"
    );
    assert!(delivered < 60);
    let sent = count(&db, &format!("SELECT count(*) FROM broadcast_deliveries WHERE broadcast_id = {id} AND status = 'sent'")).await;
    let cancelled = count(&db, &format!("SELECT count(*) FROM broadcast_deliveries WHERE broadcast_id = {id} AND status = 'cancelled'")).await;
    assert_eq!(sent, delivered, "every message sent is recorded as sent");
    assert_eq!(sent + cancelled, 60, "the report adds up");
    bot.stop().await;
}

#[tokio::test]
async fn two_processes_share_one_broadcast_without_duplicates() {
    // Two processes splitting two shards, as SHARD_IDS deploys them.
    let (fake, db, first) = start_with_admin_guild(&[
        ("BROADCAST_RATE", "50"),
        ("SHARD_COUNT", "2"),
        ("SHARD_IDS", "0"),
    ])
    .await;
    let admin_guild = ADMIN_GUILD.to_string();
    let second = TestBot::start(
        &fake,
        test_config(
            &fake,
            &db,
            &[
                ("ADMIN_GUILD_IDS", &admin_guild),
                ("BROADCAST_RATE", "50"),
                ("SHARD_COUNT", "2"),
                ("SHARD_IDS", "1"),
            ],
        ),
    )
    .await;
    for guild in 1..=150 {
        seed_guild(&db, guild, true, ALL).await;
    }
    let preview = compose(&fake, 8501, "changelog", None, &[("title", "Shared")]).await;
    let id = draft_id(&preview);
    press(
        &fake,
        "submit-8501",
        "press-send-3",
        DEVELOPER,
        &button_id(&preview, "Send"),
        None,
    )
    .await;
    eventually("the broadcast to finish", DELIVERY_WAIT, || async {
        (status(&db, id).await == "sent").then_some(())
    })
    .await;
    for guild in 1..=150 {
        assert_eq!(fake.messages_in(channel(guild)).len(), 1, "guild {guild}");
    }
    let posts = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.contains("/channels/900000000"))
        .count();
    assert_eq!(posts, 150, "no message was even attempted twice");
    let processes = count(
        &db,
        &format!(
            "SELECT count(DISTINCT claimed_by) FROM broadcast_deliveries WHERE broadcast_id = {id}"
        ),
    )
    .await;
    assert_eq!(processes, 2, "both processes delivered");
    first.stop().await;
    second.stop().await;
}

/// A broadcast that starts after the developer's interaction token expired (a
/// schedule more than 15 minutes ahead) is delivered, but its stale message is
/// left alone: no edit is even attempted with the dead token.
#[tokio::test]
async fn progress_is_not_edited_once_the_interaction_token_has_expired() {
    let (fake, db, bot) = start_with_admin_guild(&[]).await;
    seed_guild(&db, 1, true, ALL).await;
    let at = Utc::now() + chrono::TimeDelta::seconds(3);
    let schedule = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let preview = compose(
        &fake,
        8301,
        "announcement",
        Some(&schedule),
        &[("title", "Long after")],
    )
    .await;
    press(
        &fake,
        "submit-8301",
        "press-late",
        DEVELOPER,
        &button_id(&preview, "Schedule"),
        None,
    )
    .await;
    let id = draft_id(&preview);
    // As if the schedule had been 20 minutes ahead: the token is dead by now.
    sqlx::query(
        "UPDATE broadcasts SET progress_token_expires_at = now() - interval '5 minutes' WHERE id = $1",
    )
    .bind(id)
    .execute(&db.pool)
    .await
    .unwrap();
    let before = fake.interaction_responses("press-late").len();

    eventually("the late broadcast is sent", DELIVERY_WAIT, || async {
        (status(&db, id).await == "sent").then_some(())
    })
    .await;
    assert_eq!(fake.messages_in(channel(1)).len(), 1);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        fake.interaction_responses("press-late").len(),
        before,
        "no request with the expired token"
    );
    bot.stop().await;
}
