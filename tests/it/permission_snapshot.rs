//! The permission snapshot kept from gateway events (issue "Permissions
//! known before sending", item 1): what GUILD_CREATE, role, channel, thread
//! and the bot's own member updates say is stored, for the broadcast and
//! system channels only, and read back into Discord's verdict by any
//! process.

use std::time::Duration;

use admin_panel::permissions::snapshot::{facts_of, member_of};
use admin_panel::permissions::{Need, missing};
use admin_panel::store::permission_snapshots;
use serde_json::{Value, json};
use serenity::all::Permissions;

use crate::support::bot::{eventually, start_on as start};
use crate::support::broadcast::{channel, seed_guild};
use crate::support::db::TestDb;
use crate::support::fake_discord::FakeDiscord;
use crate::support::fixtures::{self, BOT_USER_ID};

const WAIT: Duration = Duration::from_secs(10);
const GUILD: u64 = 830_000_000_000_000_001;
/// A server whose broadcast channel is a thread.
const THREADED: u64 = 830_000_000_000_000_002;
const BOT_ROLE: u64 = 830_000_000_000_100_001;
const SYSTEM: u64 = 830_000_000_000_200_001;
const OTHER: u64 = 830_000_000_000_200_002;
const PARENT: u64 = 830_000_000_000_200_003;

const VIEW: u64 = Permissions::VIEW_CHANNEL.bits();
const SEND: u64 = Permissions::SEND_MESSAGES.bits();
const EMBED: u64 = Permissions::EMBED_LINKS.bits();
const IN_THREADS: u64 = Permissions::SEND_MESSAGES_IN_THREADS.bits();

/// What the stored snapshot says the bot lacks to post a broadcast in
/// `channel`; `None` without a snapshot (or for a deleted channel).
async fn verdict(db: &TestDb, guild: u64, channel: u64) -> Option<Vec<String>> {
    let server = permission_snapshots::server(&db.pool, guild)
        .await
        .unwrap()?;
    let (snapshot, deleted) = permission_snapshots::channel(&db.pool, channel)
        .await
        .unwrap()?;
    if deleted {
        return None;
    }
    let parent = match snapshot.parent_id {
        Some(parent) => permission_snapshots::channel(&db.pool, parent)
            .await
            .unwrap()
            .map(|(parent, _)| parent),
        None => None,
    };
    let member = member_of(&server, guild)?;
    let facts = facts_of(&snapshot, parent.as_ref());
    Some(missing(
        &member,
        &facts,
        Need::PostEmbed,
        chrono::Utc::now(),
    ))
}

async fn verdict_becomes(db: &TestDb, guild: u64, channel: u64, expected: &[&str]) {
    let what = format!("the verdict for {channel} to become {expected:?}");
    eventually(&what, WAIT, || async {
        let now = verdict(db, guild, channel).await;
        (now.as_deref() == Some(&expected.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()))
            .then_some(())
    })
    .await;
}

/// A server where @everyone may view, the bot's role may send with embeds,
/// `broadcast` is (or is in) its broadcast channel, and `SYSTEM + n` its
/// system channel.
fn server(id: u64, channels: Vec<Value>, threads: Vec<Value>) -> Value {
    let mut guild = fixtures::guild_create(id, "Snapshot", 10, None);
    guild["roles"] = json!([
        fixtures::role(id, "@everyone", VIEW),
        fixtures::role(BOT_ROLE, "Bot", SEND | EMBED | IN_THREADS),
        fixtures::role(BOT_ROLE + 1, "Cosmetic", 0),
    ]);
    guild["members"] = json!([fixtures::bot_member_with(&[BOT_ROLE])]);
    guild["channels"] = json!(channels);
    guild["threads"] = json!(threads);
    guild
}

async fn update_channel(fake: &FakeDiscord, guild: u64, channel: u64, overwrites: Value) {
    let channel = fixtures::guild_channel(channel, guild, 0, overwrites);
    fake.dispatch("CHANNEL_UPDATE", channel).await;
}

async fn deletion_kept(db: &TestDb, channel: u64) {
    eventually("the deletion kept", WAIT, || async {
        let kept = permission_snapshots::channel(&db.pool, channel)
            .await
            .unwrap();
        kept.filter(|(_, deleted)| *deleted)
    })
    .await;
}

fn overwrite(kind: u8, id: u64, allow: u64, deny: u64) -> Value {
    json!({ "id": id.to_string(), "type": kind, "allow": allow.to_string(), "deny": deny.to_string() })
}

async fn stored_channels(db: &TestDb) -> Vec<i64> {
    sqlx::query_scalar("SELECT channel_id FROM channel_permissions ORDER BY channel_id")
        .fetch_all(&db.pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_that_moves_the_bots_permissions_is_kept() {
    let db = TestDb::new().await;
    // The broadcast channel was set before this start: the handler keeps it.
    seed_guild(&db, GUILD as i64, true, &[]).await;
    let broadcast = channel(GUILD as i64);
    let (fake, bot) = start(&db).await;

    let mut system = fixtures::guild_channel(SYSTEM, GUILD, 0, json!([]));
    system["name"] = json!("welcome");
    let mut create = server(
        GUILD,
        vec![
            fixtures::guild_channel(broadcast, GUILD, 0, json!([])),
            system,
            fixtures::guild_channel(OTHER, GUILD, 0, json!([])),
        ],
        vec![],
    );
    create["system_channel_id"] = json!(SYSTEM.to_string());
    fake.dispatch("GUILD_CREATE", create).await;
    verdict_becomes(&db, GUILD, broadcast, &[]).await;
    assert_eq!(
        stored_channels(&db).await,
        [SYSTEM as i64, broadcast as i64],
        "only the broadcast and system channels are kept, not every channel"
    );
    let roles: Value = sqlx::query_scalar("SELECT role_permissions FROM guilds WHERE id = $1")
        .bind(GUILD as i64)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        roles,
        json!({ BOT_ROLE.to_string(): SEND | EMBED | IN_THREADS }),
        "a role granting nothing that matters is left out"
    );

    // A channel overwrite takes Send Messages from the bot's role.
    let denied = json!([overwrite(0, BOT_ROLE, 0, SEND)]);
    update_channel(&fake, GUILD, broadcast, denied).await;
    verdict_becomes(&db, GUILD, broadcast, &["Send Messages"]).await;
    // Another channel's overwrites are not the panel's concern.
    update_channel(&fake, GUILD, OTHER, json!([overwrite(0, GUILD, 0, VIEW)])).await;

    // A member overwrite for the bot itself, over its role's.
    let member_overwrite = json!([
        overwrite(0, BOT_ROLE, 0, SEND),
        overwrite(1, BOT_USER_ID, SEND, VIEW)
    ]);
    update_channel(&fake, GUILD, broadcast, member_overwrite).await;
    verdict_becomes(&db, GUILD, broadcast, &["View Channel"]).await;
    update_channel(&fake, GUILD, broadcast, json!([])).await;
    verdict_becomes(&db, GUILD, broadcast, &[]).await;
    assert_eq!(stored_channels(&db).await.len(), 2, "{OTHER} was not kept");

    // A role update takes Embed Links server-wide, then gives it back.
    fake.dispatch(
        "GUILD_ROLE_UPDATE",
        fixtures::role_event(GUILD, BOT_ROLE, SEND | IN_THREADS),
    )
    .await;
    verdict_becomes(&db, GUILD, broadcast, &["Embed Links"]).await;
    verdict_becomes(&db, GUILD, SYSTEM, &["Embed Links"]).await;
    fake.dispatch(
        "GUILD_ROLE_UPDATE",
        fixtures::role_event(GUILD, BOT_ROLE, SEND | EMBED),
    )
    .await;
    verdict_becomes(&db, GUILD, broadcast, &[]).await;

    // The bot is put in timeout, then taken out of it.
    let until = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    fake.dispatch(
        "GUILD_MEMBER_UPDATE",
        fixtures::bot_member_update(GUILD, &[BOT_ROLE], Some(&until)),
    )
    .await;
    verdict_becomes(
        &db,
        GUILD,
        broadcast,
        &[
            "Send Messages (the bot is in timeout)",
            "Embed Links (the bot is in timeout)",
        ],
    )
    .await;
    // It loses its role: nothing grants Send Messages any more.
    fake.dispatch(
        "GUILD_MEMBER_UPDATE",
        fixtures::bot_member_update(GUILD, &[], None),
    )
    .await;
    verdict_becomes(&db, GUILD, broadcast, &["Send Messages", "Embed Links"]).await;
    fake.dispatch(
        "GUILD_MEMBER_UPDATE",
        fixtures::bot_member_update(GUILD, &[BOT_ROLE], None),
    )
    .await;
    verdict_becomes(&db, GUILD, broadcast, &[]).await;
    // The role is deleted.
    fake.dispatch("GUILD_ROLE_DELETE", fixtures::role_delete(GUILD, BOT_ROLE))
        .await;
    verdict_becomes(&db, GUILD, broadcast, &["Send Messages", "Embed Links"]).await;

    // @everyone gains what the role gave (GUILD_UPDATE lists every role).
    let mut update = fixtures::guild_update(GUILD, "Snapshot", None);
    update["roles"] = json!([fixtures::role(GUILD, "@everyone", VIEW | SEND | EMBED)]);
    fake.dispatch("GUILD_UPDATE", update).await;
    verdict_becomes(&db, GUILD, broadcast, &[]).await;

    // The channel is deleted.
    fake.dispatch(
        "CHANNEL_DELETE",
        fixtures::guild_channel(broadcast, GUILD, 0, json!([])),
    )
    .await;
    deletion_kept(&db, broadcast).await;

    // The bot leaves: the snapshot goes with it.
    fake.dispatch("GUILD_DELETE", fixtures::guild_delete(GUILD, false))
        .await;
    eventually("the snapshot forgotten", WAIT, || async {
        let server = permission_snapshots::server(&db.pool, GUILD).await.unwrap();
        (server.is_none() && stored_channels(&db).await.is_empty()).then_some(())
    })
    .await;
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thread_is_judged_by_its_parents_overwrites() {
    let db = TestDb::new().await;
    seed_guild(&db, THREADED as i64, true, &[]).await;
    let thread = channel(THREADED as i64);
    let (fake, bot) = start(&db).await;

    fake.dispatch(
        "GUILD_CREATE",
        server(
            THREADED,
            vec![fixtures::guild_channel(PARENT, THREADED, 0, json!([]))],
            vec![fixtures::thread(thread, THREADED, PARENT)],
        ),
    )
    .await;
    verdict_becomes(&db, THREADED, thread, &[]).await;
    assert_eq!(stored_channels(&db).await, [PARENT as i64, thread as i64]);

    // The parent takes Send Messages in Threads from the bot's role.
    let denied = json!([overwrite(0, BOT_ROLE, 0, IN_THREADS)]);
    update_channel(&fake, THREADED, PARENT, denied).await;
    verdict_becomes(&db, THREADED, thread, &["Send Messages in Threads"]).await;

    fake.dispatch(
        "THREAD_DELETE",
        json!({
            "id": thread.to_string(), "guild_id": THREADED.to_string(),
            "parent_id": PARENT.to_string(), "type": 11,
        }),
    )
    .await;
    deletion_kept(&db, thread).await;
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_channel_gone_while_the_bot_was_away_is_marked_deleted() {
    let db = TestDb::new().await;
    seed_guild(&db, GUILD as i64, true, &[]).await;
    let broadcast = channel(GUILD as i64);
    // Kept from an earlier start.
    sqlx::query(
        "INSERT INTO channel_permissions (channel_id, guild_id, name, kind, overwrites) VALUES ($1, $2, 'news', 0, '{}')",
    )
    .bind(broadcast as i64)
    .bind(GUILD as i64)
    .execute(&db.pool)
    .await
    .unwrap();
    let (fake, bot) = start(&db).await;
    fake.dispatch("GUILD_CREATE", server(GUILD, vec![], vec![]))
        .await;
    deletion_kept(&db, broadcast).await;
    bot.stop().await;
}
