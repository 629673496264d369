//! The secure pager, `/admin servers` and `/admin server`, against the fake
//! Discord and a real database.

use crate::support::bot::{DEVELOPER, eventually, start_with_admin_guild};
use crate::support::db::TestDb;
use crate::support::discord::{CHANNEL_MESSAGE_WITH_SOURCE, EPHEMERAL, UPDATE_MESSAGE};
use crate::support::interact::{WAIT, control, press, slash, wait_for_access};
use admin_panel::admin::pager::{Page, PageAt};
use admin_panel::admin::servers::{ServerList, ServerListArgs};
use admin_panel::store::developers;
use admin_panel::store::servers::ServerSort;
use serde_json::{Value, json};

const STRANGER: u64 = 200_000_000_000_000_999;

/// Seeds `n` active servers "Server 01".. with 1000+i members, plus one that left.
async fn seed(db: &TestDb, n: i64) {
    sqlx::query(
        "INSERT INTO guilds (id, name, member_count, joined_at)
         SELECT i, 'Server ' || lpad(i::text, 2, '0'), 1000 + i, now() - i * interval '1 day'
           FROM generate_series(1, $1) AS i",
    )
    .bind(n)
    .execute(&db.pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO guild_settings (guild_id) SELECT id FROM guilds")
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO guilds (id, name, member_count, joined_at, left_at) VALUES (999, 'Gone', 5, now(), now())")
        .execute(&db.pool)
        .await
        .unwrap();
}

fn ids(page: &Page) -> Vec<i64> {
    page.items
        .iter()
        .map(|item| item.value.parse().unwrap())
        .collect()
}

/// Reads a page of the list as the pager's buttons ask for it.
async fn load(db: &TestDb, sort: ServerSort, search: Option<&str>, at: PageAt) -> Page {
    let args = ServerListArgs {
        sort,
        search: search.map(str::to_owned),
    };
    ServerList::load(&db.pool, &args, at).await.unwrap()
}

/// What the Next and Prev buttons under `page` ask for.
fn next(page: &Page) -> PageAt {
    PageAt::Index {
        index: page.index + 1,
        after: Some(page.last_key),
        before: None,
    }
}

fn previous(page: &Page) -> PageAt {
    PageAt::Index {
        index: page.index.saturating_sub(1),
        after: None,
        before: Some(page.first_key),
    }
}

#[tokio::test]
async fn the_server_list_walks_pages_forwards_backwards_and_to_the_end() {
    let db = TestDb::new().await;
    seed(&db, 25).await;
    let members = ServerSort::Members;

    let first = load(&db, members, None, PageAt::First).await;
    assert_eq!(
        ids(&first),
        (16..=25).rev().collect::<Vec<_>>(),
        "most members first"
    );
    let second = load(&db, members, None, next(&first)).await;
    assert_eq!(ids(&second), (6..=15).rev().collect::<Vec<_>>());
    let third = load(&db, members, None, next(&second)).await;
    assert_eq!(
        ids(&third),
        (1..=5).rev().collect::<Vec<_>>(),
        "the left server is not listed"
    );
    let past_the_end = load(&db, members, None, next(&third)).await;
    assert_eq!(
        ids(&past_the_end),
        (1..=5).rev().collect::<Vec<_>>(),
        "a page past the end is the last page"
    );
    let back = load(&db, members, None, previous(&third)).await;
    assert_eq!(ids(&back), (6..=15).rev().collect::<Vec<_>>());
    let last = load(&db, members, None, PageAt::Last).await;
    assert_eq!(ids(&last), (1..=5).rev().collect::<Vec<_>>());
    assert_eq!((last.index, last.count), (2, 3));
}

#[tokio::test]
async fn the_server_list_sorts_by_name_and_newest_and_searches() {
    let db = TestDb::new().await;
    seed(&db, 12).await;
    let by_name = load(&db, ServerSort::Name, None, PageAt::First).await;
    assert_eq!(ids(&by_name), (1..=10).collect::<Vec<_>>());
    let newest = load(&db, ServerSort::Newest, None, PageAt::Last).await;
    assert_eq!(ids(&newest), vec![11, 12], "the oldest installs are last");
    let search = load(&db, ServerSort::Name, Some("ver 1"), PageAt::First).await;
    assert_eq!(ids(&search), vec![10, 11, 12]);
    let wildcard = load(&db, ServerSort::Name, Some("%"), PageAt::First).await;
    assert!(ids(&wildcard).is_empty(), "% is literal, not a wildcard");
}

fn footer(message: &Value) -> String {
    message["embeds"][0]["footer"]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn the_pager_answers_only_its_invoker_and_opens_a_server_from_the_menu() {
    let (fake, db, bot) = start_with_admin_guild(&[]).await;
    seed(&db, 25).await;

    let first = slash(
        &fake,
        4242,
        "pager-token",
        DEVELOPER,
        &["admin", "servers"],
        vec![],
    )
    .await;
    assert_eq!(first["type"], CHANNEL_MESSAGE_WITH_SOURCE);
    assert_eq!(first["data"]["flags"], EPHEMERAL);
    assert_eq!(first["data"]["embeds"][0]["title"], "Servers: 25 active");
    assert_eq!(
        first["data"]["components"][0]["components"][2]["label"],
        "Page 1 of 3"
    );
    let before = fake.original_response("pager-token").unwrap();

    let refused = press(
        &fake,
        "pager-token",
        "stranger-press",
        STRANGER,
        &control(&first, "Next ›"),
        None,
    )
    .await;
    assert_eq!(refused["type"], CHANNEL_MESSAGE_WITH_SOURCE);
    assert_eq!(
        refused["data"]["content"],
        "These controls belong to someone else."
    );
    assert_eq!(refused["data"]["flags"], EPHEMERAL);
    assert_eq!(
        fake.original_response("pager-token").unwrap(),
        before,
        "the pager did not change"
    );

    let next = press(
        &fake,
        "pager-token",
        "developer-press",
        DEVELOPER,
        &control(&first, "Next ›"),
        None,
    )
    .await;
    assert_eq!(
        next["type"], UPDATE_MESSAGE,
        "the pager message is updated in place"
    );
    assert!(
        footer(&next["data"]).ends_with("page 2 of 3"),
        "{}",
        footer(&next["data"])
    );

    let opened = press(
        &fake,
        "pager-token",
        "open-press",
        DEVELOPER,
        &control(&next, "Open one…"),
        Some(vec!["7"]),
    )
    .await;
    assert_eq!(opened["type"], CHANNEL_MESSAGE_WITH_SOURCE);
    assert_eq!(opened["data"]["flags"], EPHEMERAL);
    assert_eq!(opened["data"]["embeds"][0]["title"], "Server 07");
    // Its own controls, for the one who opened it.
    control(&opened, "Leave server");

    fake.assert_no_spec_violations();
    bot.stop().await;
}

#[tokio::test]
async fn a_developer_removed_meanwhile_is_refused_on_the_buttons() {
    let (fake, db, bot) = start_with_admin_guild(&[]).await;
    seed(&db, 15).await;
    developers::add(&db.pool, STRANGER, DEVELOPER)
        .await
        .unwrap();
    wait_for_access(&fake, STRANGER, true).await;
    let pager = slash(
        &fake,
        5151,
        "their-pager",
        STRANGER,
        &["admin", "servers"],
        vec![],
    )
    .await;

    sqlx::query("DELETE FROM developers")
        .execute(&db.pool)
        .await
        .unwrap();
    wait_for_access(&fake, STRANGER, false).await;
    let refused = press(
        &fake,
        "their-pager",
        "late-press",
        STRANGER,
        &control(&pager, "Next ›"),
        None,
    )
    .await;

    assert_eq!(
        refused["data"]["content"],
        "This command is for the bot's developers."
    );
    assert!(footer(&fake.original_response("their-pager").unwrap()).ends_with("page 1 of 2"));
    bot.stop().await;
}

#[tokio::test]
async fn the_buttons_are_disabled_after_the_timeout() {
    let (fake, db, bot) = start_with_admin_guild(&[("PAGER_TIMEOUT_SECS", "1")]).await;
    seed(&db, 15).await;
    slash(
        &fake,
        6161,
        "short-pager",
        DEVELOPER,
        &["admin", "servers"],
        vec![],
    )
    .await;

    let disabled = eventually("the pager to be disabled", WAIT, || async {
        let original = fake.original_response("short-pager")?;
        let rows = original["components"].as_array()?.clone();
        let all_disabled = rows.iter().all(|row| {
            row["components"]
                .as_array()
                .is_some_and(|c| c.iter().all(|c| c["disabled"] == true))
        });
        all_disabled.then_some(original)
    })
    .await;
    assert_eq!(
        disabled["embeds"][0]["title"], "Servers: 15 active",
        "the page stays readable"
    );
    fake.assert_no_spec_violations();
    bot.stop().await;
}

#[tokio::test]
async fn the_server_view_shows_the_whole_configuration() {
    let (fake, db, bot) = start_with_admin_guild(&[]).await;
    seed(&db, 3).await;
    sqlx::query("UPDATE guild_settings SET language = 'de', embed_color = 16711680, broadcast_channel_id = 4444, broadcast_categories = ARRAY['changelog'] WHERE guild_id = 2")
        .execute(&db.pool).await.unwrap();
    sqlx::query("INSERT INTO cog_settings (guild_id, module, enabled, settings) VALUES (2, 'welcome', true, '{\"channel\": 5}'), (2, 'levels', false, '{}')")
        .execute(&db.pool).await.unwrap();
    sqlx::query("INSERT INTO dashboard_users (guild_id, user_id, role) VALUES (2, 31337, 'admin')")
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO system_logs (severity, event_type, guild_id, message) VALUES ('warning', 'config_update', 2, 'color changed')")
        .execute(&db.pool).await.unwrap();

    let shown = slash(
        &fake,
        7171,
        "server-token",
        DEVELOPER,
        &["admin", "server"],
        vec![("guild", json!("2"))],
    )
    .await;

    let embed = &shown["data"]["embeds"][0];
    assert_eq!(shown["data"]["flags"], EPHEMERAL);
    assert_eq!(embed["title"], "Server 02");
    assert_eq!(
        embed["color"], 16711680,
        "the embed color is the server's color"
    );
    let text = embed.to_string();
    for expected in [
        "de",
        "#FF0000",
        "<#4444>",
        "changelog",
        "**welcome**: on",
        "**levels**: off",
        "<@31337> (admin)",
        "color changed",
    ] {
        assert!(text.contains(expected), "{expected} in {text}");
    }
    fake.assert_no_spec_violations();
    bot.stop().await;
}

#[tokio::test]
async fn unknown_and_malformed_server_ids_get_a_clear_error() {
    let (fake, db, bot) = start_with_admin_guild(&[]).await;
    seed(&db, 1).await;

    let unknown = slash(
        &fake,
        8181,
        "unknown-token",
        DEVELOPER,
        &["admin", "server"],
        vec![("guild", json!("123456789"))],
    )
    .await;
    assert_eq!(
        unknown["data"]["content"],
        "No server with id 123456789 is known to the bot."
    );
    assert_eq!(unknown["data"]["flags"], EPHEMERAL);
    let malformed = slash(
        &fake,
        8282,
        "malformed-token",
        DEVELOPER,
        &["admin", "server"],
        vec![("guild", json!("cats"))],
    )
    .await;
    assert!(
        malformed["data"]["content"]
            .as_str()
            .unwrap()
            .starts_with("`cats` is not a server id")
    );
    fake.assert_no_spec_violations();
    bot.stop().await;
}

/// The active-server count comes from a trigger-kept counter; every way a
/// guild row can change (join, refresh, leave, rejoin, delete) keeps it equal
/// to a real count.
#[tokio::test]
async fn the_active_server_counter_matches_a_real_count_through_every_change() {
    use admin_panel::store::guild_batches::{self, GuildBatch};
    use admin_panel::store::guilds::{self, GuildSnapshot};
    let db = TestDb::new().await;
    let check = |expected: i64| {
        let pool = db.pool.clone();
        async move {
            let real: i64 = sqlx::query_scalar("SELECT count(*) FROM guilds WHERE left_at IS NULL")
                .fetch_one(&pool)
                .await
                .unwrap();
            let counted = guilds::count_active(&pool).await.unwrap();
            assert_eq!((counted, real), (expected, expected));
        }
    };
    let snapshot = |id: u64| GuildSnapshot {
        id,
        name: format!("Server {id}"),
        icon_hash: None,
        member_count: 10,
        joined_at: chrono::Utc::now(),
        permissions: None,
        channels: Vec::new(),
    };
    let now = chrono::Utc::now();
    let apply = |batch: GuildBatch| {
        let pool = db.pool.clone();
        async move { guild_batches::apply(&pool, &batch, now).await.unwrap() }
    };
    check(0).await;
    apply(GuildBatch {
        created: (1..=5).map(snapshot).collect(),
        ..GuildBatch::default()
    })
    .await;
    check(5).await;
    apply(GuildBatch {
        created: vec![snapshot(3)], // a reconnect's refresh
        renamed: vec![(3, "Renamed".into(), None)],
        ..GuildBatch::default()
    })
    .await;
    check(5).await;
    apply(GuildBatch {
        deleted: vec![2, 2], // a repeated GUILD_DELETE
        ..GuildBatch::default()
    })
    .await;
    check(4).await;
    apply(GuildBatch {
        created: vec![snapshot(2)], // rejoin
        deleted: vec![4],
        ..GuildBatch::default()
    })
    .await;
    check(4).await;
    sqlx::query("DELETE FROM guilds WHERE id IN (1, 4)") // one active, one gone
        .execute(&db.pool)
        .await
        .unwrap();
    check(3).await;
    seed_more(&db).await;
    check(13).await;
}

/// Ten more active servers in one multi-row insert.
async fn seed_more(db: &TestDb) {
    sqlx::query(
        "INSERT INTO guilds (id, name, joined_at) SELECT i, 'More', now() FROM generate_series(100, 109) AS i",
    )
    .execute(&db.pool)
    .await
    .unwrap();
}
