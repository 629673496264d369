//! `/admin developers list|add|remove` and their safeguards.

use std::time::Duration;

use crate::support::bot::{ADMIN_GUILD, DEVELOPER, TestBot, start_with_admin_guild, test_config};
use crate::support::db::TestDb;
use crate::support::discord::{EPHEMERAL, UPDATE_MESSAGE};
use crate::support::fake_discord::FakeDiscord;
use crate::support::fixtures;
use crate::support::interact::{control, wait_for_access};
use admin_panel::store::developers;
use serde_json::Value;

const ALICE: u64 = 200_000_000_000_000_100;
const BOB: u64 = 200_000_000_000_000_200;
const WAIT: Duration = Duration::from_secs(10);

/// `/admin developers <action> [user:<target>]` by `by`; returns the first response.
async fn developers_command(
    fake: &FakeDiscord,
    id: u64,
    by: u64,
    action: &str,
    target: Option<(u64, bool)>,
) -> Value {
    let token = format!("dev-{id}");
    let mut interaction = fixtures::slash_command(
        id,
        &token,
        Some(ADMIN_GUILD),
        by,
        &["admin", "developers", action],
        vec![],
    );
    if let Some((user, bot)) = target {
        interaction = fixtures::with_user_option(interaction, "user", user, bot);
    }
    fake.dispatch("INTERACTION_CREATE", interaction).await;
    fake.wait_for_callback(&token, WAIT).await
}

/// Presses the button labelled `label` on the reply to command `command_id`.
async fn press(fake: &FakeDiscord, command_id: u64, by: u64, label: &str) -> Value {
    let token = format!("press-{}", rand::random::<u32>());
    let message = fake
        .original_response(&format!("dev-{command_id}"))
        .expect("the confirmation exists");
    let custom_id = control(&message, label);
    let interaction = fixtures::button_press(
        rand::random::<u32>() as u64 + 1,
        &token,
        Some(ADMIN_GUILD),
        by,
        &custom_id,
        message,
    );
    fake.dispatch("INTERACTION_CREATE", interaction).await;
    fake.wait_for_callback(&token, WAIT).await
}

fn content(response: &Value) -> String {
    response["data"]["content"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn log_types(db: &TestDb) -> Vec<String> {
    sqlx::query_scalar("SELECT event_type FROM system_logs ORDER BY id")
        .fetch_all(&db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn adding_refuses_bots_the_primary_and_duplicates_and_logs_each_addition() {
    let (fake, db, bot) = start_with_admin_guild(&[]).await;

    assert!(
        content(&developers_command(&fake, 1, DEVELOPER, "add", Some((ALICE, true))).await)
            .contains("is a bot account")
    );
    assert!(
        content(&developers_command(&fake, 2, DEVELOPER, "add", Some((DEVELOPER, false))).await)
            .contains("primary developer already")
    );
    let added = developers_command(&fake, 3, DEVELOPER, "add", Some((ALICE, false))).await;
    assert_eq!(content(&added), format!("<@{ALICE}> is now a developer."));
    assert_eq!(added["data"]["flags"], EPHEMERAL);
    assert!(
        content(&developers_command(&fake, 4, DEVELOPER, "add", Some((ALICE, false))).await)
            .contains("already a developer")
    );

    assert!(developers::exists(&db.pool, ALICE).await.unwrap());
    assert_eq!(log_types(&db).await, vec!["developer_added"]);
    let list = developers_command(&fake, 5, ALICE, "list", None).await;
    let description = list["data"]["embeds"][0]["description"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        description.starts_with(&format!("<@{DEVELOPER}> `{DEVELOPER}`: **primary**")),
        "{description}"
    );
    assert!(
        description.contains(&format!(
            "<@{ALICE}> `{ALICE}`: added by <@{DEVELOPER}> <t:"
        )),
        "{description}"
    );
    fake.assert_no_spec_violations();
    bot.stop().await;
}

#[tokio::test]
async fn removing_refuses_the_primary_yourself_and_non_developers() {
    let (fake, db, bot) = start_with_admin_guild(&[]).await;
    developers::add(&db.pool, ALICE, DEVELOPER).await.unwrap();
    wait_for_access(&fake, ALICE, true).await;

    assert_eq!(
        content(&developers_command(&fake, 1, ALICE, "remove", Some((DEVELOPER, false))).await),
        "The primary developer from DEVELOPER_USER_ID cannot be removed: it keeps someone able to get in."
    );
    assert!(
        content(&developers_command(&fake, 2, ALICE, "remove", Some((ALICE, false))).await)
            .contains("cannot remove yourself")
    );
    assert!(
        content(&developers_command(&fake, 3, ALICE, "remove", Some((BOB, false))).await)
            .contains("is not a developer")
    );
    assert!(developers::exists(&db.pool, ALICE).await.unwrap());
    assert!(log_types(&db).await.is_empty(), "nothing changed");
    bot.stop().await;
}

#[tokio::test]
async fn a_confirmed_removal_takes_access_away_at_once_and_is_logged() {
    let (fake, db, bot) = start_with_admin_guild(&[]).await;
    developers::add(&db.pool, ALICE, DEVELOPER).await.unwrap();
    developers::add(&db.pool, BOB, DEVELOPER).await.unwrap();
    wait_for_access(&fake, BOB, true).await;

    let question = developers_command(&fake, 77, DEVELOPER, "remove", Some((ALICE, false))).await;
    assert!(content(&question).starts_with(&format!("Remove <@{ALICE}>")));
    let foreign = press(&fake, 77, BOB, "Remove").await;
    assert_eq!(content(&foreign), "These controls belong to someone else.");
    assert!(
        developers::exists(&db.pool, ALICE).await.unwrap(),
        "another developer's press changes nothing"
    );

    let done = press(&fake, 77, DEVELOPER, "Remove").await;
    assert_eq!(done["type"], UPDATE_MESSAGE);
    assert_eq!(
        content(&done),
        format!("<@{ALICE}> is no longer a developer.")
    );
    assert!(!developers::exists(&db.pool, ALICE).await.unwrap());
    assert_eq!(log_types(&db).await, vec!["developer_removed"]);

    let refused = developers_command(&fake, 78, ALICE, "list", None).await;
    assert_eq!(
        content(&refused),
        "This command is for the bot's developers."
    );
    fake.assert_no_spec_violations();
    bot.stop().await;
}

#[tokio::test]
async fn a_second_bot_process_sees_a_developer_change_within_five_seconds() {
    let db = TestDb::new().await;
    let (fake_a, fake_b) = (FakeDiscord::start().await, FakeDiscord::start().await);
    let admin_guild = ADMIN_GUILD.to_string();
    let vars = [("ADMIN_GUILD_IDS", admin_guild.as_str())];
    let bot_a = TestBot::start(&fake_a, test_config(&fake_a, &db, &vars)).await;
    let bot_b = TestBot::start(&fake_b, test_config(&fake_b, &db, &vars)).await;

    developers_command(&fake_a, 1, DEVELOPER, "add", Some((ALICE, false))).await;
    let started = tokio::time::Instant::now();
    let mut attempt = 100;
    loop {
        attempt += 1;
        let response = developers_command(&fake_b, attempt, ALICE, "list", None).await;
        if response["data"]["embeds"][0]["title"]
            .as_str()
            .is_some_and(|t| t.starts_with("Developers"))
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "process B still refuses after 5 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let question = developers_command(&fake_a, 2, DEVELOPER, "remove", Some((ALICE, false))).await;
    assert!(content(&question).starts_with("Remove"));
    press(&fake_a, 2, DEVELOPER, "Remove").await;
    // B learns of the removal through PostgreSQL's NOTIFY, a few
    // milliseconds later: a command racing it may still pass, but within
    // the same 5 s B refuses.
    let started = tokio::time::Instant::now();
    let mut attempt = 900;
    loop {
        attempt += 1;
        let response = developers_command(&fake_b, attempt, ALICE, "list", None).await;
        if content(&response) == "This command is for the bot's developers." {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "process B still lets a removed developer in after 5 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bot_a.stop().await;
    bot_b.stop().await;
}
