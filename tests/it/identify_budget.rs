//! Discord's 1,000 identifies a day: a process does not connect while what
//! is left is below its shards plus `IDENTIFY_RESERVE`, says why on
//! `/health`, and connects once the budget is reset.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::bot::{TestBot, eventually, test_config};
use crate::support::db::TestDb;
use crate::support::fake_discord::FakeDiscord;
use crate::support::http::{free_addr, get};

#[tokio::test]
async fn a_process_short_of_identifies_waits_for_the_reset_saying_why_then_connects() {
    let fake = FakeDiscord::start().await;
    let db = TestDb::new().await;
    let reset_after = Duration::from_secs(12);
    fake.set_session_start_limit(3, reset_after);
    let reset_at = Instant::now() + reset_after;
    let health = free_addr();
    // One shard and the default reserve of 50: 51 needed, 3 left.
    let config = test_config(&fake, &db, &[("HEALTH_ADDR", &health)]);
    let starting = tokio::spawn({
        let fake = fake.clone();
        async move { TestBot::start(&fake, config).await }
    });

    let body: Value = eventually(
        "/health naming the identify budget",
        Duration::from_secs(10),
        || async {
            let (status, body) = match tokio::net::TcpStream::connect(&health).await {
                Ok(_) => get(&health, "/health").await,
                Err(_) => return None,
            };
            let body: Value = serde_json::from_str(&body).ok()?;
            (status == 503 && body["gateway"].as_str().is_some()).then_some(body)
        },
    )
    .await;
    let reason = body["gateway"].as_str().unwrap();
    assert!(reason.starts_with("identify budget: "), "{reason}");
    assert!(reason.contains("3 more identifies"), "{reason}");
    assert!(
        reason.contains("needs 51 (1 shard + IDENTIFY_RESERVE 50)"),
        "{reason}"
    );
    assert_eq!(body["status"], "unavailable");
    assert!(
        fake.identified_shards().is_empty(),
        "no IDENTIFY before the reset"
    );

    let bot = tokio::time::timeout(Duration::from_secs(30), starting)
        .await
        .expect("connected after the reset")
        .unwrap();
    assert!(Instant::now() >= reset_at, "not before the reset");
    assert_eq!(fake.identified_shards(), vec![[0, 1]]);
    let (status, body) = get(&health, "/health").await;
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.get("gateway").is_none(), "{body}");
    bot.stop().await;
}
