//! Why the bot fails in one server (issue 39, item 4): `/admin server` says
//! whether the bot can post in the broadcast channel (from the permission
//! snapshot, naming what is missing), which shard holds the server and
//! whether it is connected, and whether the server or its owner is blocked.

use serde_json::{Value, json};

use super::{SERVER, WAIT, admin};
use crate::support::bot::{DEVELOPER, eventually, start_on};
use crate::support::db::TestDb;
use crate::support::fixtures;

const VIEW: u64 = 1 << 10;
const SEND: u64 = 1 << 11;
const EMBED: u64 = 1 << 14;
const CHANNEL: u64 = SERVER + 1;
const BOT_ROLE: u64 = SERVER + 2;
const OWNER: u64 = 200_000_000_000_000_444;

fn reach(view: &Value) -> String {
    view["data"]["embeds"][0]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|field| field["name"] == "Can the bot work here?")
        .map(|field| field["value"].as_str().unwrap().to_owned())
        .unwrap_or_else(|| panic!("no reach field in {view}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_view_says_what_is_missing_the_shard_and_the_blocklist() {
    let db = TestDb::new().await;
    sqlx::query("INSERT INTO guilds (id, name, member_count, joined_at) VALUES ($1, 'Chess Club', 10, now())")
        .bind(SERVER as i64)
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO guild_settings (guild_id, broadcast_channel_id) VALUES ($1, $2)")
        .bind(SERVER as i64)
        .bind(CHANNEL as i64)
        .execute(&db.pool)
        .await
        .unwrap();
    let (fake, bot) = start_on(&db).await;
    let server = SERVER.to_string();

    // The broadcast channel denies the bot's role Send Messages.
    let deny =
        json!([{ "id": BOT_ROLE.to_string(), "type": 0, "allow": "0", "deny": SEND.to_string() }]);
    let mut create = fixtures::guild_with_bot(
        SERVER,
        VIEW,
        BOT_ROLE,
        SEND | EMBED,
        vec![fixtures::guild_channel(CHANNEL, SERVER, 0, deny)],
    );
    create["owner_id"] = json!(OWNER.to_string());
    fake.join_guilds([SERVER]);
    fake.dispatch_for_guild(SERVER, "GUILD_CREATE", create);
    eventually("the snapshot kept", WAIT, || async {
        let kept: i64 =
            sqlx::query_scalar("SELECT count(*) FROM channel_permissions WHERE channel_id = $1")
                .bind(CHANNEL as i64)
                .fetch_one(&db.pool)
                .await
                .unwrap();
        (kept == 1).then_some(())
    })
    .await;

    let view = admin(
        &fake,
        "view-1",
        DEVELOPER,
        &["server"],
        &[("guild", &server)],
    )
    .await;
    let text = reach(&view);
    assert!(
        text.contains(&format!(
            "Broadcasts: ❌ missing permission: Send Messages in #channel{CHANNEL}"
        )),
        "{text}"
    );
    assert!(text.contains("Shard 0 of 1, held by `"), "{text}");
    assert!(text.contains(": ✅ connected"), "{text}");
    assert!(
        text.contains(&format!(
            "Blocklist: this server is not blocked; its owner <@{OWNER}> is not blocked"
        )),
        "{text}"
    );

    // The owner is blocked, and the channel allowed again.
    let owner = OWNER.to_string();
    crate::support::interact::slash(
        &fake,
        77,
        "block-owner",
        DEVELOPER,
        &["admin", "blocklist", "add"],
        vec![
            ("kind", json!(1)),
            ("id", json!(owner)),
            ("reason", json!("Raids")),
        ],
    )
    .await;
    fake.dispatch_for_guild(
        SERVER,
        "CHANNEL_UPDATE",
        fixtures::guild_channel(CHANNEL, SERVER, 0, json!([])),
    );
    let text = eventually("the channel allowed again", WAIT, || async {
        let view = admin(
            &fake,
            &format!("view-{}", rand::random::<u32>()),
            DEVELOPER,
            &["server"],
            &[("guild", &server)],
        )
        .await;
        let text = reach(&view);
        text.contains(&format!("✅ can post in <#{CHANNEL}>"))
            .then_some(text)
    })
    .await;
    assert!(
        text.contains(&format!("⛔ its owner <@{OWNER}> is blocked")),
        "{text}"
    );
    fake.assert_no_spec_violations();
    bot.stop().await;
}
