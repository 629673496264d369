//! A bot token reset or revoked while the bot runs: Discord refuses every
//! request made with it, and each refusal counts towards the ban Discord
//! gives an IP after 10,000 invalid responses in 10 minutes. The reference
//! binary stops sending at once, logs why, exits non-zero, and a restart
//! with a new token finishes the broadcast it was delivering.

use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

use crate::support::binary::{spawn_bot, work_dir};
use crate::support::binary_broadcast::BinaryBroadcast;
use crate::support::bot::TOKEN;
use crate::support::db::TestDb;
use crate::support::fake_discord::FakeDiscord;

/// 200 servers, each with its broadcast channel.
const SERVERS: BinaryBroadcast = BinaryBroadcast {
    guilds: 200,
    channels: 920_000_000_000,
};
/// The token put in place after the reset (any other valid-looking token).
const NEW_TOKEN: &str = "MTk4NjIyNDgzNDcxOTI1MjQ5.Cl2FMQ.bW9yZS10aGFuLXR3ZW50eS1jaGFycw";
const REFUSED: &str = "the bot token was rejected: reset or revoked";

/// Polls until `child` exits or `timeout` passes.
async fn exit_within(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_token_revoked_mid_broadcast_stops_the_bot_within_5_s_and_a_new_token_finishes_it() {
    let fake = FakeDiscord::start().await;
    let db = TestDb::new().await;
    let dir = work_dir();
    // Slow answers keep sends in flight when the token is reset.
    let id = SERVERS.seed(&fake, &db, "announcement").await;

    let mut first = spawn_bot(&dir, &fake, &db, "first.log", &[]);
    SERVERS.wait_for_messages(&fake, 50).await;
    fake.revoke_token(TOKEN);
    let revoked_at = Instant::now();
    let status = exit_within(&mut first, Duration::from_secs(5)).await;
    let stopped_in = revoked_at.elapsed();
    let log = std::fs::read_to_string(dir.join("first.log")).unwrap_or_default();
    let Some(status) = status else {
        let _ = first.kill();
        panic!("still running 5 s after the token was revoked; log:\n{log}");
    };
    assert!(!status.success(), "exits non-zero: {status}");
    let refused = fake.unauthorized_served();
    assert!(
        (1..=10).contains(&refused),
        "at most 10 requests got a 401, whatever was in flight: {refused}"
    );
    let logged: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("ERROR") && line.contains(REFUSED))
        .collect();
    assert_eq!(logged.len(), 1, "one error naming the cause:\n{log}");
    assert!(
        log.lines()
            .last()
            .is_some_and(|line| line.starts_with("admin-panel: ") && line.contains(REFUSED)),
        "the last line says why it stopped:\n{log}"
    );
    let posted = SERVERS.messages_posted(&fake);
    assert!(
        posted < SERVERS.guilds as usize,
        "stopped mid-broadcast: {posted}"
    );
    let failed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM broadcast_deliveries WHERE broadcast_id = $1 AND status = 'failed'",
    )
    .bind(id)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(failed, 0, "a refused token fails no delivery");
    println!("stopped {stopped_in:?} after the reset, {refused} requests refused, {posted} sent");

    // A new token from the Developer Portal: the broadcast resumes.
    let second = spawn_bot(
        &dir,
        &fake,
        &db,
        "second.log",
        &[("DISCORD_TOKEN", NEW_TOKEN)],
    );
    SERVERS.finish(&db, id, second, &dir, "second.log").await;
    SERVERS.assert_one_message_each(&fake);
    assert_eq!(
        fake.unauthorized_served(),
        refused,
        "nothing more was refused"
    );
    fake.assert_no_spec_violations();
}
