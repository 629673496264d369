//! Recorder throughput: how many command events per second the batched
//! UNNEST insert (with every rollup updated in the same transaction) sustains,
//! one writer alone and through the flusher as the bot runs it, and what the
//! hot path (`CommandRecorder::record`) costs per command.
//!
//! `cargo bench --bench recorder` (uses DATABASE_URL's server, or a private cluster;
//! creates and drops its own database). `BENCH_EVENTS` sets the event count.

#[path = "../tests/it/support/db.rs"]
#[allow(dead_code)]
mod db;
#[path = "support/settings.rs"]
mod settings;

use std::time::Instant;

use admin_panel::store::command_stats::{self, CommandEvent, Outcome};
use admin_panel::telemetry::recorder::{
    BATCH_SIZE, CHANNEL_CAPACITY, CommandRecorder, WRITERS, run_flusher,
};
use chrono::{TimeDelta, Utc};
use rand::Rng;
use settings::env_number;
use tokio_util::sync::CancellationToken;

const COMMANDS: usize = 50;
const USERS: u64 = 2_000_000;
const GUILDS: u64 = 100_000;

/// Events as a busy bot produces them: in time order (ten seconds' worth per
/// 10,000 events), from random commands, guilds and users.
fn events(count: usize) -> Vec<CommandEvent> {
    let mut rng = rand::rng();
    let start = Utc::now() - TimeDelta::milliseconds(count as i64);
    (0..count)
        .map(|i| CommandEvent {
            command: format!("command {}", rng.random_range(0..COMMANDS)),
            guild_id: Some(rng.random_range(1..=GUILDS)),
            user_id: rng.random_range(1..=USERS),
            executed_at: start + TimeDelta::milliseconds(i as i64),
            outcome: if rng.random_bool(0.97) {
                Outcome::Ok
            } else {
                Outcome::InternalError
            },
            first_response_ms: rng.random_range(1..300),
            duration_ms: rng.random_range(300..2_000),
        })
        .collect()
}

#[tokio::main]
async fn main() {
    let total: usize = env_number("BENCH_EVENTS", 1_000_000);
    let db = db::TestDb::new().await;
    // A fifth for one writer, two fifths for each flusher run: long enough
    // (several seconds each) that the rate includes checkpoints and pruning,
    // not just a lucky second.
    let serial = total / 5;
    let per_run = (total - serial) / 2;
    let events = events(serial + per_run);

    // Hot path: the push a command pays (channel large enough to never drop).
    let (recorder, mut receiver) = CommandRecorder::new(events.len());
    let started = Instant::now();
    for event in &events {
        recorder.enqueue(event.clone());
    }
    let push = started.elapsed();
    receiver.close();
    println!(
        "hot path: {:.0} ns per recorded command (including the event clone), {} dropped",
        push.as_nanos() as f64 / events.len() as f64,
        recorder.dropped()
    );

    // One writer: batches of BATCH_SIZE written one after another.
    let started = Instant::now();
    for batch in events[..serial].chunks(BATCH_SIZE) {
        command_stats::insert_batch(&db.pool, batch)
            .await
            .expect("batch insert");
    }
    let elapsed = started.elapsed();
    println!(
        "one writer: {serial} events in {:.2} s = {:.0} events/s ({BATCH_SIZE} per batch, rollups included)",
        elapsed.as_secs_f64(),
        serial as f64 / elapsed.as_secs_f64(),
    );

    // The flusher as the bot runs it, first with nearly every user new: the
    // worst case, most events insert a user row as well as their own.
    let cold = &events[serial..];
    let rate = flusher_rate(&db.pool, cold).await;
    println!(
        "flusher ({WRITERS} writers), users new (worst case): {} events, sustained (10%..90%) {rate:.0} events/s",
        cold.len()
    );
    let rows: i64 = sqlx::query_scalar("SELECT sum(uses)::int8 FROM command_stats_daily")
        .fetch_one(&db.pool)
        .await
        .expect("rollup sum");
    assert_eq!(
        rows as usize,
        events.len(),
        "the daily rollup counts every event"
    );

    // The scenario: after 10 million events over 90 days from 2
    // million users nearly every user is known and every server has a row for
    // each day (9 million per-server rows), so events update rollups instead
    // of inserting, in indexes of their full size.
    // language=PostgreSQL
    for sql in [
        "INSERT INTO command_users (user_id, first_seen_at)
         SELECT i, now() - interval '30 days' FROM generate_series(1, 2000000) AS i
         ON CONFLICT DO NOTHING",
        "INSERT INTO command_stats_guild_daily (guild_id, day, uses)
         SELECT g, d::date, 1 FROM generate_series(1, 100000) AS g,
                generate_series(current_date - 89, current_date + 1, interval '1 day') AS d
         ON CONFLICT DO NOTHING",
        "VACUUM ANALYZE",
    ] {
        sqlx::query(sql).execute(&db.pool).await.expect("warm up");
    }
    let warm = crate::events(per_run);
    let rate = flusher_rate(&db.pool, &warm).await;
    println!(
        "flusher ({WRITERS} writers), users known: {} events, sustained (10%..90%) {rate:.0} events/s",
        warm.len()
    );
}

/// Pushes `events` through a recorder and its flusher as fast as the channel
/// takes them without dropping any; returns events written per second.
async fn flusher_rate(pool: &sqlx::PgPool, events: &[CommandEvent]) -> f64 {
    let (recorder, receiver) = CommandRecorder::new(CHANNEL_CAPACITY);
    let shutdown = CancellationToken::new();
    let (pool, counters, stop) = (pool.clone(), recorder.counters().clone(), shutdown.clone());
    let flusher = tokio::spawn(async move {
        let mut receiver = receiver;
        run_flusher(pool, &mut receiver, counters, stop).await;
    });
    // The rate is taken between 10% and 90% of the events written: the last
    // partial batches wait for the once-a-second flush, which would otherwise
    // add up to a second to the figure.
    let total = events.len() as u64;
    let mut crossed: [Option<(Instant, u64)>; 2] = [None, None];
    let mut pushed = 0;
    while recorder.recorded() < total {
        // Push only what the channel has room for, so nothing is dropped and
        // the figure is the flusher's pace, not the pusher's. `queued` also
        // counts events the flusher holds or is writing, so it never
        // understates what is in the channel.
        let queued = pushed as u64 - recorder.recorded();
        let room =
            ((CHANNEL_CAPACITY as u64).saturating_sub(queued) as usize).min(events.len() - pushed);
        for event in &events[pushed..pushed + room] {
            recorder.enqueue(event.clone());
        }
        pushed += room;
        let recorded = recorder.recorded();
        for (slot, share) in crossed.iter_mut().zip([0.1, 0.9]) {
            if slot.is_none() && recorded as f64 >= total as f64 * share {
                *slot = Some((Instant::now(), recorded));
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    shutdown.cancel();
    flusher.await.expect("flusher");
    assert_eq!(
        recorder.dropped(),
        0,
        "the bench never overfills the channel"
    );
    let [Some((from, from_count)), Some((to, to_count))] = crossed else {
        unreachable!("every event was written, so both marks were crossed");
    };
    (to_count - from_count) as f64 / (to - from).as_secs_f64()
}
