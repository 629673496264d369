//! Edit and recall: every delivered message changed or deleted in place,
//! once, with a report section; refused with the reason when they cannot
//! apply.

use serde_json::{Value, json};

use super::{
    ALSO_READY, FLAKY, RATE_LIMITED, READY, count, seed_every_kind_of_server, send_announcement,
};
use crate::support::bot::{DEVELOPER, eventually, start_with_admin_guild};
use crate::support::broadcast::{channel, compose, draft_id};
use crate::support::db::TestDb;
use crate::support::discord::MODAL;
use crate::support::fake_discord::FakeDiscord;
use crate::support::interact::{WAIT, control, press, slash, submit};

/// The servers of [`seed_every_kind_of_server`] that end with a message.
const DELIVERED: [i64; 4] = [READY, ALSO_READY, FLAKY, RATE_LIMITED];

/// The message each delivered server got, by server.
async fn delivered_messages(db: &TestDb, id: i64) -> Vec<(i64, u64)> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT guild_id, message_id FROM broadcast_deliveries
          WHERE broadcast_id = $1 AND status = 'sent' ORDER BY guild_id",
    )
    .bind(id)
    .fetch_all(&db.pool)
    .await
    .unwrap();
    rows.into_iter().map(|(g, m)| (g, m as u64)).collect()
}

async fn wait_until_followups_finish(db: &TestDb, id: i64) {
    eventually("the edit or recall to finish", super::DELIVERY_WAIT, || async {
        let running = count(
            db,
            &format!("SELECT count(*) FROM broadcast_followups WHERE broadcast_id = {id} AND finished_at IS NULL"),
        )
        .await;
        let any = count(
            db,
            &format!("SELECT count(*) FROM broadcast_followups WHERE broadcast_id = {id}"),
        )
        .await;
        (any > 0 && running == 0).then_some(())
    })
    .await;
}

async fn report(fake: &FakeDiscord, interaction: u64, id: i64) -> Value {
    let reply = slash(
        fake,
        interaction,
        &format!("report-{interaction}"),
        DEVELOPER,
        &["admin", "broadcast", "report"],
        vec![("id", json!(id))],
    )
    .await;
    reply["data"]["embeds"][0].clone()
}

fn field<'a>(embed: &'a Value, name_starts: &str) -> &'a str {
    embed["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"].as_str().unwrap().starts_with(name_starts))
        .unwrap_or_else(|| panic!("a field {name_starts:?} in {embed}"))["value"]
        .as_str()
        .unwrap()
}

#[tokio::test]
async fn recall_deletes_every_delivered_message_once_and_reports_what_was_already_gone() {
    let (fake, db, bot) = start_with_admin_guild(&[]).await;
    seed_every_kind_of_server(&fake, &db).await;
    let id = send_announcement(&fake, &db, 9001, "Wrong date").await;
    let messages = delivered_messages(&db, id).await;
    assert_eq!(messages.len(), DELIVERED.len());
    // A moderator of READY deleted the message already.
    let (_, by_hand) = messages[0];
    fake.delete_by_hand(channel(READY), by_hand);

    let question = slash(
        &fake,
        9003,
        "recall-9003",
        DEVELOPER,
        &["admin", "broadcast", "recall"],
        vec![("id", json!(id))],
    )
    .await;
    let text = question["data"]["content"].as_str().unwrap();
    assert!(text.contains("delete its 4 delivered messages"), "{text}");
    assert_eq!(
        count(&db, "SELECT count(*) FROM broadcast_followups").await,
        0,
        "nothing before the answer"
    );
    let answer = press(
        &fake,
        "recall-9003",
        "recall-yes",
        DEVELOPER,
        &control(&question, "Delete them"),
        None,
    )
    .await;
    assert!(
        answer["data"]["content"]
            .as_str()
            .unwrap()
            .contains("4 messages are being deleted"),
        "{answer}"
    );
    wait_until_followups_finish(&db, id).await;

    for (guild, message) in &messages {
        assert!(
            fake.messages_in(channel(*guild)).is_empty(),
            "server {guild} has no message left"
        );
        let expected = usize::from(*message != by_hand);
        assert_eq!(
            fake.deletes_of(*message),
            expected,
            "message of {guild} deleted once"
        );
    }
    // The message that confirmed it shows the final figures.
    let progress = eventually("the recall's final progress", WAIT, || async {
        fake.original_response("recall-yes")
            .filter(|m| m["embeds"][0]["title"] == format!("Recall of broadcast #{id} finished"))
    })
    .await;
    let figures = progress["embeds"][0]["description"].as_str().unwrap();
    assert!(
        figures.contains("deleted **3** · already gone **1**"),
        "{figures}"
    );
    let recall = field(&report(&fake, 9005, id).await, "Edits and recalls").to_owned();
    assert!(
        recall.contains("deleted **3** · already gone **1** · failed **0** of 4"),
        "{recall}"
    );
    // History marks it; the delivery figures stay as delivered.
    let history = slash(
        &fake,
        9007,
        "history-9007",
        DEVELOPER,
        &["admin", "broadcast", "history"],
        vec![],
    )
    .await;
    let listed = history["data"]["embeds"][0]["description"]
        .as_str()
        .unwrap();
    assert!(
        listed.contains("**recalled**") && listed.contains("sent 4"),
        "{listed}"
    );
    // A second recall, or an edit, is refused with the reason.
    let again = slash(
        &fake,
        9009,
        "recall-9009",
        DEVELOPER,
        &["admin", "broadcast", "recall"],
        vec![("id", json!(id))],
    )
    .await;
    assert!(
        again["data"]["content"]
            .as_str()
            .unwrap()
            .contains("it was recalled"),
        "{again}"
    );
    fake.assert_no_spec_violations();
    bot.stop().await;
}

#[tokio::test]
async fn edit_replaces_every_delivered_message_in_place_after_a_preview() {
    let (fake, db, bot) = start_with_admin_guild(&[]).await;
    seed_every_kind_of_server(&fake, &db).await;
    let id = send_announcement(&fake, &db, 9101, "Maintenance on Tuesday").await;
    let messages = delivered_messages(&db, id).await;

    let form = slash(
        &fake,
        9103,
        "edit-9103",
        DEVELOPER,
        &["admin", "broadcast", "edit"],
        vec![("id", json!(id))],
    )
    .await;
    assert_eq!(form["type"], MODAL, "{form}");
    assert_eq!(form["data"]["title"], format!("Edit broadcast #{id}"));
    let title_input = &form["data"]["components"][0]["components"][0];
    assert_eq!(
        title_input["value"], "Maintenance on Tuesday",
        "filled with the current values"
    );
    let modal_id = form["data"]["custom_id"].as_str().unwrap();
    let preview = submit(
        &fake,
        "edit-submit-9105",
        DEVELOPER,
        modal_id,
        &[("title", "Maintenance on Wednesday")],
        None,
    )
    .await;
    assert_eq!(
        preview["data"]["embeds"][0]["title"],
        "Maintenance on Wednesday"
    );
    let summary = preview["data"]["embeds"][1]["description"]
        .as_str()
        .unwrap();
    assert!(
        summary.contains("edits **4** delivered messages"),
        "{summary}"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM broadcast_followups").await,
        0,
        "nothing changes before Apply"
    );
    let applied = press(
        &fake,
        "edit-submit-9105",
        "apply-9107",
        DEVELOPER,
        &control(&preview, "Apply to 4 messages"),
        None,
    )
    .await;
    assert!(
        applied["data"]["content"]
            .as_str()
            .unwrap()
            .contains("4 delivered messages are being edited"),
        "{applied}"
    );
    wait_until_followups_finish(&db, id).await;

    for (guild, message) in &messages {
        let posted = fake.messages_in(channel(*guild));
        assert_eq!(
            posted.len(),
            1,
            "still one message in {guild}, not a new one"
        );
        assert_eq!(posted[0]["embeds"][0]["title"], "Maintenance on Wednesday");
        assert_eq!(fake.edits_of(*message), 1, "edited once");
    }
    eventually("the edit's final progress", WAIT, || async {
        fake.original_response("apply-9107")
            .filter(|m| m["embeds"][0]["title"] == format!("Edit of broadcast #{id} finished"))
    })
    .await;
    let edit = field(&report(&fake, 9109, id).await, "Edits and recalls").to_owned();
    assert!(
        edit.contains("**Edit**") && edit.contains("edited **4**"),
        "{edit}"
    );
    let logged = count(
        &db,
        "SELECT count(*) FROM system_logs WHERE event_type = 'broadcast_edited'",
    )
    .await;
    assert_eq!(logged, 1);
    fake.assert_no_spec_violations();
    bot.stop().await;
}

#[tokio::test]
async fn a_broadcast_that_was_never_sent_cannot_be_edited_or_recalled() {
    let (fake, db, bot) = start_with_admin_guild(&[]).await;
    seed_every_kind_of_server(&fake, &db).await;
    let preview = compose(
        &fake,
        9201,
        "announcement",
        None,
        &[("title", "Only a draft")],
    )
    .await;
    let id = draft_id(&preview);

    for (n, command) in [(9203, "edit"), (9205, "recall")] {
        let reply = slash(
            &fake,
            n,
            &format!("{command}-{n}"),
            DEVELOPER,
            &["admin", "broadcast", command],
            vec![("id", json!(id))],
        )
        .await;
        let text = reply["data"]["content"].as_str().unwrap_or_default();
        assert!(
            text.contains("it has not been sent (it is draft)"),
            "{command}: {reply}"
        );
        assert_eq!(reply["data"]["flags"], 64, "ephemeral");
    }
    assert_eq!(
        count(&db, "SELECT count(*) FROM broadcast_followups").await,
        0
    );
    bot.stop().await;
}

/// A recall does not wait until another broadcast being sent has gone out:
/// one pass of the worker deletes and sends side by side, under one governor.
#[tokio::test]
async fn a_recall_runs_beside_a_broadcast_being_sent() {
    let fake = FakeDiscord::start().await;
    let db = TestDb::new().await;
    for guild in 1..=30 {
        crate::support::broadcast::seed_guild(&db, guild, true, crate::support::broadcast::ALL)
            .await;
    }
    let schedule = |title: &'static str| {
        let pool = db.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "INSERT INTO broadcasts (category, title, created_by, status, scheduled_for)
                 VALUES ('announcement', $1, $2, 'scheduled', now()) RETURNING id",
            )
            .bind(title)
            .bind(DEVELOPER as i64)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let worker = crate::support::broadcast::worker(&fake, &db).await;
    let typo = schedule("Tpyo").await;
    worker.deliver_once().await.unwrap();
    assert_eq!(fake.messages_posted(), 30);

    let next = schedule("Next one").await;
    admin_panel::store::broadcasts::followups::request_recall(&db.pool, typo, DEVELOPER, None)
        .await
        .unwrap()
        .unwrap();
    worker.deliver_once().await.unwrap();

    let requests = fake.requests();
    let first_delete = requests
        .iter()
        .position(|r| r.method == "DELETE")
        .expect("deletes");
    let last_send = requests
        .iter()
        .rposition(|r| r.method == "POST" && r.path.ends_with("/messages"))
        .unwrap();
    assert!(
        first_delete < last_send,
        "the recall started before the next broadcast was out"
    );
    assert_eq!(count(&db, &format!("SELECT count(*) FROM broadcast_deliveries WHERE broadcast_id = {next} AND status = 'sent'")).await, 30);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM broadcast_followup_targets WHERE status = 'done'"
        )
        .await,
        30
    );
}
