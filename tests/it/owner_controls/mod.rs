//! The controls bot owners ask for most (issue 39): leaving a server, a
//! blocklist, maintenance mode, and why the bot fails in one server.

mod blocklist;
mod leave;
mod maintenance;
mod why_not_here;

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::bot::{ADMIN_GUILD, TestBot, eventually, test_config};
use crate::support::db::TestDb;
use crate::support::fake_discord::FakeDiscord;
use crate::support::fixtures;
use crate::support::interact::{control, press, slash};

pub const WAIT: Duration = Duration::from_secs(10);
/// A server the bot is in, away from the admin guild.
pub const SERVER: u64 = 870_000_000_000_000_001;

/// What a response or message says.
pub fn content(response: &Value) -> String {
    response["data"]["content"]
        .as_str()
        .or_else(|| response["content"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// Puts the bot in `guild` (named `name`, with `members`), as Discord does,
/// and waits until it is counted.
pub async fn joined(fake: &FakeDiscord, db: &TestDb, guild: u64, name: &str, members: u64) {
    fake.join_guilds([guild]);
    fake.dispatch_for_guild(
        guild,
        "GUILD_CREATE",
        fixtures::guild_create(guild, name, members, None),
    );
    eventually("the server counted", WAIT, || async {
        let active: Option<bool> =
            sqlx::query_scalar("SELECT left_at IS NULL FROM guilds WHERE id = $1")
                .bind(guild as i64)
                .fetch_optional(&db.pool)
                .await
                .unwrap();
        (active == Some(true)).then_some(())
    })
    .await;
}

/// `/admin` `path` with string `options` by `user`; the first response.
pub async fn admin(
    fake: &FakeDiscord,
    token: &str,
    user: u64,
    path: &[&str],
    options: &[(&str, &str)],
) -> Value {
    let mut full = vec!["admin"];
    full.extend_from_slice(path);
    let options = options
        .iter()
        .map(|(name, value)| (*name, json!(value)))
        .collect();
    let id: u64 = rand::random::<u32>().into();
    slash(fake, id + 1, token, user, &full, options).await
}

/// Presses the control labelled `label` on the reply to `message_token` as `user`.
pub async fn press_label(fake: &FakeDiscord, message_token: &str, user: u64, label: &str) -> Value {
    let message = eventually("the message to press on", WAIT, || async {
        fake.original_response(message_token)
    })
    .await;
    let custom_id = control(&message, label);
    let token = format!("press-{}", rand::random::<u32>());
    press(fake, message_token, &token, user, &custom_id, None).await
}

/// Log entries of `event_type`, oldest first.
pub async fn logged(db: &TestDb, event_type: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT message FROM system_logs WHERE event_type = $1 ORDER BY id")
        .bind(event_type)
        .fetch_all(&db.pool)
        .await
        .unwrap()
}

/// A command of `path` by `user` in `guild`; the first response.
async fn command_in(fake: &FakeDiscord, guild: u64, user: u64, path: &[&str]) -> Value {
    let token = format!("cmd-{}", rand::random::<u32>());
    let interaction = fixtures::slash_command(
        rand::random::<u32>() as u64 + 1,
        &token,
        Some(guild),
        user,
        path,
        vec![],
    );
    fake.dispatch_for_guild(guild, "INTERACTION_CREATE", interaction);
    fake.wait_for_callback(&token, WAIT).await
}

/// Two bot processes on one database, each with its own fake Discord.
pub async fn two_processes() -> (TestDb, (FakeDiscord, TestBot), (FakeDiscord, TestBot)) {
    let db = TestDb::new().await;
    let (fake_a, fake_b) = (FakeDiscord::start().await, FakeDiscord::start().await);
    let bot_a = TestBot::start(&fake_a, config(&fake_a, &db)).await;
    let bot_b = TestBot::start(&fake_b, config(&fake_b, &db)).await;
    (db, (fake_a, bot_a), (fake_b, bot_b))
}

/// The test configuration, with `/admin` in the admin guild.
pub fn config(fake: &FakeDiscord, db: &TestDb) -> admin_panel::config::Config {
    let admin_guild = ADMIN_GUILD.to_string();
    test_config(fake, db, &[("ADMIN_GUILD_IDS", admin_guild.as_str())])
}
