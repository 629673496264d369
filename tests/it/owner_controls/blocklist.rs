//! The bot-wide blocklist (issue 39, item 2): servers left at once and again
//! whenever they add the bot back, never a broadcast target; users refused
//! on every command, button and form, the host bot's own included, in every
//! process; developers never blocked; bad input changes nothing.

use std::time::Duration;

use serde_json::{Value, json};

use super::{SERVER, WAIT, admin, command_in, content, joined, logged, two_processes};
use crate::support::bot::{DEVELOPER, eventually, start_with_admin_guild};
use crate::support::db::TestDb;
use crate::support::discord::{EPHEMERAL, STRING_SELECT};
use crate::support::fake_discord::FakeDiscord;
use crate::support::fixtures;
use crate::support::interact::control;
use admin_panel::store::broadcasts::{self, Audience};
use admin_panel::store::guilds;

/// A member of a server, not a developer.
const MEMBER: u64 = 200_000_000_000_000_777;
/// The `kind` option's choices, as Discord sends them (their index).
const SERVER_KIND: i64 = 0;
const USER_KIND: i64 = 1;

/// `/admin blocklist <action>` with `kind`, `id` and maybe `reason`.
async fn blocklist(
    fake: &FakeDiscord,
    token: &str,
    action: &str,
    kind: i64,
    id: &str,
    reason: Option<&str>,
) -> Value {
    let mut options = vec![("kind", json!(kind)), ("id", json!(id))];
    if let Some(reason) = reason {
        options.push(("reason", json!(reason)));
    }
    let id: u64 = rand::random::<u32>().into();
    crate::support::interact::slash(
        fake,
        id + 1,
        token,
        DEVELOPER,
        &["admin", "blocklist", action],
        options,
    )
    .await
}

async fn joins(db: &TestDb, guild: u64) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM system_logs WHERE event_type = 'guild_join' AND guild_id = $1",
    )
    .bind(guild as i64)
    .fetch_one(&db.pool)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_are_added_listed_with_who_and_why_and_removed() {
    let (fake, db, bot) = start_with_admin_guild(&[]).await;
    let user = MEMBER.to_string();
    let server = "870000000000000555";

    let added = blocklist(&fake, "add-user", "add", USER_KIND, &user, Some("Raids")).await;
    assert_eq!(added["data"]["flags"], EPHEMERAL);
    assert!(
        content(&added).starts_with(&format!("Blocked <@{MEMBER}>")),
        "{}",
        content(&added)
    );
    let twice = blocklist(&fake, "add-again", "add", USER_KIND, &user, Some("Raids")).await;
    assert_eq!(
        content(&twice),
        format!("User <@{MEMBER}> is on the blocklist already: nothing changed.")
    );
    let unknown_server = blocklist(
        &fake,
        "add-server",
        "add",
        SERVER_KIND,
        server,
        Some("Scam"),
    )
    .await;
    assert!(
        content(&unknown_server).contains("the bot is not in it"),
        "{}",
        content(&unknown_server)
    );

    let list = admin(&fake, "list", DEVELOPER, &["blocklist", "list"], &[]).await;
    let embed = &list["data"]["embeds"][0];
    assert_eq!(embed["title"], "Blocklist: 2 entries");
    let text = embed["description"].as_str().unwrap();
    assert!(
        text.contains(&format!("user <@{MEMBER}>")) && text.contains(": Raids"),
        "{text}"
    );
    assert!(text.contains(&format!("server `{server}`: Scam")), "{text}");
    assert!(text.contains(&format!("added by <@{DEVELOPER}>")), "{text}");

    let removed = blocklist(&fake, "remove", "remove", USER_KIND, &user, None).await;
    assert_eq!(
        content(&removed),
        format!("Unblocked <@{MEMBER}>: the bot answers them again.")
    );
    let absent = blocklist(&fake, "remove-again", "remove", USER_KIND, &user, None).await;
    assert_eq!(
        content(&absent),
        format!("User <@{MEMBER}> is not on the blocklist: nothing changed.")
    );
    assert_eq!(logged(&db, "blocklist_added").await.len(), 2);
    assert_eq!(logged(&db, "blocklist_removed").await.len(), 1);
    assert!(
        logged(&db, "blocklist_added").await[0]
            .ends_with(&format!("blocked User <@{MEMBER}>: Raids"))
    );
    fake.assert_no_spec_violations();
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_and_developers_change_nothing() {
    let (fake, db, bot) = start_with_admin_guild(&[]).await;
    let cases = [
        (
            "not-a-number",
            "add",
            USER_KIND,
            "abc",
            Some("x"),
            "`abc` is not a user id",
        ),
        (
            "too-short",
            "add",
            SERVER_KIND,
            "12345",
            Some("x"),
            "`12345` is not a server id",
        ),
        (
            "too-big",
            "add",
            USER_KIND,
            "99999999999999999999",
            Some("x"),
            "`99999999999999999999` is not a user id",
        ),
        (
            "no-reason",
            "add",
            USER_KIND,
            "200000000000000778",
            Some("  "),
            "Give a reason of 1 to 500 characters",
        ),
        (
            "developer",
            "add",
            USER_KIND,
            &DEVELOPER.to_string(),
            Some("x"),
            "is a developer: developers cannot be blocked",
        ),
        (
            "remove-bad",
            "remove",
            SERVER_KIND,
            "-1",
            None,
            "`-1` is not a server id",
        ),
    ];
    for (token, action, kind, id, reason, expected) in cases {
        let reply = blocklist(&fake, token, action, kind, id, reason).await;
        assert!(
            content(&reply).contains(expected),
            "{token}: {}",
            content(&reply)
        );
        assert_eq!(reply["data"]["flags"], EPHEMERAL);
    }
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM blocklist")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(stored, 0);
    assert!(logged(&db, "blocklist_added").await.is_empty());
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_server_is_left_at_once_and_again_when_it_adds_the_bot_back() {
    let (fake, db, bot) = start_with_admin_guild(&[]).await;
    joined(&fake, &db, SERVER, "Raid Central", 300).await;
    let server = SERVER.to_string();

    let blocked = blocklist(&fake, "block", "add", SERVER_KIND, &server, Some("Raids")).await;
    assert!(
        content(&blocked).starts_with("Blocked server **Raid Central**")
            && content(&blocked).contains("the bot left it"),
        "{}",
        content(&blocked)
    );
    assert_eq!(fake.left_on_request(), vec![SERVER]);
    eventually("the leave counted", WAIT, || async {
        let active = guilds::active_name(&db.pool, SERVER).await.unwrap();
        active.is_none().then_some(())
    })
    .await;

    // It adds the bot back: left again at once, never counted or joined.
    fake.join_guilds([SERVER]);
    fake.dispatch_for_guild(
        SERVER,
        "GUILD_CREATE",
        fixtures::guild_create(SERVER, "Raid Central", 301, None),
    );
    eventually("left again", WAIT, || async {
        (fake.left_on_request().len() == 2).then_some(())
    })
    .await;
    let forced = eventually("both leaves logged", WAIT, || async {
        let forced = logged(&db, "guild_leave_forced").await;
        (forced.len() == 2).then_some(forced)
    })
    .await;
    assert!(
        forced[1].contains("it is blocked (Raids) and added the bot"),
        "{forced:?}"
    );
    // A marker server created after it proves the writer took everything before.
    joined(&fake, &db, SERVER + 1, "Marker", 5).await;
    assert_eq!(joins(&db, SERVER).await, 1, "only the first join");
    assert!(
        guilds::active_name(&db.pool, SERVER)
            .await
            .unwrap()
            .is_none()
    );
    fake.assert_no_spec_violations();
    bot.stop().await;
}

#[tokio::test]
async fn a_blocked_server_is_never_a_broadcast_target() {
    let db = TestDb::new().await;
    for id in [SERVER, SERVER + 1] {
        sqlx::query(
            "INSERT INTO guilds (id, name, member_count, joined_at) VALUES ($1, 'S', 10, now())",
        )
        .bind(id as i64)
        .execute(&db.pool)
        .await
        .unwrap();
    }
    let before = broadcasts::dry_run(&db.pool, "announcement", &Audience::default())
        .await
        .unwrap();
    sqlx::query("INSERT INTO blocklist (kind, id, reason, added_by) VALUES ('server', $1, 'x', 1)")
        .bind(SERVER as i64)
        .execute(&db.pool)
        .await
        .unwrap();
    let after = broadcasts::dry_run(&db.pool, "announcement", &Audience::default())
        .await
        .unwrap();
    assert_eq!(after.targeted, before.targeted - 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_user_is_refused_everywhere_in_every_process() {
    let (db, (fake_a, bot_a), (fake_b, bot_b)) = two_processes().await;
    joined(&fake_b, &db, SERVER, "Chess Club", 40).await;

    // A menu the member opened before being blocked (they hold Manage Server).
    let token = format!("menu-{}", rand::random::<u32>());
    let opened = fixtures::slash_command(
        7,
        &token,
        Some(SERVER),
        MEMBER,
        &["settings", "broadcast-categories"],
        vec![],
    );
    fake_b.dispatch_for_guild(SERVER, "INTERACTION_CREATE", opened);
    fake_b.wait_for_callback(&token, WAIT).await;
    let menu = eventually("the menu stored", WAIT, || async {
        fake_b.original_response(&token)
    })
    .await;
    let ping = command_in(&fake_b, SERVER, MEMBER, &["ping"]).await;
    assert_ne!(content(&ping), admin_panel::access::NOT_AVAILABLE);

    let member = MEMBER.to_string();
    blocklist(&fake_a, "block", "add", USER_KIND, &member, Some("Abuse")).await;
    // Process B hears of it within 5 s: the host bot's own command is refused.
    let started = tokio::time::Instant::now();
    loop {
        let reply = command_in(&fake_b, SERVER, MEMBER, &["ping"]).await;
        if content(&reply) == admin_panel::access::NOT_AVAILABLE {
            assert_eq!(reply["data"]["flags"], EPHEMERAL);
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "process B still answers after 5 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let settings = command_in(&fake_b, SERVER, MEMBER, &["settings", "show"]).await;
    assert_eq!(content(&settings), admin_panel::access::NOT_AVAILABLE);

    // The older menu: refused, nothing changed.
    let menu_id = control(&menu, "Categories this server accepts");
    let pick_token = format!("pick-{}", rand::random::<u32>());
    let mut pick = fixtures::button_press(
        99,
        &pick_token,
        Some(SERVER),
        MEMBER,
        &menu_id,
        menu.clone(),
    );
    pick["data"] =
        json!({ "custom_id": menu_id, "component_type": STRING_SELECT, "values": ["changelog"] });
    fake_b.dispatch_for_guild(SERVER, "INTERACTION_CREATE", pick);
    let refused = fake_b.wait_for_callback(&pick_token, WAIT).await;
    assert_eq!(content(&refused), admin_panel::access::NOT_AVAILABLE);
    let categories: Vec<String> =
        sqlx::query_scalar("SELECT broadcast_categories FROM guild_settings WHERE guild_id = $1")
            .bind(SERVER as i64)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(categories.len(), 3, "nothing changed");
    bot_a.stop().await;
    bot_b.stop().await;
}
