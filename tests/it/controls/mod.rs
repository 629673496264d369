//! Buttons that survive a deploy: every control of the panel is answered
//! from its signed custom id and the database, by any process, also after a
//! restart; and a forged or expired id is refused with nothing changed.

mod forged;
mod restart;

use crate::support::bot::{ADMIN_GUILD, TestBot, test_config};
use crate::support::db::TestDb;
use crate::support::fake_discord::FakeDiscord;

/// A fake Discord, a database with `guilds` servers, and a bot.
pub async fn bot_with_servers(
    guilds: i64,
    extra: &[(&str, &str)],
) -> (FakeDiscord, TestDb, TestBot) {
    let fake = FakeDiscord::start().await;
    let db = TestDb::new().await;
    sqlx::query(
        "INSERT INTO guilds (id, name, member_count, joined_at)
         SELECT i, 'Server ' || lpad(i::text, 2, '0'), 1000 + i, now() - i * interval '1 day'
           FROM generate_series(1, $1) AS i",
    )
    .bind(guilds)
    .execute(&db.pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO guild_settings (guild_id) SELECT id FROM guilds")
        .execute(&db.pool)
        .await
        .unwrap();
    fake.join_guilds(1..=guilds as u64);
    let bot = TestBot::start(&fake, config(&fake, &db, extra)).await;
    (fake, db, bot)
}

pub fn config(
    fake: &FakeDiscord,
    db: &TestDb,
    extra: &[(&str, &str)],
) -> admin_panel::config::Config {
    let admin_guild = ADMIN_GUILD.to_string();
    let mut vars = vec![("ADMIN_GUILD_IDS", admin_guild.as_str())];
    vars.extend_from_slice(extra);
    test_config(fake, db, &vars)
}

/// The footer of a message's first embed ("... page x of y").
pub fn footer(message: &serde_json::Value) -> String {
    let message = if message.get("data").is_some() {
        &message["data"]
    } else {
        message
    };
    message["embeds"][0]["footer"]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}
