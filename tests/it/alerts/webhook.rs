//! `ALERT_WEBHOOK_URL`: the same alerts to a Discord webhook, whose URL is a
//! secret; `ALERT_MENTION_ROLE`: the one role alerts may mention.

use serde_json::json;

use super::*;
use crate::support::fake_discord::Failure;

const WEBHOOK: u64 = 750_000_000_000_000_001;
const WEBHOOK_TOKEN: &str = "wh-SECRET_token-0123456789abcdefABCDEF";
const ROLE: u64 = 760_000_000_000_000_001;

#[tokio::test]
async fn the_webhook_gets_every_alert_and_its_url_is_never_logged() {
    let fake = FakeDiscord::start().await;
    fake.add_webhook(WEBHOOK, WEBHOOK_TOKEN);
    let url = format!("https://discord.com/api/webhooks/{WEBHOOK}/{WEBHOOK_TOKEN}");
    let role = ROLE.to_string();
    let db = TestDb::new().await;
    let mut vars = FAST.to_vec();
    vars.extend([
        ("ADMIN_GUILD_IDS", "700000000000000001"),
        ("ALERT_WEBHOOK_URL", url.as_str()),
        ("ALERT_MENTION_ROLE", role.as_str()),
    ]);
    let config = crate::support::bot::test_config(&fake, &db, &vars);
    assert!(!format!("{config:?}").contains(WEBHOOK_TOKEN));
    let bot = TestBot::start(&fake, config).await;
    admin_guild_channels(&fake);
    alerts_command(&fake, DEVELOPER, "channel", vec![], Some(ALERT_CHANNEL)).await;

    let test = alerts_command(&fake, DEVELOPER, "test", vec![], None).await;
    assert_eq!(
        content(&test),
        format!(
            "The test alert arrived:\nchannel <#{ALERT_CHANNEL}>: delivered\nwebhook: delivered"
        )
    );
    let hooked = fake.webhook_messages(WEBHOOK);
    assert_eq!(hooked.len(), 1);
    assert_eq!(hooked[0]["embeds"][0]["title"], "🧪 Test alert");

    errors(&db, "delivery_error", 30).await;
    let alert = wait_for_alerts(&fake, "errors:delivery_error", 1).await;
    let hooked = crate::support::bot::eventually("the webhook's alert", WAIT, || async {
        let found = with_key(&fake.webhook_messages(WEBHOOK), "errors:delivery_error");
        (!found.is_empty()).then_some(found)
    })
    .await;
    assert_eq!(hooked.len(), 1);
    assert_eq!(hooked[0]["embeds"], alert[0]["embeds"], "the same alert");

    // The role, and only it, is mentioned, in both places.
    let bodies: Vec<Value> = fake
        .requests()
        .into_iter()
        .filter(|r| {
            r.method == "POST"
                && (r.path.contains("/webhooks/750000000000000001/")
                    || r.path.ends_with(&format!("/{ALERT_CHANNEL}/messages")))
        })
        .filter_map(|r| r.body)
        .collect();
    assert!(bodies.len() >= 4, "{bodies:#?}");
    for body in &bodies {
        assert_eq!(body["content"], format!("<@&{ROLE}>"));
        assert_eq!(body["allowed_mentions"]["parse"], json!([]));
        assert_eq!(body["allowed_mentions"]["roles"], json!([role]));
        assert_eq!(body["allowed_mentions"]["users"], json!([]));
    }

    // A refused webhook is reported, without its URL.
    fake.fail_route(
        "POST",
        "/api/v10/webhooks/**",
        Failure::Status {
            status: 404,
            code: 10015,
            message: "Unknown Webhook".into(),
        },
        None,
    );
    let test = alerts_command(&fake, DEVELOPER, "test", vec![], None).await;
    let text = content(&test);
    assert!(text.contains("webhook: failed: "), "{text}");
    assert!(text.contains("Unknown Webhook"), "{text}");
    assert!(!text.contains(WEBHOOK_TOKEN), "{text}");

    let leaked: i64 =
        sqlx::query_scalar("SELECT count(*) FROM system_logs WHERE message LIKE '%' || $1 || '%'")
            .bind(WEBHOOK_TOKEN)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(leaked, 0, "the webhook token is in no log entry");
    let logged: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM system_logs WHERE event_type = 'alert_sent' AND message LIKE '%webhook: delivered%'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(logged >= 2, "{logged}");
    assert_eq!(
        admin_panel::redact::redact(&format!("see {url}")),
        format!("see https://discord.com/api/webhooks/{WEBHOOK}/[redacted]")
    );
    fake.assert_no_spec_violations();
    bot.stop().await;
}
