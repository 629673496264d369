//! Discord's refusals counted and capped: Discord bans an IP once it has
//! refused 10,000 requests in 10 minutes, so a broadcast into channels that
//! lost the bot's permissions (with no gateway event saying so) pauses
//! before the process's refusals pass `INVALID_REQUEST_BUDGET`: paused, not
//! failed, with the servers not yet tried still pending, and saying why.

use std::time::Duration;

use serde_json::json;

use super::{count, status};
use crate::support::bot::{DEVELOPER, eventually, start_with_admin_guild};
use crate::support::broadcast::{ALL, button_id, channel, compose, draft_id, seed_guild};
use crate::support::interact::{WAIT, press, slash};

const SERVERS: i64 = 200;
const BUDGET: usize = 40;

#[tokio::test]
async fn a_broadcast_pauses_before_discords_refusals_pass_the_budget() {
    let budget = BUDGET.to_string();
    let health = crate::support::http::free_addr();
    let (fake, db, bot) = start_with_admin_guild(&[
        ("INVALID_REQUEST_BUDGET", &budget),
        ("HEALTH_ADDR", &health),
    ])
    .await;
    for guild in 1..=SERVERS {
        seed_guild(&db, guild, true, ALL).await;
    }
    // Every other channel lost the bot's Send Messages; no event said so.
    // The refusals come a second late: until then, each send in flight
    // counts as a refusal, or more would go out than the budget allows.
    let forbidden = fake.refuse_sends_to(
        (2..=SERVERS).step_by(2).map(channel),
        Duration::from_secs(1),
    );

    let preview = compose(&fake, 9901, "announcement", None, &[("title", "Budgeted")]).await;
    let id = draft_id(&preview);
    press(
        &fake,
        "submit-9901",
        "send-9903",
        DEVELOPER,
        &button_id(&preview, "Send"),
        None,
    )
    .await;

    // Sends in flight count as refusals until answered, so the broadcast
    // may pause and go on a few times; it stays paused once the refusals
    // themselves reach 80 % of the budget with nothing left in flight.
    let in_flight = format!(
        "SELECT count(*) FROM broadcast_deliveries WHERE broadcast_id = {id} AND status = 'pending' AND claimed_by IS NOT NULL"
    );
    let refused_so_far = || {
        fake.requests()
            .iter()
            .filter(|r| r.method == "POST" && forbidden.contains(&r.path))
            .count()
    };
    let reason: String = eventually("the broadcast to pause for good", WAIT * 4, || async {
        if refused_so_far() < BUDGET * 8 / 10 || count(&db, &in_flight).await > 0 {
            return None;
        }
        sqlx::query_scalar::<_, Option<String>>(
            "SELECT paused_reason FROM broadcasts WHERE id = $1",
        )
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .unwrap()
    })
    .await;
    assert!(
        reason.starts_with("paused: Discord refused ")
            && reason.ends_with(" requests in the last 10 minutes"),
        "{reason}"
    );
    let refused = refused_so_far();
    assert!(refused <= BUDGET, "{refused} refusals, budget {BUDGET}");
    assert!(
        refused >= BUDGET * 8 / 10,
        "paused at 80 % of the budget, not before: {refused}"
    );
    assert_eq!(status(&db, id).await, "sending", "paused, not failed");
    let pending = count(
        &db,
        &format!("SELECT count(*) FROM broadcast_deliveries WHERE broadcast_id = {id} AND status = 'pending'"),
    )
    .await;
    assert!(pending > 0, "the servers not yet tried stay pending");

    // The progress message and the report say why.
    let progress = eventually("the progress message to say why", WAIT, || async {
        fake.original_response("send-9903").filter(|m| {
            m["embeds"][1]["description"]
                .as_str()
                .is_some_and(|d| d.contains(&reason))
        })
    })
    .await;
    let embed = &progress["embeds"][1];
    assert!(
        embed["title"].as_str().unwrap().contains("paused"),
        "{progress}"
    );
    assert!(
        embed["description"].as_str().unwrap().contains(&reason),
        "{progress}"
    );
    let report = slash(
        &fake,
        9905,
        "report-9905",
        DEVELOPER,
        &["admin", "broadcast", "report"],
        vec![("id", json!(id))],
    )
    .await;
    assert!(report.to_string().contains(&reason), "{report}");

    // /metrics and /admin health show the window and the budget.
    let (_, metrics) = crate::support::http::get(&health, "/metrics").await;
    for line in [
        format!("admin_panel_discord_invalid_requests {refused}\n"),
        format!("admin_panel_discord_invalid_request_budget {BUDGET}\n"),
        format!(
            "admin_panel_discord_responses_total{{route=\"messages\",class=\"4xx\"}} {refused}\n"
        ),
    ] {
        assert!(metrics.contains(&line), "{line} in {metrics}");
    }
    let sent = fake.messages_posted();
    assert!(
        metrics.contains(&format!(
            "admin_panel_discord_responses_total{{route=\"messages\",class=\"2xx\"}} {sent}\n"
        )),
        "{sent} sent: {metrics}"
    );
    let view = slash(
        &fake,
        9907,
        "health-9907",
        DEVELOPER,
        &["admin", "health"],
        vec![],
    )
    .await;
    let field = view["data"]["embeds"][0]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "Discord refusals")
        .cloned()
        .unwrap();
    let value = field["value"].as_str().unwrap();
    assert!(
        value.starts_with(&format!("{refused} of {BUDGET} in the last 10 min"))
            && value.contains("broadcasts paused"),
        "{value}"
    );
    fake.assert_no_spec_violations();
    bot.stop().await;
}
