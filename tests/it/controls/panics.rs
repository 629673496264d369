//! A panic in a button's or a form's handler (they run from poise's event
//! handler, which catches no panic) still answers the user with the generic
//! error and its id, logs the panic as the cause under that id, and leaves
//! the bot answering the next press.

use super::{bot_with_servers, footer};
use crate::support::bot::{DEVELOPER, eventually};
use crate::support::broadcast::compose;
use crate::support::db::TestDb;
use crate::support::discord::{EPHEMERAL, UPDATE_MESSAGE};
use crate::support::interact::{WAIT, control, press, slash};
use serde_json::Value;

/// The error id in an internal-error reply ("... error id `abcd1234` ...").
fn error_id(answer: &Value) -> String {
    assert_eq!(answer["data"]["flags"], EPHEMERAL, "{answer}");
    let text = answer["data"]["content"].as_str().unwrap();
    assert!(
        text.starts_with("Something went wrong on our side"),
        "{text}"
    );
    text.split('`').nth(1).unwrap().to_owned()
}

/// Waits until the panic is in `system_logs` under `error_id`, as the cause.
async fn logged_with_cause(db: &TestDb, error_id: &str, what: &str) {
    let pattern =
        format!("{what} failed (error id {error_id}): panicked: a test injected this panic");
    eventually("the panic to be logged", WAIT, || async {
        let logged: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM system_logs
              WHERE event_type = 'command_error' AND severity = 'error' AND message = $1",
        )
        .bind(&pattern)
        .fetch_one(&db.pool)
        .await
        .unwrap();
        (logged == 1).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_panicking_button_or_form_handler_answers_with_an_error_id_and_logs_the_cause() {
    let (fake, db, bot) = bot_with_servers(25, &[]).await;
    let list = slash(
        &fake,
        9701,
        "panic-list",
        DEVELOPER,
        &["admin", "servers"],
        vec![],
    )
    .await;
    let next = control(&list, "Next ›");

    admin_panel::router::inject_panic("panic-press");
    let answered = press(&fake, "panic-list", "panic-press", DEVELOPER, &next, None).await;
    logged_with_cause(&db, &error_id(&answered), "a button").await;

    // The bot is none the worse: the same button works.
    let turned = press(&fake, "panic-list", "after-panic", DEVELOPER, &next, None).await;
    assert_eq!(turned["type"], UPDATE_MESSAGE);
    assert!(footer(&turned).ends_with("page 2 of 3"), "{turned}");

    // A form: the composer's modal, submitted with token `submit-9711`.
    admin_panel::router::inject_panic("submit-9711");
    let submitted = compose(&fake, 9711, "announcement", None, &[("title", "Boom")]).await;
    logged_with_cause(&db, &error_id(&submitted), "a form").await;
    let drafts: i64 = sqlx::query_scalar("SELECT count(*) FROM broadcasts")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(drafts, 0, "the panicking submit saved nothing");
    fake.assert_no_spec_violations();
    bot.stop().await;
}
