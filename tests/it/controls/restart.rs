//! Each view of the panel, drawn by one process and pressed after a restart
//! (a new process on the same database) or in a second process.

use serde_json::json;

use super::{bot_with_servers, config, footer};
use crate::support::bot::{DEVELOPER, TestBot, eventually};
use crate::support::broadcast::{ALL, button_id, channel, compose, draft_id, seed_guild};
use crate::support::discord::{EPHEMERAL, MODAL, UPDATE_MESSAGE};
use crate::support::fake_discord::FakeDiscord;
use crate::support::interact::{WAIT, attachments, control, press, slash, submit};
use admin_panel::store::developers;

#[tokio::test]
async fn a_server_list_turns_its_pages_and_opens_a_server_after_a_restart() {
    let (fake, db, bot) = bot_with_servers(25, &[]).await;
    let first = slash(
        &fake,
        101,
        "servers",
        DEVELOPER,
        &["admin", "servers"],
        vec![],
    )
    .await;

    let bot = bot.restart(&fake, config(&fake, &db, &[])).await;

    let next = press(
        &fake,
        "servers",
        "next",
        DEVELOPER,
        &control(&first, "Next ›"),
        None,
    )
    .await;
    assert_eq!(next["type"], UPDATE_MESSAGE);
    assert!(footer(&next).ends_with("page 2 of 3"), "{}", footer(&next));
    let last = press(
        &fake,
        "next",
        "last",
        DEVELOPER,
        &control(&next, "Last »"),
        None,
    )
    .await;
    assert!(footer(&last).ends_with("page 3 of 3"));
    let back = press(
        &fake,
        "last",
        "back",
        DEVELOPER,
        &control(&last, "‹ Prev"),
        None,
    )
    .await;
    assert!(footer(&back).ends_with("page 2 of 3"));
    let opened = press(
        &fake,
        "back",
        "open",
        DEVELOPER,
        &control(&back, "Open one…"),
        Some(vec!["7"]),
    )
    .await;
    assert_eq!(opened["data"]["embeds"][0]["title"], "Server 07");
    fake.assert_no_spec_violations();
    bot.stop().await;
}

#[tokio::test]
async fn the_logs_page_and_download_after_a_restart() {
    let (fake, db, bot) = bot_with_servers(1, &[]).await;
    for i in 0..15 {
        sqlx::query("INSERT INTO system_logs (severity, event_type, message) VALUES ('info', 'guild_join', $1)")
            .bind(format!("entry {i}"))
            .execute(&db.pool)
            .await
            .unwrap();
    }
    let logs = slash(&fake, 102, "logs", DEVELOPER, &["admin", "logs"], vec![]).await;
    // Entries written after the list was drawn are not in it: pages and the
    // download show the list as it was drawn.
    sqlx::query("INSERT INTO system_logs (severity, event_type, message) VALUES ('error', 'later', 'later')")
        .execute(&db.pool)
        .await
        .unwrap();

    let bot = bot.restart(&fake, config(&fake, &db, &[])).await;

    let next = press(
        &fake,
        "logs",
        "logs-next",
        DEVELOPER,
        &control(&logs, "Next ›"),
        None,
    )
    .await;
    assert!(
        footer(&next).contains("2 of 2")
            || next["data"]["embeds"][0]["footer"]["text"]
                .as_str()
                .unwrap_or_default()
                .contains('2'),
        "{next}"
    );
    press(
        &fake,
        "logs-next",
        "logs-csv",
        DEVELOPER,
        &control(&next, "Download CSV"),
        None,
    )
    .await;
    let files = attachments(&fake, "logs-csv");
    let mut reader = csv::Reader::from_reader(files[0].1.as_slice());
    assert_eq!(
        reader.records().count(),
        15,
        "the entries the list showed, not the later one"
    );
    bot.stop().await;
}

#[tokio::test]
async fn the_history_and_a_report_answer_after_a_restart() {
    let (fake, db, bot) = bot_with_servers(0, &[]).await;
    seed_guild(&db, 1, true, ALL).await;
    fake.join_guilds([1]);
    let preview = compose(
        &fake,
        8701,
        "changelog",
        None,
        &[("title", "Before the deploy")],
    )
    .await;
    let id = draft_id(&preview);
    let history = slash(
        &fake,
        103,
        "history",
        DEVELOPER,
        &["admin", "broadcast", "history"],
        vec![],
    )
    .await;
    let report = slash(
        &fake,
        104,
        "report",
        DEVELOPER,
        &["admin", "broadcast", "report"],
        vec![("id", json!(id))],
    )
    .await;

    let bot = bot.restart(&fake, config(&fake, &db, &[])).await;

    let opened = press(
        &fake,
        "history",
        "history-open",
        DEVELOPER,
        &control(&history, "Open one…"),
        Some(vec![&id.to_string()]),
    )
    .await;
    assert!(
        opened["data"]["embeds"][0]["title"]
            .as_str()
            .unwrap()
            .contains("Before the deploy"),
        "{opened}"
    );
    press(
        &fake,
        "report",
        "report-csv",
        DEVELOPER,
        &control(&report, "Download CSV"),
        None,
    )
    .await;
    assert_eq!(
        attachments(&fake, "report-csv")[0].0,
        format!("broadcast-{id}.csv")
    );
    let retried = press(
        &fake,
        "report",
        "report-retry",
        DEVELOPER,
        &control(&report, "Retry failed"),
        None,
    )
    .await;
    assert!(
        retried["data"]["content"]
            .as_str()
            .unwrap()
            .contains("no failed deliveries"),
        "{retried}"
    );
    bot.stop().await;
}

#[tokio::test]
async fn a_confirmation_asked_before_a_restart_is_answered_after_it() {
    const ALICE: u64 = 200_000_000_000_000_777;
    let (fake, db, bot) = bot_with_servers(0, &[]).await;
    developers::add(&db.pool, ALICE, DEVELOPER).await.unwrap();
    seed_guild(&db, 1, true, ALL).await;
    fake.join_guilds([1]);
    let preview = compose(
        &fake,
        8801,
        "maintenance",
        Some("in 2h"),
        &[("title", "Later")],
    )
    .await;
    let id = draft_id(&preview);
    press(
        &fake,
        "submit-8801",
        "schedule",
        DEVELOPER,
        &button_id(&preview, "Schedule"),
        None,
    )
    .await;
    let mut question = crate::support::fixtures::slash_command(
        105,
        "remove-alice",
        Some(crate::support::bot::ADMIN_GUILD),
        DEVELOPER,
        &["admin", "developers", "remove"],
        vec![],
    );
    question = crate::support::fixtures::with_user_option(question, "user", ALICE, false);
    fake.dispatch_for_guild(
        crate::support::bot::ADMIN_GUILD,
        "INTERACTION_CREATE",
        question,
    );
    let remove = fake.wait_for_callback("remove-alice", WAIT).await;
    let cancel = slash(
        &fake,
        106,
        "cancel",
        DEVELOPER,
        &["admin", "broadcast", "cancel"],
        vec![("id", json!(id))],
    )
    .await;

    let bot = bot.restart(&fake, config(&fake, &db, &[])).await;

    let removed = press(
        &fake,
        "remove-alice",
        "yes-remove",
        DEVELOPER,
        &control(&remove, "Remove"),
        None,
    )
    .await;
    assert_eq!(
        removed["data"]["content"],
        format!("<@{ALICE}> is no longer a developer.")
    );
    assert!(!developers::exists(&db.pool, ALICE).await.unwrap());
    let cancelled = press(
        &fake,
        "cancel",
        "yes-cancel",
        DEVELOPER,
        &control(&cancel, "Cancel the broadcast"),
        None,
    )
    .await;
    assert!(
        cancelled["data"]["content"]
            .as_str()
            .unwrap()
            .contains("is cancelled"),
        "{cancelled}"
    );
    let status: String = sqlx::query_scalar("SELECT status FROM broadcasts WHERE id = $1")
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(status, "cancelled");
    fake.assert_no_spec_violations();
    bot.stop().await;
}

#[tokio::test]
async fn a_broadcast_preview_edits_and_sends_after_a_restart() {
    let (fake, db, bot) = bot_with_servers(0, &[]).await;
    seed_guild(&db, 1, true, ALL).await;
    fake.join_guilds([1]);
    let preview = compose(
        &fake,
        8901,
        "announcement",
        None,
        &[("title", "Frist draft")],
    )
    .await;
    let id = draft_id(&preview);

    let bot = bot.restart(&fake, config(&fake, &db, &[])).await;

    let form = press(
        &fake,
        "submit-8901",
        "edit",
        DEVELOPER,
        &button_id(&preview, "Edit"),
        None,
    )
    .await;
    assert_eq!(form["type"], MODAL);
    assert_eq!(
        form["data"]["components"][0]["components"][0]["value"], "Frist draft",
        "the form holds the draft"
    );
    let modal_id = form["data"]["custom_id"].as_str().unwrap().to_owned();
    let message = fake.original_response("submit-8901");
    let edited = submit(
        &fake,
        "edited",
        DEVELOPER,
        &modal_id,
        &[("title", "First draft")],
        message,
    )
    .await;
    assert_eq!(edited["type"], UPDATE_MESSAGE);
    assert_eq!(edited["data"]["embeds"][0]["title"], "First draft");

    let bot = bot.restart(&fake, config(&fake, &db, &[])).await;

    let sent = press(
        &fake,
        "edited",
        "send",
        DEVELOPER,
        &button_id(&edited, "Send"),
        None,
    )
    .await;
    assert_eq!(sent["type"], UPDATE_MESSAGE);
    eventually("the broadcast delivered", WAIT, || async {
        (fake.messages_in(channel(1)).len() == 1).then_some(())
    })
    .await;
    assert_eq!(
        fake.messages_in(channel(1))[0]["embeds"][0]["title"],
        "First draft"
    );
    let status: String = sqlx::query_scalar("SELECT status FROM broadcasts WHERE id = $1")
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_ne!(status, "draft");
    fake.assert_no_spec_violations();
    bot.stop().await;
}

#[tokio::test]
async fn a_draft_is_discarded_after_a_restart() {
    let (fake, db, bot) = bot_with_servers(0, &[]).await;
    let preview = compose(&fake, 9001, "changelog", None, &[("title", "Never mind")]).await;
    let id = draft_id(&preview);

    let bot = bot.restart(&fake, config(&fake, &db, &[])).await;

    let discarded = press(
        &fake,
        "submit-9001",
        "discard",
        DEVELOPER,
        &button_id(&preview, "Discard"),
        None,
    )
    .await;
    assert!(
        discarded["data"]["content"]
            .as_str()
            .unwrap()
            .contains("discarded")
    );
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM broadcasts WHERE id = $1")
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
    bot.stop().await;
}

#[tokio::test]
async fn a_press_is_answered_by_a_second_process_on_the_same_database() {
    let (fake_a, db, bot_a) = bot_with_servers(25, &[]).await;
    let fake_b = FakeDiscord::start().await;
    // The same Discord, as the second process sees it.
    fake_b.join_guilds(1..=25);
    let bot_b = TestBot::start(&fake_b, config(&fake_b, &db, &[])).await;
    let first = slash(
        &fake_a,
        107,
        "drawn-by-a",
        DEVELOPER,
        &["admin", "servers"],
        vec![],
    )
    .await;
    let message = fake_a.original_response("drawn-by-a").unwrap();

    // The press reaches process B (its shard received the interaction).
    let mut interaction = crate::support::fixtures::button_press(
        108,
        "pressed-on-b",
        Some(crate::support::bot::ADMIN_GUILD),
        DEVELOPER,
        &control(&first, "Next ›"),
        message,
    );
    interaction["message"]["flags"] = json!(EPHEMERAL);
    fake_b.dispatch_for_guild(
        crate::support::bot::ADMIN_GUILD,
        "INTERACTION_CREATE",
        interaction,
    );
    let next = fake_b.wait_for_callback("pressed-on-b", WAIT).await;

    assert_eq!(next["type"], UPDATE_MESSAGE);
    assert!(footer(&next).ends_with("page 2 of 3"));
    bot_a.stop().await;
    bot_b.stop().await;
}
