//! A second pair of eyes (`BROADCAST_APPROVALS=1`): Send asks for approval;
//! another developer approves (it goes out) or rejects with a reason; the
//! composer can never approve their own; every step is logged with who.

use serde_json::{Value, json};

use super::{READY, count, seed_every_kind_of_server, status, wait_until_sent};
use crate::support::bot::{ADMIN_GUILD, DEVELOPER, start_with_admin_guild, test_config};
use crate::support::broadcast::{button_id, channel, compose, draft_id};
use crate::support::discord::MODAL;
use crate::support::fake_discord::FakeDiscord;
use crate::support::interact::{control, press, slash, submit, wait_for_access};

/// A second developer, from the `developers` table.
const REVIEWER: u64 = 200_000_000_000_000_077;

async fn review(fake: &FakeDiscord, interaction: u64, by: u64, id: i64) -> Value {
    slash(
        fake,
        interaction,
        &format!("review-{interaction}"),
        by,
        &["admin", "broadcast", "review"],
        vec![("id", json!(id))],
    )
    .await
}

/// Composes and presses Send; returns the broadcast id.
async fn compose_and_send(fake: &FakeDiscord, interaction: u64, title: &str) -> i64 {
    let preview = compose(fake, interaction, "announcement", None, &[("title", title)]).await;
    let id = draft_id(&preview);
    let asked = press(
        fake,
        &format!("submit-{interaction}"),
        &format!("send-{interaction}"),
        DEVELOPER,
        &button_id(&preview, "Send"),
        None,
    )
    .await;
    let text = asked["data"]["content"].as_str().unwrap();
    assert!(
        text.contains("waits for another developer's approval"),
        "{text}"
    );
    id
}

#[tokio::test]
async fn with_approvals_send_waits_for_another_developer_and_the_composer_cannot_approve() {
    let (fake, db, bot) = start_with_admin_guild(&[("BROADCAST_APPROVALS", "1")]).await;
    seed_every_kind_of_server(&fake, &db).await;
    admin_panel::store::developers::add(&db.pool, REVIEWER, DEVELOPER)
        .await
        .unwrap();
    wait_for_access(&fake, REVIEWER, true).await;
    let id = compose_and_send(&fake, 9501, "Needs a look").await;
    assert_eq!(status(&db, id).await, "draft");

    let pending = slash(
        &fake,
        9503,
        "pending-9503",
        REVIEWER,
        &["admin", "broadcast", "pending"],
        vec![],
    )
    .await;
    let listed = pending["data"]["embeds"][0]["description"]
        .as_str()
        .unwrap();
    assert!(
        listed.contains(&format!("**#{id}** Needs a look")),
        "{listed}"
    );
    // The composer reviews it too, but cannot approve it.
    let own = review(&fake, 9505, DEVELOPER, id).await;
    let refused = press(
        &fake,
        "review-9505",
        "approve-9507",
        DEVELOPER,
        &control(&own, "Approve"),
        None,
    )
    .await;
    assert!(
        refused["data"]["content"]
            .as_str()
            .unwrap()
            .contains("another developer must decide"),
        "{refused}"
    );
    assert_eq!(status(&db, id).await, "draft");
    assert!(
        fake.messages_in(channel(READY)).is_empty(),
        "nothing went out"
    );

    // The reviewer opens it from the pending list's menu.
    let id_text = id.to_string();
    let theirs = press(
        &fake,
        "pending-9503",
        "pick-9509",
        REVIEWER,
        &control(&pending, "Review one…"),
        Some(vec![id_text.as_str()]),
    )
    .await;
    assert_eq!(theirs["data"]["flags"], 64, "ephemeral");
    assert_eq!(
        theirs["data"]["embeds"][0]["title"], "Needs a look",
        "the exact message"
    );
    let approved = press(
        &fake,
        "pick-9509",
        "approve-9511",
        REVIEWER,
        &control(&theirs, "Approve"),
        None,
    )
    .await;
    assert!(
        approved["data"]["content"]
            .as_str()
            .unwrap()
            .contains("Approved"),
        "{approved}"
    );
    wait_until_sent(&db, id).await;
    assert_eq!(fake.messages_in(channel(READY)).len(), 1);
    for (event, who) in [
        ("broadcast_approval_requested", DEVELOPER),
        ("broadcast_approved", REVIEWER),
    ] {
        let logged = count(&db, &format!("SELECT count(*) FROM system_logs WHERE event_type = '{event}' AND message LIKE '%{who}%'")).await;
        assert_eq!(logged, 1, "{event} names {who}");
    }
    bot.stop().await;
}

#[tokio::test]
async fn a_rejection_carries_a_reason_back_to_the_composer_and_sends_nothing() {
    let (fake, db, bot) = start_with_admin_guild(&[("BROADCAST_APPROVALS", "1")]).await;
    seed_every_kind_of_server(&fake, &db).await;
    admin_panel::store::developers::add(&db.pool, REVIEWER, DEVELOPER)
        .await
        .unwrap();
    wait_for_access(&fake, REVIEWER, true).await;
    let id = compose_and_send(&fake, 9521, "Typo inside").await;

    let theirs = review(&fake, 9523, REVIEWER, id).await;
    let form = press(
        &fake,
        "review-9523",
        "reject-9525",
        REVIEWER,
        &control(&theirs, "Reject"),
        None,
    )
    .await;
    assert_eq!(form["type"], MODAL);
    let modal_id = form["data"]["custom_id"].as_str().unwrap();
    let rejected = submit(
        &fake,
        "reason-9527",
        REVIEWER,
        modal_id,
        &[("reason", "Fix the date first")],
        None,
    )
    .await;
    assert!(
        rejected["data"]["content"]
            .as_str()
            .unwrap()
            .contains("Rejected"),
        "{rejected}"
    );

    assert_eq!(status(&db, id).await, "draft");
    assert_eq!(fake.messages_posted(), 0);
    let report = slash(
        &fake,
        9529,
        "report-9529",
        DEVELOPER,
        &["admin", "broadcast", "report"],
        vec![("id", json!(id))],
    )
    .await;
    let description = report["data"]["embeds"][0]["description"].as_str().unwrap();
    assert!(
        description.contains("Rejected: Fix the date first"),
        "{description}"
    );
    let logged = count(&db, &format!("SELECT count(*) FROM system_logs WHERE event_type = 'broadcast_rejected' AND message LIKE '%{REVIEWER}%'")).await;
    assert_eq!(logged, 1);
    // Nothing is left waiting.
    let pending = slash(
        &fake,
        9531,
        "pending-9531",
        REVIEWER,
        &["admin", "broadcast", "pending"],
        vec![],
    )
    .await;
    assert!(
        pending["data"]["embeds"][0]["title"]
            .as_str()
            .unwrap()
            .ends_with(": 0"),
        "{pending}"
    );
    fake.assert_no_spec_violations();
    bot.stop().await;
}

/// Approvals cannot be bypassed: a draft that asked for one is queued only by
/// an approval, even when the process that gets the old Send press runs
/// without `BROADCAST_APPROVALS` (a deploy that turned it off, or a second
/// process configured differently).
#[tokio::test]
async fn a_draft_awaiting_approval_is_not_sent_by_a_process_without_approvals() {
    let (fake, db, bot) = start_with_admin_guild(&[("BROADCAST_APPROVALS", "1")]).await;
    seed_every_kind_of_server(&fake, &db).await;
    let preview = compose(
        &fake,
        9601,
        "announcement",
        None,
        &[("title", "Wait for it")],
    )
    .await;
    let id = draft_id(&preview);
    let send = button_id(&preview, "Send");
    let asked = press(&fake, "submit-9601", "send-9603", DEVELOPER, &send, None).await;
    assert!(
        asked["data"]["content"]
            .as_str()
            .unwrap()
            .contains("waits for another developer's approval"),
        "{asked}"
    );

    let admin_guild = ADMIN_GUILD.to_string();
    let without_approvals = test_config(&fake, &db, &[("ADMIN_GUILD_IDS", admin_guild.as_str())]);
    let bot = bot.restart(&fake, without_approvals).await;
    let again = press(&fake, "submit-9601", "send-9605", DEVELOPER, &send, None).await;
    let text = again["data"]["content"].as_str().unwrap();
    assert!(
        text.contains("only an approval sends it") && text.contains("Nothing changed"),
        "{text}"
    );
    assert_eq!(status(&db, id).await, "draft");
    let still_waiting = count(
        &db,
        &format!(
            "SELECT count(*) FROM broadcasts WHERE id = {id} AND approval_requested_at IS NOT NULL"
        ),
    )
    .await;
    assert_eq!(still_waiting, 1, "still waiting for its approval");
    assert_eq!(fake.messages_posted(), 0, "nothing went out");
    // The store refuses too, for a press that read the draft before the
    // approval was asked for.
    let progress = admin_panel::store::broadcasts::ProgressTarget {
        application_id: 1,
        token: "t".to_owned(),
        expires_at: chrono::Utc::now(),
    };
    let queued = admin_panel::store::broadcasts::queue(&db.pool, id, chrono::Utc::now(), &progress)
        .await
        .unwrap();
    assert_eq!(
        queued,
        admin_panel::store::broadcasts::Queueing::AwaitsApproval
    );
    assert_eq!(status(&db, id).await, "draft");
    fake.assert_no_spec_violations();
    bot.stop().await;
}
