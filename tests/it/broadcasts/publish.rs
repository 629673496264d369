//! Announcement channels: servers that opted in get each delivered broadcast
//! published to the servers following their channel; a refused publish never
//! fails the delivery and the report says why.

use serde_json::json;

use super::{count, send_announcement};
use crate::support::bot::start_with_admin_guild;
use crate::support::broadcast::{ALL, channel, seed_guild};
use crate::support::fake_discord::{Failure, FakeDiscord};

/// Opted in; Discord publishes.
const PUBLISHING: i64 = 31;
/// Opted in; Discord refuses the publish with a 429 (its hourly limit).
const PUBLISH_LIMITED: i64 = 32;
/// Did not opt in.
const NOT_OPTED_IN: i64 = 33;

fn publishes(fake: &FakeDiscord, guild: i64) -> usize {
    fake.requests()
        .iter()
        .filter(|r| {
            r.method == "POST"
                && r.path
                    .contains(&format!("/channels/{}/messages/", channel(guild)))
                && r.path.ends_with("/crosspost")
        })
        .count()
}

#[tokio::test]
async fn opted_in_servers_get_the_broadcast_published_and_a_refusal_does_not_fail_delivery() {
    let (fake, db, bot) = start_with_admin_guild(&[]).await;
    for guild in [PUBLISHING, PUBLISH_LIMITED, NOT_OPTED_IN] {
        seed_guild(&db, guild, true, ALL).await;
    }
    sqlx::query("UPDATE guild_settings SET broadcast_publish = true WHERE guild_id IN ($1, $2)")
        .bind(PUBLISHING)
        .bind(PUBLISH_LIMITED)
        .execute(&db.pool)
        .await
        .unwrap();
    fake.fail_route(
        "POST",
        &format!(
            "/api/v10/channels/{}/messages/*/crosspost",
            channel(PUBLISH_LIMITED)
        ),
        Failure::RateLimited {
            retry_after_secs: 1800.0,
            global: false,
        },
        None,
    );
    let id = send_announcement(&fake, &db, 9601, "Published").await;

    crate::support::bot::eventually("the publishes recorded", super::DELIVERY_WAIT, || async {
        (count(
            &db,
            "SELECT count(*) FROM broadcast_deliveries WHERE publish_status IS NOT NULL",
        )
        .await
            == 2)
            .then_some(())
    })
    .await;
    assert_eq!(publishes(&fake, PUBLISHING), 1);
    assert_eq!(
        publishes(&fake, NOT_OPTED_IN),
        0,
        "not opted in: not published"
    );
    let sent = count(&db, &format!("SELECT count(*) FROM broadcast_deliveries WHERE broadcast_id = {id} AND status = 'sent'")).await;
    assert_eq!(sent, 3, "a refused publish does not fail the delivery");
    let report = crate::support::interact::slash(
        &fake,
        9603,
        "report-9603",
        crate::support::bot::DEVELOPER,
        &["admin", "broadcast", "report"],
        vec![("id", json!(id))],
    )
    .await;
    let fields = report["data"]["embeds"][0]["fields"].as_array().unwrap();
    let published = fields
        .iter()
        .find(|f| {
            f["name"]
                .as_str()
                .unwrap()
                .starts_with("Published to followers")
        })
        .unwrap_or_else(|| panic!("a publishing field in {report}"))["value"]
        .as_str()
        .unwrap();
    assert!(published.contains("**1** published"), "{published}");
    assert!(
        published.contains("**1** not published: rate limited by Discord"),
        "{published}"
    );
    fake.assert_no_spec_violations();
    bot.stop().await;
}
