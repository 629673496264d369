//! Buttons that survive a deploy: every control of the panel is answered
//! from its signed custom id and the database, by any process, also after a
//! restart; and a forged or expired id is refused with nothing changed.

mod forged;
mod panics;
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

#[tokio::test]
async fn processes_starting_together_agree_on_one_control_key() {
    // The first processes of a new deployment start at once: each asks for
    // the key while another creates it. Every one must get that one key.
    let db = TestDb::new().await;
    let pools: Vec<sqlx::PgPool> = (0..8)
        .map(|_| {
            sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .connect_lazy(&db.url)
                .unwrap()
        })
        .collect();
    let keys =
        futures_util::future::join_all(pools.iter().map(admin_panel::store::views::control_key))
            .await;
    let keys: Vec<Vec<u8>> = keys
        .into_iter()
        .map(|key| key.expect("every process reads the key"))
        .collect();
    assert_eq!(keys[0].len(), 32);
    assert!(keys.iter().all(|key| *key == keys[0]), "one key for all");
}
