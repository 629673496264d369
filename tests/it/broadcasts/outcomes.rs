//! What each kind of server gets from one broadcast, one outcome per test.

use serde_json::{Value, json};

use super::{
    ALSO_READY, CHANGELOG_ONLY, CHANNEL_DELETED, FLAKY, FORBIDDEN, LEFT, NO_CHANNEL, RATE_LIMITED,
    READY, count, delivery, seed_every_kind_of_server, send_announcement, status, wait_until_sent,
};
use crate::support::bot::{DEVELOPER, TestBot, eventually, start_with_admin_guild};
use crate::support::broadcast::channel;
use crate::support::db::TestDb;
use crate::support::fake_discord::FakeDiscord;
use crate::support::interact::{WAIT, attachments, press, slash};

#[tokio::test]
async fn every_server_with_a_channel_gets_exactly_one_message_that_can_ping_nobody() {
    let (fake, _db, bot, _id) = announce_to_every_kind_of_server(8001, "Version 2.0 is out").await;

    for guild in [READY, ALSO_READY, FLAKY, RATE_LIMITED] {
        assert_eq!(fake.messages_in(channel(guild)).len(), 1, "guild {guild}");
    }
    let bodies: Vec<Value> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.contains("/channels/900000000"))
        .filter_map(|r| r.body)
        .collect();
    assert!(!bodies.is_empty());
    for body in &bodies {
        assert_eq!(body["allowed_mentions"]["parse"], json!([]), "no pings");
        assert_eq!(body["enforce_nonce"], true);
        assert!(body["nonce"].as_str().unwrap().len() <= 25);
    }
    fake.assert_no_spec_violations();
    bot.stop().await;
}

#[tokio::test]
async fn servers_without_a_channel_or_refusing_the_category_are_skipped_with_the_reason() {
    let (fake, db, bot, id) = announce_to_every_kind_of_server(8011, "Skips").await;

    for guild in [NO_CHANNEL, CHANGELOG_ONLY] {
        assert!(fake.messages_in(channel(guild)).is_empty(), "guild {guild}");
        assert_eq!(delivery(&db, id, guild).await.0, "skipped");
    }
    let reasons: Vec<(i64, String)> = sqlx::query_as(
        "SELECT guild_id, skip_reason FROM broadcast_deliveries WHERE broadcast_id = $1 AND status = 'skipped' ORDER BY guild_id",
    )
    .bind(id)
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        reasons,
        [
            (NO_CHANNEL, "no_channel".to_owned()),
            (CHANGELOG_ONLY, "category_refused".to_owned())
        ]
    );
    bot.stop().await;
}

#[tokio::test]
async fn a_server_the_bot_has_left_is_not_targeted() {
    let (fake, db, bot, id) = announce_to_every_kind_of_server(8021, "Not for the departed").await;

    assert!(fake.messages_in(channel(LEFT)).is_empty());
    let rows = count(&db, &format!("SELECT count(*) FROM broadcast_deliveries WHERE broadcast_id = {id} AND guild_id = {LEFT}")).await;
    assert_eq!(rows, 0);
    bot.stop().await;
}

#[tokio::test]
async fn missing_permissions_fails_the_delivery_with_discords_code() {
    let (fake, db, bot, id) = announce_to_every_kind_of_server(8031, "Forbidden").await;

    assert_eq!(
        delivery(&db, id, FORBIDDEN).await,
        ("failed".into(), Some(50013))
    );
    assert!(fake.messages_in(channel(FORBIDDEN)).is_empty());
    bot.stop().await;
}

#[tokio::test]
async fn an_unknown_channel_fails_the_delivery_and_clears_the_servers_setting() {
    let (_fake, db, bot, id) = announce_to_every_kind_of_server(8041, "Gone").await;

    assert_eq!(
        delivery(&db, id, CHANNEL_DELETED).await,
        ("failed".into(), Some(10003))
    );
    let cleared = count(&db, &format!("SELECT count(*) FROM guild_settings WHERE guild_id = {CHANNEL_DELETED} AND broadcast_channel_id IS NULL")).await;
    assert_eq!(cleared, 1, "Unknown Channel cleared the setting");
    let logged = count(&db, &format!("SELECT count(*) FROM system_logs WHERE event_type = 'config_update' AND guild_id = {CHANNEL_DELETED}")).await;
    assert_eq!(logged, 1);
    bot.stop().await;
}

#[tokio::test]
async fn a_server_error_or_a_rate_limit_is_retried_until_the_message_is_delivered() {
    let (fake, db, bot, id) = announce_to_every_kind_of_server(8051, "Persistence").await;

    for guild in [FLAKY, RATE_LIMITED] {
        assert_eq!(
            delivery(&db, id, guild).await,
            ("sent".into(), None),
            "guild {guild}"
        );
        assert_eq!(fake.messages_in(channel(guild)).len(), 1, "guild {guild}");
    }
    bot.stop().await;
}

#[tokio::test]
async fn a_finished_broadcast_logs_its_summary_and_shows_it_in_the_progress_message() {
    let (fake, db, bot, _id) = announce_to_every_kind_of_server(8061, "Summary").await;

    // The status turns `sent` first; the summary entries follow it.
    for event in ["broadcast_sent", "broadcast_failed"] {
        let sql = format!("SELECT count(*) FROM system_logs WHERE event_type = '{event}'");
        eventually(event, WAIT, || async {
            (count(&db, &sql).await == 1).then_some(())
        })
        .await;
    }
    let progress = eventually("the final report in the progress message", WAIT, || async {
        fake.original_response("send-8061").filter(|m| {
            m["embeds"][1]["title"]
                .as_str()
                .is_some_and(|t| t.ends_with("delivered"))
        })
    })
    .await;
    // 4 of the 8 targeted servers were reached (2 were skipped, and
    // FORBIDDEN and CHANNEL_DELETED failed): 4 of the 6 with a channel.
    let description = progress["embeds"][1]["description"].as_str().unwrap();
    assert!(
        description.contains("50.0% success (66.7% of servers with a channel)"),
        "{progress}"
    );
    bot.stop().await;
}

#[tokio::test]
async fn the_report_groups_failures_by_error_and_skips_by_reason() {
    let (fake, _db, bot, id) = announce_to_every_kind_of_server(8071, "Reported").await;

    let report = open_report(&fake, 8073, id).await;

    let embed = &report["data"]["embeds"][0];
    let failures = embed["fields"][0]["value"].as_str().unwrap();
    assert!(
        failures.contains(&format!("50013 Missing Permissions: `{FORBIDDEN}`")),
        "{failures}"
    );
    assert!(
        failures.contains(&format!("10003 Unknown Channel: `{CHANNEL_DELETED}`")),
        "{failures}"
    );
    let skipped = embed["fields"][1]["value"].as_str().unwrap();
    assert!(
        skipped.contains("**1** × no broadcast channel")
            && skipped.contains("**1** × category not accepted"),
        "{skipped}"
    );
    fake.assert_no_spec_violations();
    bot.stop().await;
}

#[tokio::test]
async fn the_report_downloads_every_delivery_as_csv() {
    let (fake, _db, bot, id) = announce_to_every_kind_of_server(8081, "Spreadsheet").await;
    let report = open_report(&fake, 8083, id).await;

    press(
        &fake,
        "report",
        "report-csv",
        DEVELOPER,
        &action_id(&report, "Download CSV"),
        None,
    )
    .await;

    let files = attachments(&fake, "report-csv");
    let mut reader = csv::Reader::from_reader(files[0].1.as_slice());
    assert_eq!(&reader.headers().unwrap()[0], "guild_id");
    assert_eq!(reader.records().count(), 8, "one row per targeted server");
    bot.stop().await;
}

#[tokio::test]
async fn retry_failed_resends_only_the_failed_deliveries() {
    let (fake, db, bot, id) = announce_to_every_kind_of_server(8091, "Again").await;
    let report = open_report(&fake, 8093, id).await;

    let retried = press(
        &fake,
        "report",
        "report-retry",
        DEVELOPER,
        &action_id(&report, "Retry failed"),
        None,
    )
    .await;

    let text = retried["data"]["content"].as_str().unwrap();
    assert!(text.starts_with("Re-queued 2 failed deliveries"), "{text}");
    eventually("the retry to finish", super::DELIVERY_WAIT, || async {
        (status(&db, id).await == "sent" && delivery(&db, id, FORBIDDEN).await.0 == "sent")
            .then_some(())
    })
    .await;
    wait_until_sent(&db, id).await;
    assert_eq!(
        fake.messages_in(channel(FORBIDDEN)).len(),
        1,
        "the 403 was once; the retry delivered"
    );
    for guild in [READY, ALSO_READY, FLAKY, RATE_LIMITED] {
        assert_eq!(
            fake.messages_in(channel(guild)).len(),
            1,
            "no second message for guild {guild}"
        );
    }
    bot.stop().await;
}

/// Starts a bot, seeds [`super::seed_every_kind_of_server`] and sends one
/// announcement to them; returns everything with the broadcast's id.
async fn announce_to_every_kind_of_server(
    interaction: u64,
    title: &str,
) -> (FakeDiscord, TestDb, TestBot, i64) {
    let (fake, db, bot) = start_with_admin_guild(&[]).await;
    seed_every_kind_of_server(&fake, &db).await;
    let id = send_announcement(&fake, &db, interaction, title).await;
    (fake, db, bot, id)
}

/// `/admin broadcast report id:<id>`, run by the primary developer.
async fn open_report(fake: &FakeDiscord, interaction: u64, id: i64) -> Value {
    let options = vec![("id", json!(id))];
    slash(
        fake,
        interaction,
        "report",
        DEVELOPER,
        &["admin", "broadcast", "report"],
        options,
    )
    .await
}

/// The custom id of the report's button labelled `label`.
fn action_id(report: &Value, label: &str) -> String {
    report["data"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row["components"].as_array().unwrap())
        .find(|component| component["label"] == label)
        .unwrap_or_else(|| panic!("a {label} button in {report}"))["custom_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Server names and log messages are chosen by strangers: every CSV the bot
/// produces defuses the cells a spreadsheet would evaluate.
#[tokio::test]
async fn names_that_are_formulas_are_defused_in_every_csv() {
    const FORMULA: &str = "=HYPERLINK(\"http://evil.example\",\"Click me\")";
    let (fake, db, bot) = start_with_admin_guild(&[]).await;
    crate::support::broadcast::seed_guild(&db, READY, true, crate::support::broadcast::ALL).await;
    sqlx::query("UPDATE guilds SET name = $1 WHERE id = $2")
        .bind(FORMULA)
        .bind(READY)
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO system_logs (severity, event_type, guild_id, message) VALUES ('warning', 'config_update', $1, '@SUM(A1:A9)')")
        .bind(READY)
        .execute(&db.pool)
        .await
        .unwrap();
    let id = send_announcement(&fake, &db, 8101, "-1+1 is a title").await;

    let report = open_report(&fake, 8103, id).await;
    press(
        &fake,
        "report",
        "report-csv",
        DEVELOPER,
        &action_id(&report, "Download CSV"),
        None,
    )
    .await;
    let logs = slash(&fake, 8105, "logs", DEVELOPER, &["admin", "logs"], vec![]).await;
    press(
        &fake,
        "logs",
        "logs-csv",
        DEVELOPER,
        &action_id(&logs, "Download CSV"),
        None,
    )
    .await;

    let deliveries = String::from_utf8(attachments(&fake, "report-csv")[0].1.clone()).unwrap();
    let mut reader = csv::Reader::from_reader(deliveries.as_bytes());
    let names: Vec<String> = reader.records().map(|r| r.unwrap()[1].to_owned()).collect();
    assert_eq!(names, [format!("'{FORMULA}")]);
    let entries = String::from_utf8(attachments(&fake, "logs-csv")[0].1.clone()).unwrap();
    let mut reader = csv::Reader::from_reader(entries.as_bytes());
    let messages: Vec<String> = reader.records().map(|r| r.unwrap()[5].to_owned()).collect();
    assert!(
        messages.contains(&"'@SUM(A1:A9)".to_owned()),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .all(|m| !m.starts_with(['=', '+', '-', '@'])),
        "{messages:?}"
    );
    bot.stop().await;
}

/// A cancelled broadcast stays cancelled: its report's Retry failed is
/// refused with the reason, and nothing is queued again.
#[tokio::test]
async fn retry_failed_on_a_cancelled_broadcast_is_refused_with_the_reason() {
    let (fake, db, bot, id) = announce_to_every_kind_of_server(8111, "Then cancelled").await;
    sqlx::query("UPDATE broadcasts SET status = 'cancelled' WHERE id = $1")
        .bind(id)
        .execute(&db.pool)
        .await
        .unwrap();
    let report = open_report(&fake, 8113, id).await;

    let refused = press(
        &fake,
        "report",
        "retry-cancelled",
        DEVELOPER,
        &action_id(&report, "Retry failed"),
        None,
    )
    .await;

    let text = refused["data"]["content"].as_str().unwrap();
    assert!(
        text.contains("was cancelled: its failed deliveries are not retried"),
        "{text}"
    );
    assert_eq!(
        delivery(&db, id, FORBIDDEN).await.0,
        "failed",
        "nothing re-queued"
    );
    bot.stop().await;
}
