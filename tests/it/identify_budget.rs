//! Discord's 1,000 identifies a day: a process does not connect while what
//! is left is below its shards plus `IDENTIFY_RESERVE`, says why on
//! `/health`, and connects once the budget is reset.

use std::time::{Duration, Instant};

use admin_panel::config::Config;
use serde_json::Value;
use tokio::task::JoinHandle;

use crate::support::bot::{TestBot, eventually, test_config};
use crate::support::db::TestDb;
use crate::support::fake_discord::FakeDiscord;
use crate::support::http::{free_addr, get};

/// Starts the bot on its own task: `TestBot::start` returns only once its
/// shards are connected, and these tests look at it before that.
fn start_in_background(fake: &FakeDiscord, config: Config) -> JoinHandle<TestBot> {
    let fake = fake.clone();
    tokio::spawn(async move { TestBot::start(&fake, config).await })
}

/// `/health`'s status and body, once the health server listens.
async fn health_now(addr: &str) -> Option<(u16, Value)> {
    tokio::net::TcpStream::connect(addr).await.ok()?;
    let (status, body) = get(addr, "/health").await;
    Some((status, serde_json::from_str(&body).ok()?))
}

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
    let starting = start_in_background(&fake, config);

    let body: Value = eventually(
        "/health naming the identify budget",
        Duration::from_secs(10),
        || async {
            let (status, body) = health_now(&health).await?;
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

/// The gaps between consecutive IDENTIFYs, in order.
fn gaps(fake: &FakeDiscord) -> Vec<Duration> {
    let times: Vec<Instant> = fake.identifies().iter().map(|(_, at)| *at).collect();
    times.windows(2).map(|pair| pair[1] - pair[0]).collect()
}

#[tokio::test]
async fn processes_started_together_take_turns_to_identify_shards_of_one_bucket() {
    // Two processes of one bot, one shard each, both in bucket 0 of
    // max_concurrency 1: started at once, they must not identify at once.
    let fake = FakeDiscord::start().await;
    let db = TestDb::new().await;
    let first = test_config(&fake, &db, &[("SHARD_COUNT", "2"), ("SHARD_IDS", "0")]);
    let second = test_config(&fake, &db, &[("SHARD_COUNT", "2"), ("SHARD_IDS", "1")]);
    let (a, b) = tokio::join!(TestBot::start(&fake, first), TestBot::start(&fake, second));

    let mut shards = fake.identified_shards();
    shards.sort();
    assert_eq!(shards, vec![[0, 2], [1, 2]]);
    let gaps = gaps(&fake);
    assert!(
        gaps.iter().all(|gap| *gap >= Duration::from_secs(5)),
        "identifies of one bucket at least 5 s apart across processes: {gaps:?}"
    );
    tokio::join!(a.stop(), b.stop());
}

#[tokio::test]
async fn shards_of_different_buckets_identify_side_by_side() {
    // max_concurrency 2: shards 0 and 1 are buckets 0 and 1 and may
    // identify in the same 5 s; shard 2 shares bucket 0 with shard 0.
    let fake = FakeDiscord::start().await;
    fake.set_max_concurrency(2);
    let db = TestDb::new().await;
    let bot = TestBot::start(&fake, test_config(&fake, &db, &[("SHARD_COUNT", "3")])).await;

    let identifies = fake.identifies();
    let at = |shard: u16| {
        identifies
            .iter()
            .find(|(identified, _)| identified[0] == shard)
            .map(|(_, at)| *at)
            .unwrap_or_else(|| panic!("shard {shard} identified: {identifies:?}"))
    };
    let (zero, one, two) = (at(0), at(1), at(2));
    let apart = |a: Instant, b: Instant| if a > b { a - b } else { b - a };
    assert!(
        apart(zero, one) < Duration::from_secs(2),
        "buckets 0 and 1 side by side: {:?} apart",
        apart(zero, one)
    );
    assert!(
        two - zero >= Duration::from_secs(5),
        "shard 2 waits for bucket 0's next turn: {:?} after shard 0",
        two - zero
    );
    bot.stop().await;
}

#[tokio::test]
async fn health_counts_a_shard_still_waiting_for_its_turn() {
    // Two shards of one bucket: the second starts 5.5 s after the first,
    // and until then the process is not healthy.
    let fake = FakeDiscord::start().await;
    let db = TestDb::new().await;
    let health = free_addr();
    let config = test_config(
        &fake,
        &db,
        &[("SHARD_COUNT", "2"), ("HEALTH_ADDR", &health)],
    );
    let starting = start_in_background(&fake, config);
    let (status, body) = eventually(
        "/health with one shard connected",
        Duration::from_secs(20),
        || async {
            let (status, body) = health_now(&health).await?;
            (body["shards_connected"] == 1).then_some((status, body))
        },
    )
    .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["shards_total"], 2, "{body}");
    assert_eq!(body["status"], "unavailable", "{body}");

    let bot = tokio::time::timeout(Duration::from_secs(30), starting)
        .await
        .expect("both shards connect")
        .unwrap();
    let body: Value = eventually(
        "/health 200 with both shards",
        Duration::from_secs(10),
        || async {
            let (status, body) = get(&health, "/health").await;
            (status == 200).then(|| serde_json::from_str(&body).unwrap())
        },
    )
    .await;
    assert_eq!(body["shards_connected"], 2);
    bot.stop().await;
}
