//! A broadcast over time: scheduled, cancelled while sending, shared by two
//! processes, and delivered after its interaction token expired.

use chrono::Utc;
use serde_json::json;

use super::{DELIVERY_WAIT, count, status};
use crate::support::bot::{
    ADMIN_GUILD, DEVELOPER, TestBot, eventually, start_with_admin_guild, test_config,
};
use crate::support::broadcast::{ALL, button_id, channel, compose, draft_id, seed_guild, worker};
use crate::support::interact::{press, slash};

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
    // A pass of a delivery worker before the time: nothing is due yet.
    worker(&fake, &db).await.deliver_once().await.unwrap();
    assert!(
        fake.messages_in(channel(1)).is_empty(),
        "not before its time"
    );
    assert_eq!(status(&db, id).await, "scheduled");
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
    // Stopping the bot waits for the sends in flight at the cancel to settle.
    bot.stop().await;
    let delivered = (1..=60)
        .filter(|g| !fake.messages_in(channel(*g)).is_empty())
        .count() as i64;
    // A further pass of a delivery worker sends nothing more.
    worker(&fake, &db).await.deliver_once().await.unwrap();
    let later = (1..=60)
        .filter(|g| !fake.messages_in(channel(*g)).is_empty())
        .count() as i64;
    assert_eq!(delivered, later, "nothing goes out after the cancel");
    assert!(delivered < 60);
    let sent = count(&db, &format!("SELECT count(*) FROM broadcast_deliveries WHERE broadcast_id = {id} AND status = 'sent'")).await;
    let cancelled = count(&db, &format!("SELECT count(*) FROM broadcast_deliveries WHERE broadcast_id = {id} AND status = 'cancelled'")).await;
    assert_eq!(sent, delivered, "every message sent is recorded as sent");
    assert_eq!(sent + cancelled, 60, "the report adds up");
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
    // Stopping the bot waits for the worker to finish what it was doing,
    // the final report included.
    bot.stop().await;
    assert_eq!(
        fake.interaction_responses("press-late").len(),
        before,
        "no request with the expired token"
    );
}
