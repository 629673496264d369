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

#[tokio::test]
async fn a_test_send_where_the_gateway_said_send_messages_was_lost_makes_no_request() {
    const LOST_SEND: u64 = 730_000_000_000_000_003;
    let (fake, db, bot) = start_with_admin_guild(&[]).await;
    admin_guild_channels(&fake);
    // The snapshot the gateway left: the bot's role may send, but this
    // channel denies it Send Messages.
    let role = ADMIN_GUILD + 1;
    sqlx::query(
        "INSERT INTO guilds (id, name, joined_at, owner_id, everyone_permissions,
                             role_permissions, bot_user_id, bot_role_ids)
         VALUES ($1, 'Admin', now(), 1, 1024, jsonb_build_object($2::text, $3::int8), $4, ARRAY[$2])",
    )
    .bind(ADMIN_GUILD as i64)
    .bind(role as i64)
    .bind(BOT_PERMISSIONS as i64)
    .bind(fixtures::BOT_USER_ID as i64)
    .execute(&db.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO channel_permissions (channel_id, guild_id, name, kind, overwrites)
         VALUES ($1, $2, 'announcements', 0, ARRAY[0, $3, 0, 2048])",
    )
    .bind(LOST_SEND as i64)
    .bind(ADMIN_GUILD as i64)
    .bind(role as i64)
    .execute(&db.pool)
    .await
    .unwrap();
    compose(&fake, 9421, "announcement", None, &[("title", "Try me")]).await;

    let refused = pick_test_channel(&fake, "submit-9421", "test-9423", LOST_SEND).await;
    let text = refused["data"]["content"].as_str().unwrap();
    assert!(
        text.contains("missing permission: Send Messages in #announcements"),
        "{text}"
    );
    assert_eq!(refused["data"]["flags"], EPHEMERAL);
    let asked = fake
        .requests()
        .iter()
        .filter(|r| r.path.contains(&LOST_SEND.to_string()))
        .count();
    assert_eq!(asked, 0, "no request about that channel at all");
    bot.stop().await;
}
