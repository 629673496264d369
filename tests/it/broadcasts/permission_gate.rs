//! Permissions known before sending (issue 37, item 3): a send, edit, recall
//! or test send to a channel where the permission snapshot (kept from the
//! gateway) says the bot lacks what the request needs makes no request; the
//! delivery fails with the missing permission, and the report groups these
//! apart from Discord's own refusals. A deleted channel is skipped and its
//! setting cleared; a 403 Discord still returns holds the channel back until
//! the next event about it.

use serde_json::{Value, json};
use serenity::all::Permissions;

use super::{count, send_announcement};
use crate::support::bot::{DEVELOPER, eventually, start_on};
use crate::support::broadcast::{ALL, channel, seed_guild};
use crate::support::db::TestDb;
use crate::support::fake_discord::{Failure, FakeDiscord};
use crate::support::fixtures::{self, BOT_USER_ID};
use crate::support::interact::{WAIT, control, press, slash};
use admin_panel::broadcast::gate::{self, Verdict};
use admin_panel::permissions::Need;
use admin_panel::store::broadcasts;

const VIEW: u64 = Permissions::VIEW_CHANNEL.bits();
const SEND: u64 = Permissions::SEND_MESSAGES.bits();
const EMBED: u64 = Permissions::EMBED_LINKS.bits();
const IN_THREADS: u64 = Permissions::SEND_MESSAGES_IN_THREADS.bits();

/// Servers whose channel is fine; a CHANNEL_UPDATE takes Send Messages from
/// the bot's role in the first [`LOST`] of them.
const SERVERS: i64 = 60;
const LOST: i64 = 20;
/// A role update takes Send Messages from the bot's role server-wide.
const ROLE_EDITED: i64 = 61;
/// A member overwrite takes View Channel from the bot itself.
const MEMBER_OVERWRITE: i64 = 62;
/// The bot is put in timeout.
const TIMED_OUT: i64 = 63;
/// The broadcast channel is a thread whose parent denies Send Messages in
/// Threads to the bot's role.
const THREADED: i64 = 64;
/// The broadcast channel is deleted.
const DELETED: i64 = 65;

fn bot_role(guild: i64) -> u64 {
    600_000_000 + guild as u64
}

fn parent(guild: i64) -> u64 {
    channel(guild) + 1_000_000
}

fn text_channel(guild: i64, id: u64, overwrites: Value) -> Value {
    fixtures::guild_channel(id, guild as u64, 0, overwrites)
}

fn deny_role(guild: i64, deny: u64) -> Value {
    json!([{ "id": bot_role(guild).to_string(), "type": 0, "allow": "0", "deny": deny.to_string() }])
}

/// GUILD_CREATE for `guild`: @everyone views, the bot's role sends with
/// embeds (and in threads), its broadcast channel is fine.
fn server(guild: i64) -> Value {
    let mut create = fixtures::guild_with_bot(
        guild as u64,
        VIEW,
        bot_role(guild),
        SEND | EMBED | IN_THREADS,
        vec![text_channel(guild, channel(guild), json!([]))],
    );
    if guild == THREADED {
        create["channels"] = json!([text_channel(guild, parent(guild), json!([]))]);
        create["threads"] = json!([fixtures::thread(
            channel(guild),
            guild as u64,
            parent(guild)
        )]);
    }
    create
}

/// POSTs to `guild`'s broadcast channel.
fn sends_to(fake: &FakeDiscord, guild: i64) -> usize {
    let path = format!("/api/v10/channels/{}/messages", channel(guild));
    fake.requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == path)
        .count()
}

/// What the gate says of every server now (those held back only).
async fn held_back(db: &TestDb, guilds: impl Iterator<Item = i64>) -> Vec<(u64, Verdict)> {
    let targets: Vec<(u64, u64)> = guilds.map(|g| (g as u64, channel(g))).collect();
    let verdicts = gate::verdicts(&db.pool, Need::PostEmbed, &targets)
        .await
        .unwrap();
    let mut held: Vec<(u64, Verdict)> = verdicts.into_iter().collect();
    held.sort_by_key(|(guild, _)| *guild);
    held
}

async fn seeded(guilds: impl Iterator<Item = i64>) -> TestDb {
    let db = TestDb::new().await;
    for guild in guilds {
        seed_guild(&db, guild, true, ALL).await;
    }
    db
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_request_goes_where_the_snapshot_says_the_bot_cannot_post() {
    let every = || 1..=DELETED;
    // The broadcast channels were set before this start: their snapshots
    // are kept from the first GUILD_CREATE.
    let db = seeded(every()).await;
    let (fake, bot) = start_on(&db).await;
    for guild in every() {
        fake.dispatch("GUILD_CREATE", server(guild)).await;
    }
    eventually("every snapshot", WAIT, || async {
        let kept = count(&db, "SELECT count(*) FROM channel_permissions").await;
        // Every broadcast channel, and the thread's parent.
        (kept == DELETED + 1).then_some(())
    })
    .await;
    assert!(held_back(&db, every()).await.is_empty(), "all allowed");

    for guild in 1..=LOST {
        let denied = text_channel(guild, channel(guild), deny_role(guild, SEND));
        fake.dispatch("CHANNEL_UPDATE", denied).await;
    }
    fake.dispatch(
        "GUILD_ROLE_UPDATE",
        fixtures::role_event(ROLE_EDITED as u64, bot_role(ROLE_EDITED), EMBED),
    )
    .await;
    let own = json!([{ "id": BOT_USER_ID.to_string(), "type": 1, "allow": "0", "deny": VIEW.to_string() }]);
    fake.dispatch(
        "CHANNEL_UPDATE",
        text_channel(MEMBER_OVERWRITE, channel(MEMBER_OVERWRITE), own),
    )
    .await;
    let until = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    fake.dispatch(
        "GUILD_MEMBER_UPDATE",
        fixtures::bot_member_update(TIMED_OUT as u64, &[bot_role(TIMED_OUT)], Some(&until)),
    )
    .await;
    fake.dispatch(
        "CHANNEL_UPDATE",
        text_channel(THREADED, parent(THREADED), deny_role(THREADED, IN_THREADS)),
    )
    .await;
    fake.dispatch(
        "CHANNEL_DELETE",
        text_channel(DELETED, channel(DELETED), json!([])),
    )
    .await;
    let held = eventually("every change kept", WAIT, || async {
        let held = held_back(&db, every()).await;
        (held.len() as i64 == LOST + 5).then_some(held)
    })
    .await;
    let reason = |guild: i64| {
        held.iter()
            .find(|(g, _)| *g == guild as u64)
            .and_then(|(_, verdict)| verdict.reason())
    };
    assert_eq!(
        reason(1).as_deref(),
        Some(
            format!(
                "missing permission: Send Messages in #channel{}",
                channel(1)
            )
            .as_str()
        )
    );
    assert!(
        reason(ROLE_EDITED)
            .unwrap()
            .contains(": Send Messages in #")
    );
    assert!(
        reason(MEMBER_OVERWRITE)
            .unwrap()
            .contains(": View Channel in #")
    );
    assert!(
        reason(TIMED_OUT).unwrap().contains(
            ": Send Messages (the bot is in timeout), Embed Links (the bot is in timeout) in #"
        ),
        "{:?}",
        reason(TIMED_OUT)
    );
    assert!(
        reason(THREADED)
            .unwrap()
            .contains(": Send Messages in Threads in #")
    );
    assert_eq!(reason(DELETED).as_deref(), Some("the channel was deleted"));

    let id = send_announcement(&fake, &db, 9701, "Known before sending").await;
    for guild in every() {
        let expected = usize::from(guild > LOST && guild <= SERVERS);
        assert_eq!(
            sends_to(&fake, guild),
            expected,
            "requests to server {guild}"
        );
    }
    let failures = broadcasts::failures(&db.pool, id).await.unwrap();
    let mut before: Vec<(String, i64)> = failures
        .iter()
        .filter(|group| group.before_sending)
        .map(|group| (group.error_message.clone(), group.count))
        .collect();
    before.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    assert_eq!(
        before,
        [
            ("missing permission: Send Messages".to_owned(), LOST + 1),
            (
                "missing permission: Send Messages (the bot is in timeout), Embed Links (the bot is in timeout)".to_owned(),
                1
            ),
            ("missing permission: Send Messages in Threads".to_owned(), 1),
            ("missing permission: View Channel".to_owned(), 1),
        ],
        "grouped by what is missing, not by channel"
    );
    assert!(failures.iter().all(|group| group.before_sending));
    assert_eq!(
        broadcasts::skipped(&db.pool, id).await.unwrap(),
        [("channel_deleted".to_owned(), 1)]
    );
    let setting: Option<i64> =
        sqlx::query_scalar("SELECT broadcast_channel_id FROM guild_settings WHERE guild_id = $1")
            .bind(DELETED)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(setting, None, "the deleted channel's setting is cleared");

    // The report shows them apart from Discord's refusals.
    let report = slash(
        &fake,
        9705,
        "report-9705",
        DEVELOPER,
        &["admin", "broadcast", "report"],
        vec![("id", json!(id))],
    )
    .await;
    let fields = report["data"]["embeds"][0]["fields"].as_array().unwrap();
    let field = |name: &str| {
        fields
            .iter()
            .find(|f| f["name"].as_str().unwrap().starts_with(name))
            .map(|f| f["value"].as_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("no {name} field in {fields:?}"))
    };
    let not_sent = field("Not sent: missing permissions");
    assert!(
        not_sent.contains(&format!("**{}** × Send Messages", LOST + 1)),
        "{not_sent}"
    );
    assert_eq!(field("Failures"), "None.");

    // A recall asks nothing of a channel the bot can no longer see.
    let sent: Vec<i64> = sqlx::query_scalar(
        "SELECT guild_id FROM broadcast_deliveries WHERE broadcast_id = $1 AND status = 'sent' ORDER BY guild_id",
    )
    .bind(id)
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let hidden = sent[0];
    let own = json!([{ "id": BOT_USER_ID.to_string(), "type": 1, "allow": "0", "deny": VIEW.to_string() }]);
    fake.dispatch("CHANNEL_UPDATE", text_channel(hidden, channel(hidden), own))
        .await;
    eventually("the hidden channel kept", WAIT, || async {
        let held = held_back(&db, std::iter::once(hidden)).await;
        (!held.is_empty()).then_some(())
    })
    .await;
    let question = slash(
        &fake,
        9707,
        "recall-9707",
        DEVELOPER,
        &["admin", "broadcast", "recall"],
        vec![("id", json!(id))],
    )
    .await;
    press(
        &fake,
        "recall-9707",
        "recall-9708",
        DEVELOPER,
        &control(&question, "Delete them"),
        None,
    )
    .await;
    let (status, missing): (String, Option<String>) =
        eventually("the hidden one's recall recorded", super::DELIVERY_WAIT, || async {
            sqlx::query_as::<_, (String, Option<String>)>(
                "SELECT status, missing_permission FROM broadcast_followup_targets WHERE guild_id = $1",
            )
            .bind(hidden)
            .fetch_optional(&db.pool)
            .await
            .unwrap()
            .filter(|(status, _)| status != "pending")
        })
        .await;
    assert_eq!(
        (status.as_str(), missing.as_deref()),
        ("failed", Some("View Channel"))
    );
    let deletes = fake
        .requests()
        .iter()
        .filter(|r| {
            r.method == "DELETE" && r.path.contains(&format!("/channels/{}/", channel(hidden)))
        })
        .count();
    assert_eq!(deletes, 0, "no request to the channel it cannot see");
    fake.assert_no_spec_violations();
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_403_holds_the_channel_back_until_the_next_event_about_it() {
    const REFUSING: i64 = 1;
    const FINE: i64 = 2;
    let db = seeded([REFUSING, FINE].into_iter()).await;
    let (fake, bot) = start_on(&db).await;
    for guild in [REFUSING, FINE] {
        fake.dispatch("GUILD_CREATE", server(guild)).await;
    }
    eventually("both snapshots", WAIT, || async {
        (count(&db, "SELECT count(*) FROM channel_permissions").await == 2).then_some(())
    })
    .await;
    // The snapshot allows it, but Discord refuses (an event was missed).
    fake.fail_route(
        "POST",
        &format!("/api/v10/channels/{}/messages", channel(REFUSING)),
        Failure::Status {
            status: 403,
            code: 50013,
            message: "Missing Permissions".into(),
        },
        None,
    );
    send_announcement(&fake, &db, 9721, "First").await;
    assert_eq!(sends_to(&fake, REFUSING), 1);

    let second = send_announcement(&fake, &db, 9731, "Second").await;
    assert_eq!(sends_to(&fake, REFUSING), 1, "no second request");
    let missing: Option<String> = sqlx::query_scalar(
        "SELECT missing_permission FROM broadcast_deliveries WHERE broadcast_id = $1 AND guild_id = $2",
    )
    .bind(second)
    .bind(REFUSING)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(missing.as_deref(), Some("refused by Discord earlier (403)"));

    // The server fixes the channel: the update clears the refusal.
    fake.clear_failures();
    fake.dispatch(
        "CHANNEL_UPDATE",
        text_channel(REFUSING, channel(REFUSING), json!([])),
    )
    .await;
    eventually("the refusal cleared", WAIT, || async {
        let refused = count(
            &db,
            "SELECT count(*) FROM channel_permissions WHERE refused_at IS NOT NULL",
        )
        .await;
        (refused == 0).then_some(())
    })
    .await;
    send_announcement(&fake, &db, 9741, "Third").await;
    assert_eq!(sends_to(&fake, REFUSING), 2);
    assert_eq!(fake.messages_in(channel(REFUSING)).len(), 1);
    assert_eq!(fake.messages_in(channel(FINE)).len(), 3);
    bot.stop().await;
}
