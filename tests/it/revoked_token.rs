//! A bot token reset or revoked while the bot runs: Discord refuses every
//! request made with it, and each refusal counts towards the ban Discord
//! gives an IP after 10,000 invalid responses in 10 minutes. The reference
//! binary stops sending at once, logs why, exits non-zero, and a restart
//! with a new token finishes the broadcast it was delivering.

use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

use crate::support::binary::{spawn_bot, work_dir};
use crate::support::bot::{DEVELOPER, TOKEN};
use crate::support::db::TestDb;
use crate::support::fake_discord::{Failure, FakeDiscord};

const GUILDS: i64 = 200;
/// The token put in place after the reset (any other valid-looking token).
const NEW_TOKEN: &str = "MTk4NjIyNDgzNDcxOTI1MjQ5.Cl2FMQ.bW9yZS10aGFuLXR3ZW50eS1jaGFycw";
const REFUSED: &str = "the bot token was rejected: reset or revoked";

fn channel(guild: i64) -> u64 {
    920_000_000_000 + guild as u64
}

fn messages_posted(fake: &FakeDiscord) -> usize {
    (1..=GUILDS)
        .map(|guild| fake.messages_in(channel(guild)).len())
        .sum()
}

/// `GUILDS` servers with a broadcast channel, and a broadcast to them due now.
async fn seed(fake: &FakeDiscord, db: &TestDb) -> i64 {
    fake.join_guilds(1..=GUILDS as u64);
    sqlx::query(
        "INSERT INTO guilds (id, name, member_count, joined_at)
         SELECT g, 'Guild ' || g, 10, now() FROM generate_series(1, $1::int8) AS g",
    )
    .bind(GUILDS)
    .execute(&db.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO guild_settings (guild_id, broadcast_channel_id)
         SELECT g, 920000000000 + g FROM generate_series(1, $1::int8) AS g",
    )
    .bind(GUILDS)
    .execute(&db.pool)
    .await
    .unwrap();
    sqlx::query_scalar(
        "INSERT INTO broadcasts (category, title, content, created_by, status, scheduled_for)
         VALUES ('announcement', 'New features', 'Read all about them.', $1, 'scheduled', now())
         RETURNING id",
    )
    .bind(DEVELOPER as i64)
    .fetch_one(&db.pool)
    .await
    .unwrap()
}

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
    let id = seed(&fake, &db).await;
    // Slow answers keep sends in flight when the token is reset.
    fake.fail_route(
        "POST",
        "/api/v10/channels/*/messages",
        Failure::Delay(Duration::from_millis(50)),
        None,
    );

    let mut first = spawn_bot(&dir, &fake, &db, "first.log", &[]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while messages_posted(&fake) < 50 {
        assert!(Instant::now() < deadline, "the broadcast never got going");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
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
    let posted = messages_posted(&fake);
    assert!(posted < GUILDS as usize, "stopped mid-broadcast: {posted}");
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
    let mut second = spawn_bot(
        &dir,
        &fake,
        &db,
        "second.log",
        &[("DISCORD_TOKEN", NEW_TOKEN)],
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status: String = sqlx::query_scalar("SELECT status FROM broadcasts WHERE id = $1")
            .bind(id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
        if status == "sent" {
            break;
        }
        if Instant::now() > deadline {
            let _ = second.kill();
            let log = std::fs::read_to_string(dir.join("second.log")).unwrap_or_default();
            panic!("still {status} after the restart; log:\n{log}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // SAFETY: kill(2) with a pid we spawned and a valid signal number.
    unsafe { libc::kill(second.id() as i32, libc::SIGTERM) };
    second.wait().unwrap();
    for guild in 1..=GUILDS {
        let posted = fake.messages_in(channel(guild)).len();
        assert_eq!(posted, 1, "guild {guild} has exactly one message");
    }
    assert_eq!(
        fake.unauthorized_served(),
        refused,
        "nothing more was refused"
    );
    fake.assert_no_spec_violations();
}
