//! Broadcast helpers shared by the broadcast tests and benchmark: seeding
//! guilds with broadcast channels, and driving the composer (slash command,
//! modal, preview) as a developer would.

use std::sync::Arc;

use admin_panel::broadcast::worker::BroadcastWorker;
use admin_panel::store::instances;
use chrono::Utc;
use serde_json::{Value, json};
use serenity::all::HttpBuilder;

use super::bot::{ADMIN_GUILD, DEVELOPER, TOKEN};
use super::db::TestDb;
use super::discord::MODAL;
use super::fake_discord::FakeDiscord;
use super::fixtures;
use super::interact::{WAIT, slash};

/// Channel of guild `g` (one per guild, ids far from everything else).
pub fn channel(guild: i64) -> u64 {
    900_000_000_000 + guild as u64
}

/// An active guild with a broadcast channel (or none) accepting `categories`.
pub async fn seed_guild(db: &TestDb, id: i64, with_channel: bool, categories: &[&str]) {
    sqlx::query("INSERT INTO guilds (id, name, member_count, joined_at) VALUES ($1, 'Guild ' || $1, 10, now())")
        .bind(id)
        .execute(&db.pool)
        .await
        .unwrap();
    let categories: Vec<String> = categories.iter().map(|c| (*c).to_owned()).collect();
    sqlx::query("INSERT INTO guild_settings (guild_id, broadcast_channel_id, broadcast_categories) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(with_channel.then_some(channel(id) as i64))
        .bind(&categories)
        .execute(&db.pool)
        .await
        .unwrap();
}

pub const ALL: &[&str] = &["changelog", "announcement", "maintenance"];

/// Opens the composer and submits the modal; returns (preview response, modal custom id).
pub async fn compose(
    fake: &FakeDiscord,
    id: u64,
    category: &str,
    schedule: Option<&str>,
    fields: &[(&str, &str)],
) -> Value {
    let mut options = vec![("category", json!(category_index(category)))];
    if let Some(schedule) = schedule {
        options.push(("schedule", json!(schedule)));
    }
    let opened = slash(
        fake,
        id,
        &format!("compose-{id}"),
        DEVELOPER,
        &["admin", "broadcast", "new"],
        options,
    )
    .await;
    assert_eq!(opened["type"], MODAL, "a modal: {opened}");
    let modal_id = opened["data"]["custom_id"].as_str().unwrap().to_owned();
    assert!(opened["data"]["title"].as_str().unwrap().chars().count() <= 45);
    let token = format!("submit-{id}");
    let submit = fixtures::modal_submit(
        id + 1,
        &token,
        Some(ADMIN_GUILD),
        DEVELOPER,
        &modal_id,
        fields,
    );
    fake.dispatch_for_guild(ADMIN_GUILD, "INTERACTION_CREATE", submit);
    fake.wait_for_callback(&token, WAIT).await
}

/// poise sends choice parameters as their index.
pub fn category_index(category: &str) -> u64 {
    ALL.iter().position(|c| *c == category).unwrap() as u64
}

pub fn button_id(message: &Value, label: &str) -> String {
    message["data"]["components"][0]["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["label"] == label)
        .unwrap_or_else(|| panic!("a {label} button in {message}"))["custom_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

pub fn draft_id(preview: &Value) -> i64 {
    let content = preview["data"]["content"].as_str().unwrap();
    content
        .trim_start_matches("Draft #")
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// A delivery worker of its own (its own `bot_instances` row), sending to the
/// fake, for tests that step the queue with `deliver_once` instead of
/// waiting out the bot's poll.
pub async fn worker(fake: &FakeDiscord, db: &TestDb) -> BroadcastWorker {
    let http = HttpBuilder::new(TOKEN)
        .proxy(fake.base_url())
        .ratelimiter_disabled(true)
        .build();
    let host = "test-worker";
    let instance = instances::register(&db.pool, host, std::process::id(), "test", Utc::now())
        .await
        .unwrap();
    BroadcastWorker::new(
        db.pool.clone(),
        Arc::new(http),
        instance,
        host.to_owned(),
        50,
    )
}
