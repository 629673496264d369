//! The composer: the modal, the preview with its dry run, and refusals.

use serde_json::json;

use super::{
    ALSO_READY, CHANGELOG_ONLY, NO_CHANNEL, READY, count, seed_every_kind_of_server, status,
};
use crate::support::bot::{DEVELOPER, start_with_admin_guild};
use crate::support::broadcast::{channel, compose, draft_id, worker};
use crate::support::discord::{CHANNEL_MESSAGE_WITH_SOURCE, EPHEMERAL};
use crate::support::interact::slash;

#[tokio::test]
async fn the_preview_shows_the_exact_embed_and_a_dry_run_and_nothing_goes_out_before_send() {
    let (fake, db, bot) = start_with_admin_guild(&[]).await;
    seed_every_kind_of_server(&fake, &db).await;

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

    assert_eq!(preview["type"], CHANNEL_MESSAGE_WITH_SOURCE);
    assert_eq!(preview["data"]["flags"], EPHEMERAL);
    let embeds = preview["data"]["embeds"].as_array().unwrap();
    assert_eq!(embeds[0]["title"], "Version 2.0 is out");
    assert_eq!(embeds[0]["color"], 0xFF8800);
    assert_eq!(embeds[0]["footer"]["text"], "The team");
    // 8 active servers: NO_CHANNEL is skipped, CHANGELOG_ONLY refuses announcements.
    let dry_run = embeds[1]["description"].as_str().unwrap();
    assert!(dry_run.starts_with("Reaches **6** servers; **1** have no broadcast channel and will be skipped; **1** do not accept announcement messages."), "{dry_run}");
    let id = draft_id(&preview);
    assert_eq!(status(&db, id).await, "draft");
    // A pass of a delivery worker finds nothing to send: a draft is not queued.
    worker(&fake, &db).await.deliver_once().await.unwrap();
    for guild in [READY, ALSO_READY, NO_CHANNEL, CHANGELOG_ONLY] {
        assert!(fake.messages_in(channel(guild)).is_empty(), "guild {guild}");
    }
    assert_eq!(
        count(&db, "SELECT count(*) FROM broadcast_deliveries").await,
        0
    );
    fake.assert_no_spec_violations();
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
    assert_eq!(refused["type"], CHANNEL_MESSAGE_WITH_SOURCE);
    assert_eq!(refused["data"]["flags"], EPHEMERAL);
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
        assert_eq!(answer["data"]["flags"], EPHEMERAL);
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

/// The code's one list of categories and the database's CHECK constraints
/// agree: every category can be stored on a broadcast and in a server's
/// accepted list, and nothing else can.
#[tokio::test]
async fn the_database_accepts_exactly_the_categories_the_code_knows() {
    use admin_panel::broadcast::category::Category;
    let db = crate::support::db::TestDb::new().await;
    let store = |category: String| {
        let pool = db.pool.clone();
        async move {
            let broadcast = sqlx::query(
                "INSERT INTO broadcasts (category, title, created_by) VALUES ($1, 't', 1)",
            )
            .bind(&category)
            .execute(&pool)
            .await;
            let setting = sqlx::query("INSERT INTO guilds (id, name, joined_at) VALUES (1, 'g', now()) ON CONFLICT DO NOTHING")
                .execute(&pool)
                .await
                .and(
                    sqlx::query("INSERT INTO guild_settings (guild_id, broadcast_categories) VALUES (1, ARRAY[$1]) ON CONFLICT (guild_id) DO UPDATE SET broadcast_categories = EXCLUDED.broadcast_categories")
                        .bind(&category)
                        .execute(&pool)
                        .await,
                );
            (broadcast.is_ok(), setting.is_ok())
        }
    };
    for category in Category::ALL {
        assert_eq!(
            store(category.as_str().to_owned()).await,
            (true, true),
            "{category:?}"
        );
    }
    assert_eq!(store("newsletter".to_owned()).await, (false, false));
}
