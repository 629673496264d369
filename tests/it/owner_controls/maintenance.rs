//! Maintenance mode (issue 39, item 3): every command but `/admin`, or one
//! named command, answers the message ephemerally instead of running, in
//! every process within 5 s and after a restart; `/admin stats` and
//! `/admin health` show it on, since when and by whom; bad input changes
//! nothing.

use std::time::Duration;

use serde_json::Value;

use super::{SERVER, admin, command_in, content, joined, logged, two_processes};
use crate::support::bot::{DEVELOPER, start_with_admin_guild};
use crate::support::discord::EPHEMERAL;
use crate::support::fake_discord::FakeDiscord;

const MEMBER: u64 = 200_000_000_000_000_888;
const MESSAGE: &str = "Upgrading the database, back at 18:00 UTC";

/// Runs `/ping` in `SERVER` until it answers `expected` (or something
/// else when `expected` is `None`), for at most 5 s.
async fn ping_until(fake: &FakeDiscord, expected: Option<&str>) -> Value {
    let started = tokio::time::Instant::now();
    loop {
        let reply = command_in(fake, SERVER, MEMBER, &["ping"]).await;
        let text = content(&reply);
        if expected.map_or(text != MESSAGE, |expected| text == expected) {
            return reply;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "still {text:?} after 5 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn field(embed: &Value, name: &str) -> String {
    embed["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|field| field["name"] == name)
        .map(|field| field["value"].as_str().unwrap_or_default().to_owned())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maintenance_answers_every_command_but_admin_in_every_process_and_after_a_restart() {
    let (db, (fake_a, bot_a), (fake_b, bot_b)) = two_processes().await;
    joined(&fake_b, &db, SERVER, "Chess Club", 40).await;
    ping_until(&fake_b, None).await;

    let on = admin(
        &fake_a,
        "on",
        DEVELOPER,
        &["maintenance", "on"],
        &[("message", MESSAGE)],
    )
    .await;
    assert!(
        content(&on).starts_with("Maintenance is on for every command but /admin"),
        "{}",
        content(&on)
    );
    // Process B, already running, answers the message within 5 s.
    let answered = ping_until(&fake_b, Some(MESSAGE)).await;
    assert_eq!(answered["data"]["flags"], EPHEMERAL);
    let settings = command_in(&fake_b, SERVER, MEMBER, &["settings", "show"]).await;
    assert_eq!(content(&settings), MESSAGE);

    // /admin still runs, and says who turned it on and since when.
    let stats = admin(&fake_b, "stats", DEVELOPER, &["stats"], &[]).await;
    let shown = field(&stats["data"]["embeds"][0], "Maintenance");
    assert!(
        shown.contains("for every command but /admin since <t:")
            && shown.contains(&format!("by <@{DEVELOPER}>"))
            && shown.contains(MESSAGE),
        "{stats}"
    );
    let health = admin(&fake_b, "health", DEVELOPER, &["health"], &[]).await;
    let status = field(&health["data"]["embeds"][0], "Bot status");
    assert!(
        status.contains("maintenance **on** for every command but /admin"),
        "{status}"
    );
    assert_eq!(logged(&db, "maintenance_on").await.len(), 1);

    // Kept across a restart.
    let bot_b = bot_b.restart(&fake_b, super::config(&fake_b, &db)).await;
    let after = command_in(&fake_b, SERVER, MEMBER, &["ping"]).await;
    assert_eq!(content(&after), MESSAGE);

    let off = admin(&fake_a, "off", DEVELOPER, &["maintenance", "off"], &[]).await;
    assert_eq!(
        content(&off),
        "Maintenance is off for every command but /admin."
    );
    ping_until(&fake_b, None).await;
    assert_eq!(logged(&db, "maintenance_off").await.len(), 1);
    bot_a.stop().await;
    bot_b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maintenance_of_one_command_leaves_the_others_running() {
    let (fake, db, bot) = start_with_admin_guild(&[]).await;
    joined(&fake, &db, SERVER, "Chess Club", 40).await;
    let on = admin(
        &fake,
        "on-ping",
        DEVELOPER,
        &["maintenance", "on"],
        &[("message", MESSAGE), ("command", "/Ping")],
    )
    .await;
    assert!(
        content(&on).starts_with("Maintenance is on for /ping"),
        "{}",
        content(&on)
    );
    assert_eq!(
        content(&command_in(&fake, SERVER, MEMBER, &["ping"]).await),
        MESSAGE
    );
    let other = command_in(&fake, SERVER, MEMBER, &["welcome-preview"]).await;
    assert_ne!(content(&other), MESSAGE);
    let stats = admin(&fake, "stats", DEVELOPER, &["stats"], &[]).await;
    assert!(field(&stats["data"]["embeds"][0], "Maintenance").contains("for /ping since"));

    let off = admin(
        &fake,
        "off-ping",
        DEVELOPER,
        &["maintenance", "off"],
        &[("command", "ping")],
    )
    .await;
    assert_eq!(content(&off), "Maintenance is off for /ping.");
    assert_ne!(
        content(&command_in(&fake, SERVER, MEMBER, &["ping"]).await),
        MESSAGE
    );
    bot.stop().await;
}

/// A token, the command's path, its options and the answer's start.
type Case<'a> = (&'a str, &'a [&'a str], &'a [(&'a str, &'a str)], &'a str);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_clear_answer_and_changes_nothing() {
    let (fake, db, bot) = start_with_admin_guild(&[]).await;
    let cases: [Case; 5] = [
        (
            "admin",
            &["maintenance", "on"],
            &[("message", "x"), ("command", "admin stats")],
            "/admin is never under maintenance",
        ),
        (
            "unknown",
            &["maintenance", "on"],
            &[("message", "x"), ("command", "nope")],
            "This bot has no command `/nope`: nothing changed.",
        ),
        (
            "blank",
            &["maintenance", "on"],
            &[("message", "   ")],
            "Give a message of 1 to 1000 characters: nothing changed.",
        ),
        (
            "not-on",
            &["maintenance", "off"],
            &[],
            "Maintenance is not on for every command but /admin: nothing changed.",
        ),
        (
            "not-on-ping",
            &["maintenance", "off"],
            &[("command", "ping")],
            "Maintenance is not on for /ping: nothing changed.",
        ),
    ];
    for (token, path, options, expected) in cases {
        let reply = admin(&fake, token, DEVELOPER, path, options).await;
        assert!(
            content(&reply).starts_with(expected),
            "{token}: {}",
            content(&reply)
        );
        assert_eq!(reply["data"]["flags"], EPHEMERAL);
    }
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM maintenance")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(stored, 0);
    assert!(logged(&db, "maintenance_on").await.is_empty());
    bot.stop().await;
}
