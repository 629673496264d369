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
    assert!(dry_run.starts_with("Audience: every server.\nReaches **6** of its **8** servers; **1** have no broadcast channel and will be skipped; **1** do not accept announcement messages."), "{dry_run}");
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

/// A broadcast too long for one message is refused at submit with the count
/// and the limit; nothing is saved, and Edit reopens the form with what was
/// typed, so the work is not lost.
#[tokio::test]
async fn a_broadcast_too_long_for_one_message_is_refused_and_stays_editable() {
    let (fake, db, bot) = start_with_admin_guild(&[]).await;
    let title = "t".repeat(256);
    let content = "c".repeat(4000);
    let footer = "f".repeat(2048);
    let refused = compose(
        &fake,
        8501,
        "announcement",
        None,
        &[
            ("title", &title),
            ("content", &content),
            ("footer", &footer),
        ],
    )
    .await;

    let text = refused["data"]["content"].as_str().unwrap();
    assert!(text.contains("Discord allows 6000 per message"), "{text}");
    assert!(text.contains("Nothing was saved"), "{text}");
    assert_eq!(refused["data"]["flags"], EPHEMERAL);
    assert_eq!(
        count(&db, "SELECT count(*) FROM broadcasts").await,
        0,
        "nothing half-saved"
    );
    let edit = crate::support::interact::control(&refused, "Edit");
    let form = crate::support::interact::press(
        &fake,
        "submit-8501",
        "edit-refused",
        DEVELOPER,
        &edit,
        None,
    )
    .await;
    assert_eq!(form["type"], crate::support::discord::MODAL);
    let values: Vec<&str> = form["data"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["components"][0]["value"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(values[0], title, "the title is back in the form");
    assert_eq!(values[1], content);
    fake.assert_no_spec_violations();
    bot.stop().await;
}

/// A schedule whose time passed while the preview was open is refused when
/// Schedule is pressed, with the choice to send now.
#[tokio::test]
async fn a_schedule_that_passed_meanwhile_is_refused_with_the_choice_to_send_now() {
    let (fake, db, bot) = start_with_admin_guild(&[]).await;
    crate::support::broadcast::seed_guild(&db, 1, true, crate::support::broadcast::ALL).await;
    let preview = compose(
        &fake,
        8601,
        "changelog",
        Some("in 2h"),
        &[("title", "Late")],
    )
    .await;
    let id = crate::support::broadcast::draft_id(&preview);
    // As if the preview had stayed open past its time.
    sqlx::query("UPDATE broadcasts SET scheduled_for = now() - interval '1 minute' WHERE id = $1")
        .bind(id)
        .execute(&db.pool)
        .await
        .unwrap();

    let refused = crate::support::interact::press(
        &fake,
        "submit-8601",
        "schedule-late",
        DEVELOPER,
        &crate::support::broadcast::button_id(&preview, "Schedule"),
        None,
    )
    .await;

    let text = refused["data"]["content"].as_str().unwrap();
    assert!(text.contains("has passed: nothing was scheduled"), "{text}");
    assert_eq!(status(&db, id).await, "draft");
    let now = crate::support::interact::control(&refused, "Send now");
    crate::support::interact::press(&fake, "schedule-late", "send-now", DEVELOPER, &now, None)
        .await;
    crate::support::bot::eventually(
        "the broadcast sent",
        crate::support::interact::WAIT,
        || async { (status(&db, id).await == "sent").then_some(()) },
    )
    .await;
    assert_eq!(
        fake.messages_in(crate::support::broadcast::channel(1))
            .len(),
        1
    );
    bot.stop().await;
}
