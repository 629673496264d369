//! Controls under attack: altered ids, someone else's controls, expired ones,
//! garbage, and the composer's buttons and forms pressed by the wrong people.

use super::{bot_with_servers, footer};
use crate::support::bot::{DEVELOPER, eventually};
use crate::support::broadcast::{ALL, button_id, compose, draft_id, seed_guild};
use crate::support::discord::{CHANNEL_MESSAGE_WITH_SOURCE, EPHEMERAL, UPDATE_MESSAGE};
use crate::support::fake_discord::FakeDiscord;
use crate::support::interact::{WAIT, control, press, slash, submit, wait_for_access};
use admin_panel::access::{NOT_YOURS, REFUSAL};
use admin_panel::router::{INVALID_CONTROL, OLD_CONTROL};
use admin_panel::store::developers;
use serde_json::Value;

const ALICE: u64 = 200_000_000_000_000_777;
const STRANGER: u64 = 200_000_000_000_000_999;

async fn status(db: &crate::support::db::TestDb, id: i64) -> String {
    sqlx::query_scalar("SELECT status FROM broadcasts WHERE id = $1")
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

/// Every custom id differs from `id` in one character of its numbers or tag.
fn alterations(id: &str) -> Vec<String> {
    let prefix = "ap1:".len() + 3; // view, action and the first ':' stay
    (prefix..id.len())
        .filter(|at| id.as_bytes()[*at] != b':')
        .map(|at| {
            let mut bytes = id.as_bytes().to_vec();
            bytes[at] = if bytes[at] == b'1' { b'2' } else { b'1' };
            String::from_utf8(bytes).unwrap()
        })
        .filter(|forged| forged != id)
        .collect()
}

#[tokio::test]
async fn an_altered_custom_id_is_refused_and_changes_nothing() {
    let (fake, _db, bot) = bot_with_servers(25, &[]).await;
    let first = slash(&fake, 201, "list", DEVELOPER, &["admin", "servers"], vec![]).await;
    let before = fake.original_response("list").unwrap();
    let next = control(&first, "Next ›");

    // Another owner, another page, another cursor, another expiry, another tag.
    for (n, forged) in alterations(&next).into_iter().step_by(7).enumerate() {
        let token = format!("forged-{n}");
        let refused = press(&fake, "list", &token, DEVELOPER, &forged, None).await;
        assert_eq!(refused["type"], CHANNEL_MESSAGE_WITH_SOURCE, "{forged}");
        assert_eq!(refused["data"]["content"], INVALID_CONTROL, "{forged}");
        assert_eq!(refused["data"]["flags"], EPHEMERAL);
    }
    assert_eq!(
        fake.original_response("list").unwrap(),
        before,
        "the list did not move"
    );
    fake.assert_no_spec_violations();
    bot.stop().await;
}

#[tokio::test]
async fn garbage_and_controls_of_the_previous_version_get_a_clear_refusal() {
    let (fake, _db, bot) = bot_with_servers(3, &[]).await;
    slash(&fake, 202, "list", DEVELOPER, &["admin", "servers"], vec![]).await;

    for (token, custom_id, expected) in [
        ("garbage", "ap1:zz:1:2:not-a-tag", INVALID_CONTROL),
        ("truncated", "ap1:", INVALID_CONTROL),
        ("old-pager", "pg4242:next", OLD_CONTROL),
        ("old-confirm", "devrm77:confirm", OLD_CONTROL),
    ] {
        let refused = press(&fake, "list", token, DEVELOPER, custom_id, None).await;
        assert_eq!(refused["data"]["content"], expected, "{custom_id}");
    }
    bot.stop().await;
}

#[tokio::test]
async fn another_developers_list_is_not_yours_to_turn() {
    let (fake, db, bot) = bot_with_servers(25, &[]).await;
    developers::add(&db.pool, ALICE, DEVELOPER).await.unwrap();
    wait_for_access(&fake, ALICE, true).await;
    let first = slash(&fake, 203, "mine", DEVELOPER, &["admin", "servers"], vec![]).await;

    let refused = press(
        &fake,
        "mine",
        "alices",
        ALICE,
        &control(&first, "Next ›"),
        None,
    )
    .await;

    assert_eq!(refused["data"]["content"], NOT_YOURS);
    assert!(footer(&fake.original_response("mine").unwrap()).ends_with("page 1 of 3"));
    bot.stop().await;
}

#[tokio::test]
async fn expired_controls_are_refused_with_what_to_do_and_disabled() {
    let (fake, _db, bot) = bot_with_servers(25, &[("PAGER_TIMEOUT_SECS", "1")]).await;
    let first = slash(
        &fake,
        204,
        "short",
        DEVELOPER,
        &["admin", "servers"],
        vec![],
    )
    .await;
    let next = control(&first, "Next ›");
    // The bot disables the controls of its message once they expire.
    fake.wait_for_request("the expired controls disabled", WAIT, |r| {
        r.method == "PATCH" && r.path.contains("/short/messages/@original")
    })
    .await;

    let late = press(&fake, "short", "late", DEVELOPER, &next, None).await;

    assert_eq!(
        late["type"], UPDATE_MESSAGE,
        "the message shows its controls disabled"
    );
    let rows = late["data"]["components"].as_array().unwrap();
    assert!(
        rows.iter()
            .flat_map(|r| r["components"].as_array().unwrap())
            .all(|c| c["disabled"] == true)
    );
    let notice = fake
        .wait_for_request("the expiry notice", WAIT, |r| {
            r.method == "POST" && r.path.ends_with("/late")
        })
        .await;
    let notice = notice.body.unwrap();
    assert_eq!(
        notice["content"],
        "These controls expired; run /admin servers again."
    );
    assert_eq!(notice["flags"], EPHEMERAL);
    fake.assert_no_spec_violations();
    bot.stop().await;
}

/// The composer's preview, drawn for the primary developer.
async fn preview(fake: &FakeDiscord, db: &crate::support::db::TestDb) -> (Value, i64) {
    seed_guild(db, 1, true, ALL).await;
    let preview = compose(fake, 9101, "announcement", None, &[("title", "Mine")]).await;
    let id = draft_id(&preview);
    (preview, id)
}

#[tokio::test]
async fn the_composers_buttons_refuse_a_stranger_another_developer_and_a_removed_one() {
    let (fake, db, bot) = bot_with_servers(0, &[]).await;
    developers::add(&db.pool, ALICE, DEVELOPER).await.unwrap();
    wait_for_access(&fake, ALICE, true).await;
    let (preview, id) = preview(&fake, &db).await;

    for label in ["Send", "Edit", "Discard"] {
        let custom_id = button_id(&preview, label);
        let stranger = press(
            &fake,
            "submit-9101",
            &format!("s-{label}"),
            STRANGER,
            &custom_id,
            None,
        )
        .await;
        assert_eq!(stranger["data"]["content"], NOT_YOURS, "{label}");
        let other = press(
            &fake,
            "submit-9101",
            &format!("a-{label}"),
            ALICE,
            &custom_id,
            None,
        )
        .await;
        assert_eq!(other["data"]["content"], NOT_YOURS, "{label}");
    }
    assert_eq!(
        status(&db, id).await,
        "draft",
        "nothing was sent, edited or discarded"
    );
    bot.stop().await;
}

#[tokio::test]
async fn a_composer_removed_from_the_developers_can_no_longer_send() {
    let (fake, db, bot) = bot_with_servers(0, &[]).await;
    developers::add(&db.pool, ALICE, DEVELOPER).await.unwrap();
    wait_for_access(&fake, ALICE, true).await;
    seed_guild(&db, 1, true, ALL).await;
    let opened = slash(
        &fake,
        9201,
        "alice-compose",
        ALICE,
        &["admin", "broadcast", "new"],
        vec![("category", serde_json::json!(0))],
    )
    .await;
    let modal_id = opened["data"]["custom_id"].as_str().unwrap().to_owned();
    let preview = submit(
        &fake,
        "alice-submit",
        ALICE,
        &modal_id,
        &[("title", "Alice's")],
        None,
    )
    .await;
    let id = draft_id(&preview);

    developers::remove(&db.pool, ALICE).await.unwrap();
    wait_for_access(&fake, ALICE, false).await;
    let refused = press(
        &fake,
        "alice-submit",
        "alice-send",
        ALICE,
        &button_id(&preview, "Send"),
        None,
    )
    .await;

    assert_eq!(refused["data"]["content"], REFUSAL);
    assert_eq!(status(&db, id).await, "draft");
    bot.stop().await;
}

#[tokio::test]
async fn the_composers_forms_refuse_anyone_but_the_composer() {
    let (fake, db, bot) = bot_with_servers(0, &[]).await;
    developers::add(&db.pool, ALICE, DEVELOPER).await.unwrap();
    wait_for_access(&fake, ALICE, true).await;
    let opened = slash(
        &fake,
        9301,
        "compose",
        DEVELOPER,
        &["admin", "broadcast", "new"],
        vec![("category", serde_json::json!(0))],
    )
    .await;
    let new_form = opened["data"]["custom_id"].as_str().unwrap().to_owned();

    let refused = submit(
        &fake,
        "alice-fills-mine",
        ALICE,
        &new_form,
        &[("title", "Hijacked")],
        None,
    )
    .await;
    assert_eq!(refused["data"]["content"], NOT_YOURS);
    let (preview, id) = preview(&fake, &db).await;
    let form = press(
        &fake,
        "submit-9101",
        "edit",
        DEVELOPER,
        &button_id(&preview, "Edit"),
        None,
    )
    .await;
    let edit_form = form["data"]["custom_id"].as_str().unwrap().to_owned();
    let message = fake.original_response("submit-9101");
    let refused = submit(
        &fake,
        "alice-edits",
        ALICE,
        &edit_form,
        &[("title", "Hijacked")],
        message,
    )
    .await;
    assert_eq!(refused["data"]["content"], NOT_YOURS);

    let titles: Vec<String> = sqlx::query_scalar("SELECT title FROM broadcasts")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        titles,
        ["Mine"],
        "nothing was saved by anyone else (draft #{id})"
    );
    bot.stop().await;
}

#[tokio::test]
async fn closing_the_edit_form_leaves_send_edit_and_discard_working() {
    let (fake, db, bot) = bot_with_servers(0, &[]).await;
    let (preview, id) = preview(&fake, &db).await;

    // Edit opens the form; the developer closes it without submitting.
    let form = press(
        &fake,
        "submit-9101",
        "edit",
        DEVELOPER,
        &button_id(&preview, "Edit"),
        None,
    )
    .await;
    assert_eq!(form["data"]["title"], "New announcement broadcast");

    let again = press(
        &fake,
        "submit-9101",
        "edit-again",
        DEVELOPER,
        &button_id(&preview, "Edit"),
        None,
    )
    .await;
    assert_eq!(
        again["type"],
        crate::support::discord::MODAL,
        "Edit still opens the form"
    );
    let sent = press(
        &fake,
        "submit-9101",
        "send",
        DEVELOPER,
        &button_id(&preview, "Send"),
        None,
    )
    .await;
    assert_eq!(sent["type"], UPDATE_MESSAGE);
    eventually("the broadcast to go out", WAIT, || async {
        (status(&db, id).await != "draft").then_some(())
    })
    .await;
    bot.stop().await;
}
