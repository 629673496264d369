//! Command events reach PostgreSQL in batches with their rollups, and the
//! 24-hour figures read from the rollups match the raw events exactly.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::support::db::TestDb;
use admin_panel::store::command_stats::{self, CommandEvent, Outcome};
use admin_panel::telemetry::recorder::{CommandRecorder, run_flusher};
use chrono::{DateTime, TimeDelta, Utc};
use tokio_util::sync::CancellationToken;

fn event(
    command: &str,
    user: u64,
    guild: Option<u64>,
    at: DateTime<Utc>,
    success: bool,
) -> CommandEvent {
    CommandEvent {
        command: command.to_owned(),
        guild_id: guild,
        user_id: user,
        executed_at: at,
        outcome: if success {
            Outcome::Ok
        } else {
            Outcome::InternalError
        },
        first_response_ms: 7,
        duration_ms: 12,
    }
}

async fn scalar(db: &TestDb, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&db.pool)
        .await
        .expect(sql)
}

#[tokio::test]
async fn a_batch_updates_every_rollup_in_the_same_transaction() {
    let db = TestDb::new().await;
    let at = "2026-11-20T10:15:00Z".parse().unwrap();
    let events = vec![
        event("ping", 1, Some(100), at, true),
        event("ping", 2, Some(100), at, false),
        event("admin stats", 1, None, at + TimeDelta::hours(1), true),
    ];

    command_stats::insert_batch(&db.pool, &events)
        .await
        .unwrap();

    assert_eq!(scalar(&db, "SELECT count(*) FROM command_stats").await, 3);
    assert_eq!(
        scalar(
            &db,
            "SELECT uses FROM command_stats_daily WHERE command = 'ping' AND day = '2026-11-20'"
        )
        .await,
        2
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT failures FROM command_stats_daily WHERE command = 'ping'"
        )
        .await,
        1
    );
    assert_eq!(
        scalar(&db, "SELECT count(*) FROM command_stats_hourly").await,
        2,
        "ping at 10:00 and admin stats at 11:00"
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT uses FROM command_stats_guild_daily WHERE guild_id = 100"
        )
        .await,
        2
    );
    assert_eq!(command_stats::unique_users(&db.pool).await.unwrap(), 2);
}

#[tokio::test]
async fn known_users_are_not_counted_twice_across_batches() {
    let db = TestDb::new().await;
    let now = Utc::now();
    for user in [1, 2, 1, 3, 2] {
        command_stats::insert_batch(&db.pool, &[event("ping", user, None, now, true)])
            .await
            .unwrap();
    }
    assert_eq!(command_stats::unique_users(&db.pool).await.unwrap(), 3);
    assert_eq!(scalar(&db, "SELECT count(*) FROM command_users").await, 3);
}

#[tokio::test]
async fn the_24_hour_window_is_exact_even_inside_the_boundary_hour() {
    let db = TestDb::new().await;
    // A fixed "now" in the middle of an hour, so the window starts mid-hour.
    let now: DateTime<Utc> = "2026-11-24T12:30:00Z".parse().unwrap();
    let events = vec![
        event("old", 1, None, now - TimeDelta::minutes(24 * 60 + 1), true), // 1 min outside
        event("edge", 1, None, now - TimeDelta::minutes(24 * 60 - 1), true), // 1 min inside
        event("recent", 1, None, now - TimeDelta::hours(1), true),
        event("recent", 2, None, now - TimeDelta::minutes(5), true),
        event("future", 1, None, now + TimeDelta::hours(2), true),
    ];
    command_stats::insert_batch(&db.pool, &events)
        .await
        .unwrap();

    let ranking = command_stats::last_24h_by_command(&mut db.pool.acquire().await.unwrap(), now)
        .await
        .unwrap();

    let pairs: Vec<(&str, i64)> = ranking
        .iter()
        .map(|c| (c.command.as_str(), c.uses))
        .collect();
    assert_eq!(pairs, vec![("recent", 2), ("edge", 1)]);
}

/// A recorder whose flusher writes into `db` until the token is cancelled.
fn start_flusher(
    db: &TestDb,
    capacity: usize,
) -> (
    CommandRecorder,
    CancellationToken,
    tokio::task::JoinHandle<()>,
) {
    let (recorder, receiver) = CommandRecorder::new(capacity);
    let shutdown = CancellationToken::new();
    let (pool, counters, stop) = (
        db.pool.clone(),
        recorder.counters().clone(),
        shutdown.clone(),
    );
    let flusher = tokio::spawn(async move {
        let mut receiver = receiver;
        run_flusher(pool, &mut receiver, counters, stop).await;
    });
    (recorder, shutdown, flusher)
}

#[tokio::test]
async fn the_flusher_writes_everything_still_buffered_at_shutdown() {
    let db = TestDb::new().await;
    let (recorder, shutdown, flusher) = start_flusher(&db, 10_000);
    let now = Utc::now();
    for i in 0..2_500u64 {
        recorder.enqueue(event("ping", i % 700 + 1, Some(1), now, true));
    }

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(30), flusher)
        .await
        .expect("the flusher stops after shutdown")
        .unwrap();

    assert_eq!(
        scalar(&db, "SELECT count(*) FROM command_stats").await,
        2_500
    );
    assert_eq!(recorder.recorded(), 2_500);
    assert_eq!(recorder.dropped(), 0);
    assert_eq!(command_stats::unique_users(&db.pool).await.unwrap(), 700);
}

#[tokio::test]
async fn events_are_flushed_within_about_a_second_without_a_full_batch() {
    let db = TestDb::new().await;
    let (recorder, shutdown, flusher) = start_flusher(&db, 100);
    recorder.enqueue(event("ping", 1, None, Utc::now(), true));

    let enqueued = std::time::Instant::now();
    while scalar(&db, "SELECT count(*) FROM command_stats").await == 0 {
        assert!(
            enqueued.elapsed() < Duration::from_secs(5),
            "event not flushed within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The flush tick comes every second: at most one tick plus the write.
    let took = enqueued.elapsed();
    assert!(
        took < Duration::from_millis(1_500),
        "flushed after {took:?}"
    );
    shutdown.cancel();
    flusher.await.unwrap();
}

/// Writers flushing at once share rollup rows, users and servers: none of them
/// deadlocks or loses a count.
#[tokio::test]
async fn concurrent_batches_sharing_rows_add_up_exactly() {
    let db = TestDb::new().await;
    let now = Utc::now();
    let batches: Vec<Vec<CommandEvent>> = (0..8u64)
        .map(|b| {
            (0..500u64)
                .map(|i| {
                    let n = b * 500 + i;
                    let at = now - TimeDelta::minutes((n % 180) as i64);
                    event(
                        &format!("cmd {}", n % 7),
                        n % 300 + 1,
                        Some(n % 40 + 1),
                        at,
                        n % 10 != 0,
                    )
                })
                .collect()
        })
        .collect();
    let writes: Vec<_> = batches
        .into_iter()
        .map(|batch| {
            let pool = db.pool.clone();
            tokio::spawn(async move { command_stats::insert_batch(&pool, &batch).await })
        })
        .collect();
    for write in writes {
        write.await.unwrap().expect("no deadlock, no error");
    }

    assert_eq!(
        scalar(&db, "SELECT count(*) FROM command_stats").await,
        4_000
    );
    for rollup in [
        "SELECT sum(uses)::int8 FROM command_stats_hourly",
        "SELECT sum(uses)::int8 FROM command_stats_daily",
        "SELECT sum(uses)::int8 FROM command_stats_guild_daily",
    ] {
        assert_eq!(scalar(&db, rollup).await, 4_000, "{rollup}");
    }
    assert_eq!(
        scalar(&db, "SELECT sum(failures)::int8 FROM command_stats_hourly").await,
        400
    );
    assert_eq!(command_stats::unique_users(&db.pool).await.unwrap(), 300);
}

/// While the database refuses writes, events wait in the flusher; once it
/// accepts them again every event is written, none twice.
#[tokio::test]
async fn events_wait_out_a_failing_database_and_are_written_once_it_recovers() {
    let db = TestDb::new().await;
    sqlx::query("ALTER TABLE command_stats RENAME TO command_stats_away")
        .execute(&db.pool)
        .await
        .unwrap();
    let (recorder, shutdown, flusher) = start_flusher(&db, 10_000);
    let now = Utc::now();
    for i in 0..1_500u64 {
        recorder.enqueue(event("ping", i + 1, Some(1), now, true));
    }
    // Wait for the writes to have been tried, and to have failed, twice.
    crate::support::bot::eventually("two failed writes", Duration::from_secs(15), || async {
        (recorder.counters().write_failures.load(Ordering::Relaxed) >= 2).then_some(())
    })
    .await;
    assert_eq!(recorder.recorded(), 0, "nothing can be written yet");

    sqlx::query("ALTER TABLE command_stats_away RENAME TO command_stats")
        .execute(&db.pool)
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while recorder.recorded() < 1_500 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of 1500 written after recovery",
            recorder.recorded()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    shutdown.cancel();
    flusher.await.unwrap();
    assert_eq!(recorder.dropped(), 0);
    assert_eq!(
        scalar(&db, "SELECT count(*) FROM command_stats").await,
        1_500
    );
    assert_eq!(
        scalar(&db, "SELECT sum(uses)::int8 FROM command_stats_daily").await,
        1_500
    );
}
