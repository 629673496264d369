//! "Send test" under the preview: the exact message, marked as a test, to a
//! channel the developer picks where the bot can post embeds; never a
//! server's broadcast and never counted in any report.

use serde_json::{Value, json};

use super::{READY, count};
use crate::support::bot::{ADMIN_GUILD, DEVELOPER, start_with_admin_guild};
use crate::support::broadcast::{ALL, channel, compose, draft_id, seed_guild};
use crate::support::discord::{CHANNEL_SELECT, EPHEMERAL};
use crate::support::fake_discord::FakeDiscord;
use crate::support::fixtures;
use crate::support::interact::{WAIT, control};

const TEST_CHANNEL: u64 = 730_000_000_000_000_001;
const NO_EMBEDS: u64 = 730_000_000_000_000_002;
/// View Channel | Send Messages | Embed Links.
const BOT_PERMISSIONS: u64 = 1024 | 2048 | 16384;

fn admin_guild_channels(fake: &FakeDiscord) {
    fake.add_guild(fixtures::partial_guild(ADMIN_GUILD, 0, BOT_PERMISSIONS));
    fake.add_member(ADMIN_GUILD, fixtures::bot_member(ADMIN_GUILD));
    fake.add_channel(fixtures::guild_channel(
        TEST_CHANNEL,
        ADMIN_GUILD,
        0,
        json!([]),
    ));
    let deny_embeds =
        json!([{ "id": (ADMIN_GUILD + 1).to_string(), "type": 0, "allow": "0", "deny": "16384" }]);
    fake.add_channel(fixtures::guild_channel(
        NO_EMBEDS,
        ADMIN_GUILD,
        0,
        deny_embeds,
    ));
}

/// Picks `channel` in the preview's channel menu.
async fn pick_test_channel(
    fake: &FakeDiscord,
    preview_token: &str,
    token: &str,
    channel: u64,
) -> Value {
    let preview = fake.original_response(preview_token).expect("the preview");
    let custom_id = control(&preview, "Send test to a channel…");
    let mut interaction =
        fixtures::button_press(7, token, Some(ADMIN_GUILD), DEVELOPER, &custom_id, preview);
    interaction["data"] = json!({
        "custom_id": custom_id, "component_type": CHANNEL_SELECT, "values": [channel.to_string()],
    });
    fake.dispatch_for_guild(ADMIN_GUILD, "INTERACTION_CREATE", interaction);
    fake.wait_for_callback(token, WAIT).await
}

#[tokio::test]
async fn a_test_send_posts_the_exact_message_marked_as_a_test_and_counts_nowhere() {
    let (fake, db, bot) = start_with_admin_guild(&[]).await;
    admin_guild_channels(&fake);
    seed_guild(&db, READY, true, ALL).await;
    let preview = compose(
        &fake,
        9401,
        "announcement",
        None,
        &[("title", "Try me"), ("footer", "v2")],
    )
    .await;
    let id = draft_id(&preview);

    let answer = pick_test_channel(&fake, "submit-9401", "test-9403", TEST_CHANNEL).await;
    assert_eq!(answer["data"]["flags"], EPHEMERAL);
    assert!(
        answer["data"]["content"]
            .as_str()
            .unwrap()
            .contains("marked as a test"),
        "{answer}"
    );
    let posted = fake.messages_in(TEST_CHANNEL);
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0]["embeds"][0]["title"], "Try me");
    assert_eq!(
        posted[0]["embeds"][0]["footer"]["text"],
        "TEST, not a broadcast · v2"
    );
    assert!(
        fake.messages_in(channel(READY)).is_empty(),
        "no server got it"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM broadcast_deliveries").await,
        0
    );
    let status: String = sqlx::query_scalar("SELECT status FROM broadcasts WHERE id = $1")
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        status, "draft",
        "still a draft: Send is still to be pressed"
    );
    fake.assert_no_spec_violations();
    bot.stop().await;
}

#[tokio::test]
async fn a_test_send_to_a_channel_without_embed_links_is_refused_with_the_reason() {
    let (fake, db, bot) = start_with_admin_guild(&[]).await;
    admin_guild_channels(&fake);
    seed_guild(&db, READY, true, ALL).await;
    compose(&fake, 9411, "announcement", None, &[("title", "Try me")]).await;

    let refused = pick_test_channel(&fake, "submit-9411", "test-9413", NO_EMBEDS).await;
    let text = refused["data"]["content"].as_str().unwrap();
    assert!(text.contains("missing Embed Links"), "{text}");
    assert_eq!(refused["data"]["flags"], EPHEMERAL);
    assert!(fake.messages_in(NO_EMBEDS).is_empty());
    bot.stop().await;
}
