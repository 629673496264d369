//! A Discord outage is waited out: while every send answers 502, a
//! broadcast probes about once a second (backing off) instead of sending at
//! full rate, says so in its progress message, gives no server up as
//! failed, and once Discord answers again every server gets its message
//! exactly once.

use std::time::{Duration, Instant};

use super::{count, status};
use crate::support::bot::{DEVELOPER, eventually, start_with_admin_guild};
use crate::support::broadcast::{ALL, button_id, channel, compose, draft_id, seed_guild};
use crate::support::fake_discord::Failure;
use crate::support::interact::press;

const SERVERS: i64 = 150;
const OUTAGE: Duration = Duration::from_secs(40);
/// Time for the worker to see that nothing is answered (the sends already
/// in flight fail first).
const DETECTION: Duration = Duration::from_secs(5);

#[tokio::test]
async fn a_discord_outage_is_waited_out_and_every_server_gets_one_message() {
    let (fake, db, bot) = start_with_admin_guild(&[("BROADCAST_RATE", "10")]).await;
    for guild in 1..=SERVERS {
        seed_guild(&db, guild, true, ALL).await;
    }
    let preview = compose(&fake, 9951, "announcement", None, &[("title", "Outage")]).await;
    let id = draft_id(&preview);
    press(
        &fake,
        "submit-9951",
        "send-9953",
        DEVELOPER,
        &button_id(&preview, "Send"),
        None,
    )
    .await;
    let sent = || fake.messages_posted();
    eventually(
        "a fifth of the servers reached",
        Duration::from_secs(30),
        || async { (sent() >= 30).then_some(()) },
    )
    .await;

    // Discord goes down: every send answers 502 for 40 s.
    let down_at = Instant::now();
    fake.fail_route(
        "POST",
        "/api/v10/channels/*/messages",
        Failure::Status {
            status: 502,
            code: 0,
            message: "Bad Gateway".to_owned(),
        },
        None,
    );
    eventually(
        "the progress message to say so",
        Duration::from_secs(20),
        || async {
            fake.original_response("send-9953").filter(|m| {
                m["embeds"][1]["description"]
                    .as_str()
                    .is_some_and(|d| d.contains("Discord is not answering; retrying"))
            })
        },
    )
    .await;
    // The outage lasts as long as it lasts: this is the scenario, not a wait
    // for the bot.
    tokio::time::sleep_until((down_at + OUTAGE).into()).await;
    fake.clear_failures();
    let up_at = Instant::now();

    eventually(
        "the broadcast to finish",
        Duration::from_secs(90),
        || async { (status(&db, id).await == "sent").then_some(()) },
    )
    .await;
    let sends_while_down = fake
        .requests()
        .iter()
        .filter(|r| {
            r.method == "POST"
                && r.path.starts_with("/api/v10/channels/")
                && r.path.ends_with("/messages")
                && r.at >= down_at + DETECTION
                && r.at < up_at
        })
        .count();
    let seconds = (up_at - down_at - DETECTION).as_secs_f64();
    assert!(
        (sends_while_down as f64) <= seconds + 3.0,
        "{sends_while_down} sends in {seconds:.0} s of outage"
    );
    for guild in 1..=SERVERS {
        assert_eq!(
            fake.messages_in(channel(guild)).len(),
            1,
            "server {guild}: exactly one message"
        );
    }
    let failed = count(
        &db,
        &format!("SELECT count(*) FROM broadcast_deliveries WHERE broadcast_id = {id} AND status = 'failed'"),
    )
    .await;
    assert_eq!(failed, 0, "no server is given up while Discord is down");
    let paused: Option<String> =
        sqlx::query_scalar("SELECT paused_reason FROM broadcasts WHERE id = $1")
            .bind(id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(paused, None, "no longer says it holds back");
    fake.assert_no_spec_violations();
    bot.stop().await;
}
