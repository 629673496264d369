//! The reference bot end to end: `/admin alerts channel|mute|unmute|list`
//! and the evaluator it runs in the background.

use serde_json::json;

use super::*;
use crate::support::bot::DEVELOPER;
use crate::support::discord::EPHEMERAL;

const STRANGER: u64 = 200_000_000_000_000_777;

async fn stored_channel(db: &TestDb) -> Option<i64> {
    sqlx::query_scalar("SELECT channel_id FROM alert_settings")
        .fetch_optional(&db.pool)
        .await
        .unwrap()
}

async fn set_channel(fake: &FakeDiscord) {
    let reply = alerts_command(fake, DEVELOPER, "channel", vec![], Some(ALERT_CHANNEL)).await;
    assert!(content(&reply).starts_with("Alerts go to <#"), "{reply}");
}

#[tokio::test]
async fn a_burst_of_fifty_errors_is_one_alert_and_later_one_resolved_message() {
    let (fake, db, bot) = start(&[]).await;
    set_channel(&fake).await;

    errors(&db, "delivery_error", 50).await;
    let alerts = wait_for_alerts(&fake, "errors:delivery_error", 1).await;
    let first = &alerts[0];
    assert_eq!(title(first), "🔴 Burst of `delivery_error` errors");
    let description = first["embeds"][0]["description"].as_str().unwrap();
    assert!(
        description.contains("50 errors in the last 5m"),
        "{description}"
    );
    assert!(
        description.contains("/admin stats failed (error id"),
        "an example"
    );
    evaluations_seeing(&db, "errors:delivery_error", 3).await;
    assert_eq!(
        with_key(&fake.messages_in(ALERT_CHANNEL), "errors:delivery_error").len(),
        1,
        "still one message while the burst lasts"
    );

    an_hour_later(&db).await;
    let alerts = wait_for_alerts(&fake, "errors:delivery_error", 2).await;
    assert!(title(&alerts[1]).starts_with("✅ Resolved: Burst of `delivery_error`"));
    // Another burst, only to witness evaluations after the resolution.
    errors(&db, "witness", 10).await;
    evaluations_seeing(&db, "errors:witness", 3).await;
    assert_eq!(
        with_key(&fake.messages_in(ALERT_CHANNEL), "errors:delivery_error").len(),
        2
    );

    // Nobody is ever mentioned: allowed_mentions is empty on every alert.
    let sends: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with(&format!("/{ALERT_CHANNEL}/messages")))
        .collect();
    assert!(sends.len() >= 2);
    for send in &sends {
        let body = send.body.as_ref().unwrap();
        assert_eq!(body["allowed_mentions"]["parse"], json!([]), "{body}");
        assert_eq!(body["allowed_mentions"]["roles"], json!([]), "{body}");
        assert_eq!(body["allowed_mentions"]["users"], json!([]), "{body}");
        assert!(body.get("content").is_none_or(|c| c.as_str() == Some("")));
    }
    let logged: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM system_logs WHERE event_type = 'alert_sent'
            AND message LIKE 'alert errors:delivery_error:%delivered%'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(logged, 2, "each alert sent is a log entry");
    fake.assert_no_spec_violations();
    bot.stop().await;
}

#[tokio::test]
async fn the_alert_channel_must_let_the_bot_send_messages() {
    let (fake, db, bot) = start(&[]).await;

    let refused = alerts_command(&fake, DEVELOPER, "channel", vec![], Some(NO_SEND)).await;
    assert_eq!(refused["data"]["flags"], EPHEMERAL);
    assert!(
        content(&refused).starts_with(&format!("I am missing Send Messages in <#{NO_SEND}>")),
        "{}",
        content(&refused)
    );
    assert_eq!(stored_channel(&db).await, None, "nothing stored");

    set_channel(&fake).await;
    assert_eq!(stored_channel(&db).await, Some(ALERT_CHANNEL as i64));
    fake.assert_no_spec_violations();
    bot.stop().await;
}

#[tokio::test]
async fn a_non_developer_is_refused_every_alerts_command() {
    let (fake, db, bot) = start(&[]).await;
    let refusal = admin_panel::access::REFUSAL;
    let channel = alerts_command(&fake, STRANGER, "channel", vec![], Some(ALERT_CHANNEL)).await;
    assert_eq!(content(&channel), refusal);
    let mute = alerts_command(
        &fake,
        STRANGER,
        "mute",
        vec![("key", json!("health:memory")), ("for", json!("1h"))],
        None,
    )
    .await;
    assert_eq!(content(&mute), refusal);
    assert_eq!(mute["data"]["flags"], EPHEMERAL);
    for sub in ["list", "test"] {
        let reply = alerts_command(&fake, STRANGER, sub, vec![], None).await;
        assert_eq!(content(&reply), refusal, "{sub}");
    }
    assert_eq!(stored_channel(&db).await, None);
    let mutes: i64 = sqlx::query_scalar("SELECT count(*) FROM alert_mutes")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(mutes, 0);
    assert!(fake.messages_in(ALERT_CHANNEL).is_empty());
    bot.stop().await;
}

async fn active(db: &TestDb, key: &str) -> bool {
    sqlx::query_scalar::<_, String>("SELECT state FROM alerts WHERE key = $1")
        .bind(key)
        .fetch_optional(&db.pool)
        .await
        .unwrap()
        .is_some_and(|state| state == "active")
}

#[tokio::test]
async fn a_muted_key_sends_nothing_until_it_is_unmuted_or_the_mute_ends() {
    let (fake, db, bot) = start(&[]).await;
    set_channel(&fake).await;
    let bad = alerts_command(
        &fake,
        DEVELOPER,
        "mute",
        vec![("key", json!("errors:alpha")), ("for", json!("soon"))],
        None,
    )
    .await;
    assert!(
        content(&bad).contains("is not a duration"),
        "{}",
        content(&bad)
    );
    for key in ["errors:alpha", "errors:beta"] {
        let muted = alerts_command(
            &fake,
            DEVELOPER,
            "mute",
            vec![("key", json!(key)), ("for", json!("2h"))],
            None,
        )
        .await;
        assert!(content(&muted).starts_with(&format!("`{key}` is muted until")));
    }

    errors(&db, "alpha", 20).await;
    errors(&db, "beta", 20).await;
    crate::support::bot::eventually("both alerts active", WAIT, || async {
        (active(&db, "errors:alpha").await && active(&db, "errors:beta").await).then_some(())
    })
    .await;
    evaluations_seeing(&db, "errors:alpha", 3).await;
    evaluations_seeing(&db, "errors:beta", 1).await;
    let messages = fake.messages_in(ALERT_CHANNEL);
    assert!(with_key(&messages, "errors:alpha").is_empty(), "muted");
    assert!(with_key(&messages, "errors:beta").is_empty(), "muted");

    let list = alerts_command(&fake, DEVELOPER, "list", vec![], None).await;
    let fields = &list["data"]["embeds"][0]["fields"];
    assert_eq!(fields[2]["name"], "Muted (2)", "{list}");
    assert!(
        fields[0]["value"]
            .as_str()
            .unwrap()
            .contains("`errors:alpha`")
    );
    assert!(
        fields[0]["value"]
            .as_str()
            .unwrap()
            .contains("not sent yet")
    );
    assert_eq!(list["data"]["flags"], EPHEMERAL);

    // Unmuted by hand: the alert, still active, is sent at the next tick.
    let unmuted = alerts_command(
        &fake,
        DEVELOPER,
        "unmute",
        vec![("key", json!("errors:alpha"))],
        None,
    )
    .await;
    assert_eq!(content(&unmuted), "`errors:alpha` is no longer muted.");
    wait_for_alerts(&fake, "errors:alpha", 1).await;
    // The other mute runs out.
    sqlx::query("UPDATE alert_mutes SET until = now() - interval '1 second'")
        .execute(&db.pool)
        .await
        .unwrap();
    wait_for_alerts(&fake, "errors:beta", 1).await;
    evaluations_seeing(&db, "errors:alpha", 3).await;
    let messages = fake.messages_in(ALERT_CHANNEL);
    assert_eq!(with_key(&messages, "errors:alpha").len(), 1);
    assert_eq!(with_key(&messages, "errors:beta").len(), 1);
    fake.assert_no_spec_violations();
    bot.stop().await;
}
