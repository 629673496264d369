//! Alerts (issue 17, part 2): `/admin alerts` and the background evaluator,
//! against real PostgreSQL and the fake Discord. Conditions are made real in
//! the database (error entries, `guild_leave` entries, broadcast deliveries),
//! and "later" is made by moving the entries back in time.

mod commands;
mod evaluator;
mod webhook;

use std::sync::Arc;

use admin_panel::alerts::AlertEvaluator;
use admin_panel::config::AlertConfig;
use admin_panel::{AdminPanel, BackgroundTasks, PanelOptions};
use serde_json::{Value, json};
use serenity::all::UserId;

use crate::support::bot::{ADMIN_GUILD, DEVELOPER, TOKEN, TestBot, start_with_admin_guild};
use crate::support::db::TestDb;
use crate::support::fake_discord::FakeDiscord;
use crate::support::fixtures;
use crate::support::interact::WAIT;

/// Where alerts go in these tests, in the admin guild.
pub const ALERT_CHANNEL: u64 = 740_000_000_000_000_001;
/// A channel where the bot lacks Send Messages.
pub const NO_SEND: u64 = 740_000_000_000_000_002;
/// View Channel | Send Messages | Embed Links.
const BOT_PERMISSIONS: u64 = 1024 | 2048 | 16384;

/// Ticks every 200 ms; a burst is 10 errors of one type within 5 minutes.
pub const FAST: [(&str, &str); 3] = [
    ("ALERT_INTERVAL", "200ms"),
    ("ALERT_ERROR_COUNT", "10"),
    ("ALERT_ERROR_WINDOW", "5m"),
];

pub fn admin_guild_channels(fake: &FakeDiscord) {
    fake.add_guild(fixtures::partial_guild(ADMIN_GUILD, 0, BOT_PERMISSIONS));
    fake.add_member(ADMIN_GUILD, fixtures::bot_member(ADMIN_GUILD));
    fake.add_channel(fixtures::guild_channel(
        ALERT_CHANNEL,
        ADMIN_GUILD,
        0,
        json!([]),
    ));
    let deny_send =
        json!([{ "id": (ADMIN_GUILD + 1).to_string(), "type": 0, "allow": "0", "deny": "2048" }]);
    fake.add_channel(fixtures::guild_channel(NO_SEND, ADMIN_GUILD, 0, deny_send));
}

/// The reference bot with fast alerts (`extra` adds variables) and the
/// admin guild's channels.
pub async fn start(extra: &[(&str, &str)]) -> (FakeDiscord, TestDb, TestBot) {
    let mut vars = FAST.to_vec();
    vars.extend_from_slice(extra);
    let (fake, db, bot) = start_with_admin_guild(&vars).await;
    admin_guild_channels(&fake);
    (fake, db, bot)
}

/// Runs `/admin alerts <path> ...` as `user`; returns the first response.
pub async fn alerts_command(
    fake: &FakeDiscord,
    user: u64,
    sub: &str,
    options: Vec<(&str, Value)>,
    channel: Option<u64>,
) -> Value {
    let token = format!("alerts-{sub}-{}", rand::random::<u32>());
    let mut interaction = fixtures::slash_command(
        rand::random::<u32>() as u64 + 1,
        &token,
        Some(ADMIN_GUILD),
        user,
        &["admin", "alerts", sub],
        options,
    );
    if let Some(channel) = channel {
        interaction = fixtures::with_channel_option(interaction, "channel", channel, 0);
    }
    fake.dispatch_for_guild(ADMIN_GUILD, "INTERACTION_CREATE", interaction);
    let callback = fake.wait_for_callback(&token, WAIT).await;
    if callback["type"] != 5 {
        return callback;
    }
    // Deferred: the answer is the follow-up.
    let follow_up = fake
        .wait_for_request("the follow-up", WAIT, |r| {
            r.method == "POST" && r.path.ends_with(&format!("/{token}"))
        })
        .await;
    json!({ "type": 4, "data": follow_up.body.unwrap() })
}

pub fn content(response: &Value) -> String {
    response["data"]["content"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// `count` error entries of `event_type`, as the log layer writes them.
pub async fn errors(db: &TestDb, event_type: &str, count: i64) {
    sqlx::query(
        "INSERT INTO system_logs (severity, event_type, message)
         SELECT 'error', $1, '/admin stats failed (error id ' || i || '): boom'
           FROM generate_series(1, $2) AS i",
    )
    .bind(event_type)
    .bind(count)
    .execute(&db.pool)
    .await
    .unwrap();
}

/// Moves every log entry an hour back: the burst is over.
pub async fn an_hour_later(db: &TestDb) {
    sqlx::query("UPDATE system_logs SET created_at = created_at - interval '1 hour'")
        .execute(&db.pool)
        .await
        .unwrap();
}

/// Alert messages in the alert channel (or `messages`) for `key`.
pub fn with_key(messages: &[Value], key: &str) -> Vec<Value> {
    let footer = format!("alert key: {key} ");
    messages
        .iter()
        .filter(|m| {
            m["embeds"][0]["footer"]["text"]
                .as_str()
                .is_some_and(|text| text.starts_with(&footer))
        })
        .cloned()
        .collect()
}

pub fn title(message: &Value) -> String {
    message["embeds"][0]["title"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Waits until the alert channel has `n` messages for `key`; returns them.
pub async fn wait_for_alerts(fake: &FakeDiscord, key: &str, n: usize) -> Vec<Value> {
    crate::support::bot::eventually(&format!("{n} alert(s) for {key}"), WAIT, || async {
        let found = with_key(&fake.messages_in(ALERT_CHANNEL), key);
        (found.len() >= n).then_some(found)
    })
    .await
}

/// A bot process's panel without Discord (its tasks stopped by dropping
/// them), for driving evaluators by hand.
pub async fn panel(db: &TestDb, config: AlertConfig) -> (AdminPanel, BackgroundTasks) {
    let mut options = PanelOptions::new(UserId::new(DEVELOPER));
    options.alerts = config;
    AdminPanel::start(db.pool.clone(), options)
        .await
        .expect("the panel starts")
}

/// An evaluator of `panel` sending to `fake`.
pub fn evaluator(panel: &AdminPanel, fake: &FakeDiscord) -> AlertEvaluator {
    let http = serenity::http::HttpBuilder::new(TOKEN)
        .proxy(fake.base_url())
        .ratelimiter_disabled(true)
        .build();
    panel.alert_evaluator(Arc::new(http))
}

/// Waits until the bot's evaluator has seen the active alert `key` in `n`
/// more evaluations (each that sees it moves its `last_seen_at`): what it
/// would have sent by then, it has sent.
pub async fn evaluations_seeing(db: &TestDb, key: &str, n: usize) {
    let last_seen = || async {
        sqlx::query_scalar::<_, chrono::DateTime<chrono::Utc>>(
            "SELECT last_seen_at FROM alerts WHERE key = $1 AND state = 'active'",
        )
        .bind(key)
        .fetch_optional(&db.pool)
        .await
        .unwrap()
    };
    for _ in 0..n {
        let before = last_seen().await;
        crate::support::bot::eventually(&format!("an evaluation seeing {key}"), WAIT, || async {
            let now = last_seen().await;
            (now.is_some() && now > before).then_some(())
        })
        .await;
    }
}
