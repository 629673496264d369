//! Leaving a server (issue 39, item 1): `/admin leave` and the Leave button
//! of a server's view, each behind a confirmation naming the server and its
//! member count; the bot leaves with `DELETE /users/@me/guilds/{id}`, the
//! log says who and why, and the counts follow Discord's GUILD_DELETE.

use std::time::Duration;

use super::{SERVER, WAIT, admin, content, joined, logged, press_label};
use crate::support::bot::{DEVELOPER, eventually, start_with_admin_guild};
use crate::support::db::TestDb;
use crate::support::discord::{EPHEMERAL, MODAL, UPDATE_MESSAGE};
use crate::support::fake_discord::Failure;
use crate::support::interact::{control, press, submit};
use admin_panel::store::guilds;

const STRANGER: u64 = 200_000_000_000_000_999;
/// A name that is a spreadsheet formula and tries to mention everyone.
const NAME: &str = "=HYPERLINK(\"x\") @everyone";

async fn active(db: &TestDb) -> i64 {
    guilds::count_active(&db.pool).await.unwrap()
}

async fn left_at_set(db: &TestDb, guild: u64) -> bool {
    sqlx::query_scalar("SELECT left_at IS NOT NULL FROM guilds WHERE id = $1")
        .bind(guild as i64)
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirmed_leave_leaves_logs_who_and_why_and_the_counts_follow() {
    let (fake, db, bot) = start_with_admin_guild(&[]).await;
    joined(&fake, &db, SERVER, NAME, 1234).await;
    let before = active(&db).await;
    let server = SERVER.to_string();
    let options = [
        ("guild", server.as_str()),
        ("reason", "  Spam from its owner  "),
    ];

    let question = admin(&fake, "leave-1", DEVELOPER, &["leave"], &options).await;
    assert_eq!(question["data"]["flags"], EPHEMERAL);
    let text = content(&question);
    assert!(
        text.starts_with("Leave **") && text.contains(&format!("({SERVER}, 1,234 members)?")),
        "{text}"
    );
    assert!(text.contains("Reason: Spam from its owner"), "{text}");
    assert!(
        !text.contains("@everyone"),
        "the name cannot mention: {text}"
    );
    assert!(
        fake.left_on_request().is_empty(),
        "nothing before the answer"
    );

    // Someone else's press, and Stay, change nothing.
    let foreign = press_label(&fake, "leave-1", STRANGER, "Leave server").await;
    assert_eq!(content(&foreign), "These controls belong to someone else.");
    let stayed = admin(&fake, "leave-2", DEVELOPER, &["leave"], &options).await;
    assert!(content(&stayed).starts_with("Leave **"));
    let kept = press_label(&fake, "leave-2", DEVELOPER, "Stay").await;
    assert_eq!(content(&kept), "Stayed: the bot is still in that server.");
    assert!(fake.left_on_request().is_empty());

    let done = press_label(&fake, "leave-1", DEVELOPER, "Leave server").await;
    assert_eq!(done["type"], UPDATE_MESSAGE);
    assert!(
        content(&done).starts_with("The bot left **") && content(&done).contains("1,234 members"),
        "{}",
        content(&done)
    );
    assert_eq!(fake.left_on_request(), vec![SERVER]);
    let forced = logged(&db, "guild_leave_forced").await;
    assert_eq!(forced.len(), 1);
    assert!(
        forced[0].contains(&SERVER.to_string())
            && forced[0].contains(&DEVELOPER.to_string())
            && forced[0].ends_with(": Spam from its owner"),
        "{forced:?}"
    );
    // The GUILD_DELETE Discord sent does the rest, as for any leave.
    eventually("the leave counted", WAIT, || async {
        (active(&db).await == before - 1).then_some(())
    })
    .await;
    assert!(left_at_set(&db, SERVER).await);
    assert_eq!(logged(&db, "guild_leave").await.len(), 1);

    // A second press on the same question does not leave twice.
    let again = press_label(&fake, "leave-1", DEVELOPER, "Leave server").await;
    assert!(
        content(&again).contains("not in **") && content(&again).contains("nothing to leave"),
        "{}",
        content(&again)
    );
    assert_eq!(fake.left_on_request(), vec![SERVER]);
    assert_eq!(logged(&db, "guild_leave_forced").await.len(), 1);
    fake.assert_no_spec_violations();
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leave_button_of_a_servers_view_asks_why_then_confirms() {
    let (fake, db, bot) = start_with_admin_guild(&[]).await;
    joined(&fake, &db, SERVER, "Chess Club", 40).await;
    let server = SERVER.to_string();
    let view = admin(
        &fake,
        "view-1",
        DEVELOPER,
        &["server"],
        &[("guild", &server)],
    )
    .await;
    let button = control(&view, "Leave server");

    // Not a developer: refused, no form.
    let refused = press(&fake, "view-1", "stranger-press", STRANGER, &button, None).await;
    assert_ne!(refused["type"], MODAL);

    let form = press(&fake, "view-1", "leave-press", DEVELOPER, &button, None).await;
    assert_eq!(form["type"], MODAL);
    let form_id = form["data"]["custom_id"].as_str().unwrap().to_owned();
    let empty = submit(
        &fake,
        "leave-empty",
        DEVELOPER,
        &form_id,
        &[("reason", "  ")],
        None,
    )
    .await;
    assert_eq!(
        content(&empty),
        "Give a reason of 1 to 500 characters: nothing changed."
    );
    let question = submit(
        &fake,
        "leave-form",
        DEVELOPER,
        &form_id,
        &[("reason", "Asked by its owner")],
        None,
    )
    .await;
    assert!(
        content(&question).starts_with("Leave **Chess Club** ("),
        "{}",
        content(&question)
    );
    assert!(content(&question).contains("40 members"));
    assert!(fake.left_on_request().is_empty());
    let done = press_label(&fake, "leave-form", DEVELOPER, "Leave server").await;
    assert!(content(&done).starts_with("The bot left **Chess Club**"));
    assert_eq!(fake.left_on_request(), vec![SERVER]);
    assert!(logged(&db, "guild_leave_forced").await[0].ends_with(": Asked by its owner"));

    // The view of a server the bot left has no Leave button.
    eventually("the leave counted", WAIT, || async {
        left_at_set(&db, SERVER).await.then_some(())
    })
    .await;
    let after = admin(
        &fake,
        "view-2",
        DEVELOPER,
        &["server"],
        &[("guild", &server)],
    )
    .await;
    assert!(!after.to_string().contains("Leave server"), "{after}");
    fake.assert_no_spec_violations();
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_clear_answer_and_changes_nothing() {
    let (fake, db, bot) = start_with_admin_guild(&[]).await;
    joined(&fake, &db, SERVER, "Chess Club", 40).await;
    let server = SERVER.to_string();
    let cases = [
        ("not-a-snowflake", "abc", "spam", "`abc` is not a server id"),
        (
            "unknown",
            "870000000000000999",
            "spam",
            "No server with id 870000000000000999 is known to the bot: nothing to leave.",
        ),
        (
            "blank-reason",
            server.as_str(),
            "   ",
            "Give a reason of 1 to 500 characters: nothing changed.",
        ),
    ];
    for (token, guild, reason, expected) in cases {
        let reply = admin(
            &fake,
            token,
            DEVELOPER,
            &["leave"],
            &[("guild", guild), ("reason", reason)],
        )
        .await;
        assert!(
            content(&reply).starts_with(expected),
            "{token}: {}",
            content(&reply)
        );
        assert_eq!(reply["data"]["flags"], EPHEMERAL);
    }

    // Known to the database, but Discord says the bot is not there.
    fake.leave_guild(SERVER);
    admin(
        &fake,
        "gone",
        DEVELOPER,
        &["leave"],
        &[("guild", &server), ("reason", "x")],
    )
    .await;
    let refused = press_label(&fake, "gone", DEVELOPER, "Leave server").await;
    assert!(
        content(&refused).starts_with("Discord says the bot is not in **Chess Club**"),
        "{}",
        content(&refused)
    );
    assert!(fake.left_on_request().is_empty());
    assert!(!left_at_set(&db, SERVER).await);
    assert!(logged(&db, "guild_leave_forced").await.is_empty());
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM forced_leaves WHERE left_at IS NOT NULL")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(stored, 0);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discord_failing_or_slow_is_answered_in_time_and_the_leave_still_happens_once() {
    let (fake, db, bot) = start_with_admin_guild(&[]).await;
    joined(&fake, &db, SERVER, "Chess Club", 40).await;
    let server = SERVER.to_string();
    let route = "/api/v10/users/@me/guilds/*";

    // A 500: an error with an id, and the question can be answered again.
    fake.fail_route("DELETE", route, Failure::ServerError, Some(1));
    admin(
        &fake,
        "flaky",
        DEVELOPER,
        &["leave"],
        &[("guild", &server), ("reason", "x")],
    )
    .await;
    let failed = press_label(&fake, "flaky", DEVELOPER, "Leave server").await;
    assert!(
        content(&failed).contains("error id"),
        "{}",
        content(&failed)
    );
    assert!(fake.left_on_request().is_empty());

    // Slow past the first response's 3 s: answered at once, left later.
    fake.fail_route(
        "DELETE",
        route,
        Failure::Delay(Duration::from_secs(4)),
        Some(1),
    );
    let started = std::time::Instant::now();
    let waiting = press_label(&fake, "flaky", DEVELOPER, "Leave server").await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(
        content(&waiting).starts_with("Discord has not answered yet"),
        "{}",
        content(&waiting)
    );
    eventually("the slow leave logged", WAIT, || async {
        (logged(&db, "guild_leave_forced").await.len() == 1).then_some(())
    })
    .await;
    assert_eq!(fake.left_on_request(), vec![SERVER]);
    eventually("the leave counted", WAIT, || async {
        left_at_set(&db, SERVER).await.then_some(())
    })
    .await;
    bot.stop().await;
}
