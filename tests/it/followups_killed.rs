//! An edit or a recall killed mid-way (SIGKILL, then a restart of the
//! reference binary): the new process releases the dead one's claims and
//! finishes, and every delivered message ends edited (or deleted) exactly
//! once, also those whose request was in flight at the kill.

use std::process::Child;
use std::time::{Duration, Instant};

use admin_panel::store::broadcasts::MessageFields;
use admin_panel::store::broadcasts::followups;

use crate::support::binary::{spawn_bot, work_dir};
use crate::support::bot::DEVELOPER;
use crate::support::broadcast::{ALL, seed_guild};
use crate::support::db::TestDb;
use crate::support::fake_discord::{Failure, FakeDiscord};

const SERVERS: i64 = 150;
/// Sends, edits and deletes per second (the most Discord allows; default 40).
const RATE: &str = "50";

/// A broadcast delivered to [`SERVERS`] servers by a first process, which
/// keeps running; returns it, its id and the delivered message ids.
async fn delivered(
    fake: &FakeDiscord,
    db: &TestDb,
    dir: &std::path::Path,
) -> (Child, i64, Vec<u64>) {
    fake.join_guilds(1..=SERVERS as u64);
    for guild in 1..=SERVERS {
        seed_guild(db, guild, true, ALL).await;
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO broadcasts (category, title, content, created_by, status, scheduled_for)
         VALUES ('announcement', 'Version 3 is out', 'Typo inside.', $1, 'scheduled', now())
         RETURNING id",
    )
    .bind(DEVELOPER as i64)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let bot = spawn_bot(dir, fake, db, "first.log", &[("BROADCAST_RATE", RATE)]);
    wait_for(
        db,
        &format!("SELECT count(*) FROM broadcasts WHERE id = {id} AND status = 'sent'"),
        1,
        60,
    )
    .await;
    let messages: Vec<i64> = sqlx::query_scalar(
        "SELECT message_id FROM broadcast_deliveries WHERE broadcast_id = $1 AND status = 'sent'",
    )
    .bind(id)
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(messages.len(), SERVERS as usize);
    (bot, id, messages.into_iter().map(|m| m as u64).collect())
}

async fn wait_for(db: &TestDb, sql: &str, at_least: i64, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_one(&db.pool)
            .await
            .unwrap();
        if n >= at_least {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {sql} >= {at_least} (at {n})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Starts the follow-up with `request`, SIGKILLs the process once `done`
/// counts a third of the messages, restarts, and waits for the end.
async fn killed_midway<R, D>(request: R, done: D)
where
    R: AsyncFnOnce(&TestDb, i64) -> (),
    D: Fn(&FakeDiscord, &[u64]) -> (usize, Vec<usize>),
{
    let fake = FakeDiscord::start().await;
    let db = TestDb::new().await;
    let dir = work_dir();
    let (mut first, id, messages) = delivered(&fake, &db, &dir).await;
    // Slow answers keep edits and deletes in flight, so the kill lands in
    // the middle of some.
    for method in ["PATCH", "DELETE"] {
        fake.fail_route(
            method,
            "/api/v10/channels/*/messages/*",
            Failure::Delay(Duration::from_millis(50)),
            None,
        );
    }
    request(&db, id).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while done(&fake, &messages).0 < messages.len() / 3 {
        assert!(
            Instant::now() < deadline,
            "the first process never got a third done"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    first.kill().unwrap();
    first.wait().unwrap();
    let at_kill = done(&fake, &messages).0;
    assert!(
        at_kill < messages.len(),
        "killed before the end ({at_kill} done)"
    );

    let mut second = spawn_bot(&dir, &fake, &db, "second.log", &[("BROADCAST_RATE", RATE)]);
    wait_for(
        &db,
        "SELECT count(*) FROM broadcast_followups WHERE finished_at IS NOT NULL",
        1,
        90,
    )
    .await;
    // SAFETY: kill(2) with a pid we spawned and a valid signal number.
    unsafe { libc::kill(second.id() as i32, libc::SIGTERM) };
    second.wait().unwrap();

    let (total, per_message) = done(&fake, &messages);
    assert_eq!(total, messages.len());
    assert!(
        per_message.iter().all(|n| *n == 1),
        "every message exactly once: {per_message:?}"
    );
    let (targets, finished): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE status = 'done') FROM broadcast_followup_targets",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        (targets, finished),
        (SERVERS, SERVERS),
        "the report adds up"
    );
}

#[tokio::test]
async fn an_edit_killed_midway_resumes_and_edits_every_message_exactly_once() {
    killed_midway(
        async |db: &TestDb, id| {
            let message = MessageFields {
                category: "announcement".into(),
                title: "Version 3 is out".into(),
                content: Some("Typo fixed.".into()),
                color: None,
                image_url: None,
                footer: None,
            };
            followups::request_edit(&db.pool, id, &message, DEVELOPER, None)
                .await
                .unwrap()
                .unwrap();
        },
        |fake, messages| {
            let per_message: Vec<usize> = messages.iter().map(|m| fake.edits_of(*m)).collect();
            (per_message.iter().filter(|n| **n > 0).count(), per_message)
        },
    )
    .await;
}

#[tokio::test]
async fn a_recall_killed_midway_resumes_and_deletes_every_message_exactly_once() {
    killed_midway(
        async |db: &TestDb, id| {
            followups::request_recall(&db.pool, id, DEVELOPER, None)
                .await
                .unwrap()
                .unwrap();
        },
        |fake, messages| {
            let per_message: Vec<usize> = messages.iter().map(|m| fake.deletes_of(*m)).collect();
            (per_message.iter().filter(|n| **n > 0).count(), per_message)
        },
    )
    .await;
}
