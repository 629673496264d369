//! Audiences: a broadcast to servers with a language, a module, enough
//! members, or a hand-picked list reaches those servers only; the preview
//! counts the audience's reach, "targeted" counts the audience alone, and an
//! audience that matches nothing says so and sends nothing.

use serde_json::{Value, json};

use super::{count, status, wait_until_sent};
use crate::support::bot::{ADMIN_GUILD, DEVELOPER, start_with_admin_guild};
use crate::support::broadcast::{ALL, button_id, category_index, channel, draft_id, seed_guild};
use crate::support::db::TestDb;
use crate::support::discord::MODAL;
use crate::support::fake_discord::FakeDiscord;
use crate::support::fixtures;
use crate::support::interact::{WAIT, press, slash, submit};

/// German, 5,000 members, the welcome module on.
const GERMAN_WELCOMING: i64 = 21;
/// German, 10 members.
const GERMAN_SMALL: i64 = 22;
/// English (no settings change), 5,000 members.
const ENGLISH_LARGE: i64 = 23;

/// poise sends choice parameters as their index (en, de, fr, es, pt-BR, ja).
const GERMAN: u64 = 1;

async fn seed(db: &TestDb) {
    for guild in [GERMAN_WELCOMING, GERMAN_SMALL, ENGLISH_LARGE] {
        seed_guild(db, guild, true, ALL).await;
    }
    for sql in [
        format!(
            "UPDATE guild_settings SET language = 'de' WHERE guild_id IN ({GERMAN_WELCOMING}, {GERMAN_SMALL})"
        ),
        format!(
            "UPDATE guilds SET member_count = 5000 WHERE id IN ({GERMAN_WELCOMING}, {ENGLISH_LARGE})"
        ),
        format!(
            "INSERT INTO cog_settings (guild_id, module, enabled) VALUES ({GERMAN_WELCOMING}, 'welcome', true), ({GERMAN_SMALL}, 'welcome', false)"
        ),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&db.pool)
            .await
            .unwrap();
    }
}

/// `/admin broadcast new` with audience `options`; submits the form and
/// returns the preview (or the refusal when the command itself refuses).
async fn compose_for(fake: &FakeDiscord, id: u64, options: Vec<(&str, Value)>) -> Value {
    let mut all = vec![("category", json!(category_index("announcement")))];
    all.extend(options);
    let opened = slash(
        fake,
        id,
        &format!("compose-{id}"),
        DEVELOPER,
        &["admin", "broadcast", "new"],
        all,
    )
    .await;
    if opened["type"] != MODAL {
        return opened;
    }
    let modal_id = opened["data"]["custom_id"].as_str().unwrap();
    submit(
        fake,
        &format!("submit-{id}"),
        DEVELOPER,
        modal_id,
        &[("title", "For some")],
        None,
    )
    .await
}

fn dry_run_text(preview: &Value) -> String {
    preview["data"]["embeds"][1]["description"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn an_audience_reaches_only_its_servers_and_targeted_counts_it_alone() {
    let (fake, db, bot) = start_with_admin_guild(&[]).await;
    seed(&db).await;

    let preview = compose_for(
        &fake,
        9301,
        vec![("language", json!(GERMAN)), ("min_members", json!(1000))],
    )
    .await;
    let text = dry_run_text(&preview);
    assert!(
        text.contains("Audience: language de · at least 1,000 members."),
        "{text}"
    );
    assert!(
        text.contains("Reaches **1** of its **1** servers"),
        "{text}"
    );
    let id = draft_id(&preview);
    press(
        &fake,
        "submit-9301",
        "send-9301",
        DEVELOPER,
        &button_id(&preview, "Send"),
        None,
    )
    .await;
    wait_until_sent(&db, id).await;

    assert_eq!(fake.messages_in(channel(GERMAN_WELCOMING)).len(), 1);
    for other in [GERMAN_SMALL, ENGLISH_LARGE] {
        assert!(
            fake.messages_in(channel(other)).is_empty(),
            "server {other} is not in the audience"
        );
    }
    let targeted = count(
        &db,
        &format!("SELECT count(*) FROM broadcast_deliveries WHERE broadcast_id = {id}"),
    )
    .await;
    assert_eq!(targeted, 1, "targeted counts the audience only");
    let history = slash(
        &fake,
        9303,
        "history-9303",
        DEVELOPER,
        &["admin", "broadcast", "history"],
        vec![],
    )
    .await;
    let listed = history["data"]["embeds"][0]["description"]
        .as_str()
        .unwrap();
    assert!(
        listed.contains("to language de · at least 1,000 members"),
        "{listed}"
    );
    bot.stop().await;
}

#[tokio::test]
async fn a_module_or_a_hand_picked_list_narrows_the_audience_the_same_way() {
    let (fake, db, bot) = start_with_admin_guild(&[]).await;
    seed(&db).await;

    let by_module = compose_for(&fake, 9311, vec![("module", json!("welcome"))]).await;
    assert!(
        dry_run_text(&by_module).contains("Reaches **1** of its **1** servers"),
        "{by_module}"
    );
    let picked = format!("{GERMAN_SMALL}, {ENGLISH_LARGE}");
    let by_list = compose_for(&fake, 9313, vec![("servers", json!(picked))]).await;
    let text = dry_run_text(&by_list);
    assert!(
        text.contains("2 chosen servers") && text.contains("Reaches **2** of its **2**"),
        "{text}"
    );
    bot.stop().await;
}

#[tokio::test]
async fn an_audience_that_matches_nothing_says_so_and_sends_nothing() {
    let (fake, db, bot) = start_with_admin_guild(&[]).await;
    seed(&db).await;

    let preview = compose_for(&fake, 9321, vec![("min_members", json!(1_000_000))]).await;
    assert!(
        dry_run_text(&preview).contains("matches **no server**"),
        "{preview}"
    );
    let id = draft_id(&preview);
    let refused = press(
        &fake,
        "submit-9321",
        "send-9321",
        DEVELOPER,
        &button_id(&preview, "Send"),
        None,
    )
    .await;
    let text = refused["data"]["content"].as_str().unwrap();
    assert!(
        text.contains("matches no server right now: nothing was sent"),
        "{text}"
    );
    assert_eq!(refused["data"]["flags"], 64, "ephemeral");
    assert_eq!(status(&db, id).await, "draft");
    assert_eq!(
        count(&db, "SELECT count(*) FROM broadcast_deliveries").await,
        0
    );
    assert_eq!(fake.messages_posted(), 0);
    bot.stop().await;
}

#[tokio::test]
async fn bad_audience_options_are_refused_before_the_form_opens() {
    let (fake, db, bot) = start_with_admin_guild(&[]).await;
    seed(&db).await;

    let cases = [
        (
            "servers",
            json!(format!("{GERMAN_SMALL}, 999")),
            "The bot is not in these servers: 999",
        ),
        ("servers", json!("12, =HYPERLINK()"), "is not a server id"),
        ("module", json!("karaoke"), "There is no module `karaoke`"),
    ];
    for (n, (option, value, expected)) in cases.into_iter().enumerate() {
        let reply = compose_for(&fake, 9331 + 2 * n as u64, vec![(option, value)]).await;
        let text = reply["data"]["content"].as_str().unwrap_or_default();
        assert!(text.contains(expected), "{option}: {reply}");
        assert_eq!(reply["data"]["flags"], 64, "ephemeral");
    }
    assert_eq!(
        count(&db, "SELECT count(*) FROM broadcasts").await,
        0,
        "nothing saved"
    );
    bot.stop().await;
}

#[tokio::test]
async fn the_server_list_is_completed_by_name_keeping_the_ids_already_typed() {
    let (fake, db, bot) = start_with_admin_guild(&[]).await;
    seed(&db).await;
    sqlx::query("UPDATE guilds SET name = 'Kaffeeklatsch' WHERE id = $1")
        .bind(ENGLISH_LARGE)
        .execute(&db.pool)
        .await
        .unwrap();

    let typed = fixtures::autocomplete(
        9341,
        "typing-9341",
        Some(ADMIN_GUILD),
        DEVELOPER,
        &["admin", "broadcast", "new"],
        "servers",
        &format!("{GERMAN_SMALL}, Kaffee"),
    );
    fake.dispatch_for_guild(ADMIN_GUILD, "INTERACTION_CREATE", typed);
    let answer = fake.wait_for_callback("typing-9341", WAIT).await;
    let choices = answer["data"]["choices"].as_array().unwrap();
    assert_eq!(choices.len(), 1, "{answer}");
    assert_eq!(
        choices[0]["name"],
        format!("Kaffeeklatsch ({ENGLISH_LARGE})")
    );
    assert_eq!(
        choices[0]["value"],
        format!("{GERMAN_SMALL},{ENGLISH_LARGE}")
    );
    fake.assert_no_spec_violations();
    bot.stop().await;
}
