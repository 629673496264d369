//! Driving the bot like a Discord client: run a slash command, press a button
//! or pick from a menu on a message the bot sent, and wait for the answer.

use std::time::Duration;

use serde_json::{Value, json};

use super::bot::{ADMIN_GUILD, DEVELOPER};
use super::discord::STRING_SELECT;
use super::fake_discord::FakeDiscord;
use super::fixtures;

pub const WAIT: Duration = Duration::from_secs(10);

/// Runs `/path...` with `options` in the admin guild; returns the first response.
/// Interactions go to the shard that owns the admin guild, as on Discord.
pub async fn slash(
    fake: &FakeDiscord,
    id: u64,
    token: &str,
    user: u64,
    path: &[&str],
    options: Vec<(&str, Value)>,
) -> Value {
    let interaction = fixtures::slash_command(id, token, Some(ADMIN_GUILD), user, path, options);
    fake.dispatch_for_guild(ADMIN_GUILD, "INTERACTION_CREATE", interaction);
    fake.wait_for_callback(token, WAIT).await
}

/// Presses `custom_id` on the message the interaction `message_token` answered
/// with; `values` makes it a select-menu pick.
pub async fn press(
    fake: &FakeDiscord,
    message_token: &str,
    token: &str,
    user: u64,
    custom_id: &str,
    values: Option<Vec<&str>>,
) -> Value {
    // The fake records a callback before it has stored the message it
    // creates, so a press right after the callback may have to wait a moment.
    let message = super::bot::eventually("the message to press on", WAIT, || async {
        fake.original_response(message_token)
    })
    .await;
    let mut interaction = fixtures::button_press(
        rand::random::<u32>() as u64 + 1,
        token,
        Some(ADMIN_GUILD),
        user,
        custom_id,
        message,
    );
    if let Some(values) = values {
        interaction["data"] =
            json!({ "custom_id": custom_id, "component_type": STRING_SELECT, "values": values });
    }
    fake.dispatch_for_guild(ADMIN_GUILD, "INTERACTION_CREATE", interaction);
    fake.wait_for_callback(token, WAIT).await
}

/// The files attached to the first response to `token`.
pub fn attachments(fake: &FakeDiscord, token: &str) -> Vec<(String, Vec<u8>)> {
    fake.interaction_responses(token)
        .into_iter()
        .flat_map(|request| request.attachments)
        .collect()
}

/// Waits until the bot lets `user` into `/admin` (`developer`) or refuses
/// them. A change made straight in the `developers` table reaches every bot
/// process by NOTIFY within milliseconds, not at once: tests that make one
/// wait here before relying on it. Each probe is a `/admin developers list`.
pub async fn wait_for_access(fake: &FakeDiscord, user: u64, developer: bool) {
    super::bot::eventually("the developer change to reach the bot", WAIT, || async {
        let probe: u64 = rand::random::<u32>().into();
        let token = format!("access-probe-{probe}");
        let reply = slash(
            fake,
            probe,
            &token,
            user,
            &["admin", "developers", "list"],
            vec![],
        )
        .await;
        let refused = reply["data"]["content"] == admin_panel::access::REFUSAL;
        (refused != developer).then_some(())
    })
    .await;
}

/// The custom id of the component labelled `label` (a button's label, or a
/// select menu's placeholder) in a message or an interaction response.
/// Custom ids are signed per draw, so tests find them as a user would: by
/// what the control says.
pub fn control(message: &Value, label: &str) -> String {
    let message = if message.get("data").is_some() {
        &message["data"]
    } else {
        message
    };
    message["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().into_iter().flatten())
        .find(|component| component["label"] == label || component["placeholder"] == label)
        .and_then(|component| component["custom_id"].as_str())
        .unwrap_or_else(|| panic!("no control labelled {label:?} in {message}"))
        .to_owned()
}

/// Submits the modal `modal_id` with `fields`; `message` is the message the
/// modal was opened from (a button's modal), if any.
pub async fn submit(
    fake: &FakeDiscord,
    token: &str,
    user: u64,
    modal_id: &str,
    fields: &[(&str, &str)],
    message: Option<Value>,
) -> Value {
    let id: u64 = rand::random::<u32>().into();
    let mut interaction =
        fixtures::modal_submit(id + 1, token, Some(ADMIN_GUILD), user, modal_id, fields);
    if let Some(message) = message {
        interaction["message"] = message;
    }
    fake.dispatch_for_guild(ADMIN_GUILD, "INTERACTION_CREATE", interaction);
    fake.wait_for_callback(token, WAIT).await
}

/// `/admin stats` as the primary developer, sent on the gateway now (it
/// waits behind whatever was dispatched before it); how long its first
/// response took. `id` names the interaction and its token.
pub async fn stats_reply_time(fake: &FakeDiscord, id: u64) -> Duration {
    let token = format!("stats-{id}");
    let interaction = fixtures::slash_command(
        id,
        &token,
        Some(ADMIN_GUILD),
        DEVELOPER,
        &["admin", "stats"],
        vec![],
    );
    let started = std::time::Instant::now();
    fake.dispatch_for_guild(ADMIN_GUILD, "INTERACTION_CREATE", interaction);
    let response = fake
        .wait_for_callback(&token, Duration::from_secs(30))
        .await;
    let took = started.elapsed();
    assert_eq!(
        response["data"]["embeds"][0]["title"], "Bot statistics",
        "{response}"
    );
    took
}
