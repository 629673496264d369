//! Latency and outcome of every command: recorded per invocation (buttons
//! under their command), rolled up into log-scale histograms, read back as
//! percentiles by `/admin usage`, and exposed on `/metrics`.

use chrono::{TimeDelta, Utc};
use serde_json::json;

use crate::support::bot::{DEVELOPER, eventually, start_with_admin_guild};
use crate::support::db::TestDb;
use crate::support::http::{free_addr, get};
use crate::support::interact::{WAIT, control, press, slash};
use admin_panel::admin::usage;
use admin_panel::store::command_stats::{self, CommandEvent, Outcome};
use admin_panel::store::latency::bucket_of;

const STRANGER: u64 = 200_000_000_000_000_999;

/// The exact nearest-rank percentile of `durations`.
fn exact_percentile(durations: &mut [u32], quantile: f64) -> u32 {
    durations.sort_unstable();
    let rank = ((quantile * durations.len() as f64).ceil() as usize).max(1);
    durations[rank - 1]
}

#[tokio::test]
async fn percentiles_from_the_rollups_agree_with_the_raw_durations_within_one_bucket() {
    let db = TestDb::new().await;
    let today = Utc::now().date_naive();
    let now = Utc::now();
    // Two commands, three days, written in several batches so every rollup
    // row is merged (histogram added to histogram) more than once.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut events = Vec::new();
    for i in 0..6_000u64 {
        let command = if i % 3 == 0 { "slow" } else { "fast" };
        let response = match (command, next() % 20) {
            ("fast", 0) => 500 + (next() % 4_000) as u32,
            ("fast", _) => (next() % 60) as u32,
            (_, 0..=9) => 200 + (next() % 300) as u32,
            _ => 1_000 + (next() % 9_000) as u32,
        };
        events.push(CommandEvent {
            command: command.to_owned(),
            guild_id: Some(1 + i % 7),
            user_id: 1 + i % 500,
            executed_at: now - TimeDelta::hours((i % 3 * 24) as i64) - TimeDelta::minutes(1),
            outcome: if i % 50 == 0 {
                Outcome::InternalError
            } else {
                Outcome::Ok
            },
            first_response_ms: response,
            duration_ms: response + 10,
        });
    }
    for batch in events.chunks(700) {
        command_stats::insert_batch(&db.pool, batch).await.unwrap();
    }

    let report = usage::gather(&db.pool, 3, None, today).await.unwrap();
    assert_eq!(report.total(), 6_000);
    for figures in &report.top {
        let mut raw: Vec<u32> = sqlx::query_scalar::<_, i32>(
            "SELECT first_response_ms FROM command_stats WHERE command = $1",
        )
        .bind(&figures.command)
        .fetch_all(&db.pool)
        .await
        .unwrap()
        .into_iter()
        .map(|ms| ms as u32)
        .collect();
        assert_eq!(figures.uses, raw.len() as i64);
        assert_eq!(figures.response.count(), figures.uses);
        for quantile in [0.5, 0.95, 0.99] {
            let truth = bucket_of(exact_percentile(&mut raw, quantile));
            let from_rollup = figures.response.quantile_bucket(quantile).unwrap();
            assert!(
                from_rollup.abs_diff(truth) <= 1,
                "{} p{quantile}: bucket {from_rollup} from the rollup, {truth} from raw",
                figures.command
            );
        }
        let internal = sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM command_stats WHERE command = $1 AND outcome = 3",
        )
        .bind(&figures.command)
        .fetch_one(&db.pool)
        .await
        .unwrap();
        assert_eq!(figures.internal_errors, internal);
    }
    // The per-day p95 the chart draws comes from the same rollup.
    let days_with_runs = report
        .days
        .iter()
        .filter(|d| d.response.count() > 0)
        .count();
    assert_eq!(days_with_runs, 3);
    let hourly_uses: i64 = sqlx::query_scalar(
        "SELECT sum(uses)::int8 FROM command_stats_hourly
          WHERE cardinality(response_ms) = 33 AND cardinality(completion_ms) = 33",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        hourly_uses, 6_000,
        "the hourly rollup has the histograms too"
    );
}

#[tokio::test]
async fn each_invocation_is_recorded_with_its_outcome_and_buttons_count_under_their_command() {
    let health = free_addr();
    let (fake, db, bot) = start_with_admin_guild(&[("HEALTH_ADDR", &health)]).await;
    sqlx::query(
        "INSERT INTO guilds (id, name, joined_at) SELECT i, 'Server ' || i, now()
           FROM generate_series(1, 30) AS i",
    )
    .execute(&db.pool)
    .await
    .unwrap();

    slash(&fake, 1, "ok", DEVELOPER, &["admin", "servers"], vec![]).await;
    slash(&fake, 2, "refused", STRANGER, &["admin", "stats"], vec![]).await;
    let forged = slash(
        &fake,
        3,
        "forged",
        DEVELOPER,
        &["admin", "usage"],
        vec![("days", json!(500))],
    )
    .await;
    assert!(
        forged["data"]["content"]
            .as_str()
            .unwrap()
            .contains("`days`"),
        "{forged}"
    );
    let next = control(&fake.original_response("ok").unwrap(), "Next ›");
    press(&fake, "ok", "press", DEVELOPER, &next, None).await;

    let rows: Vec<(String, i16, i32, i32)> =
        eventually("four invocations recorded", WAIT, || async {
            let rows: Vec<(String, i16, i32, i32)> = sqlx::query_as(
                "SELECT command, outcome, first_response_ms, duration_ms FROM command_stats
              ORDER BY command, outcome",
            )
            .fetch_all(&db.pool)
            .await
            .unwrap();
            (rows.len() >= 4).then_some(rows)
        })
        .await;
    let outcomes: Vec<(&str, i16)> = rows.iter().map(|r| (r.0.as_str(), r.1)).collect();
    assert_eq!(
        outcomes,
        [
            ("admin servers", Outcome::Ok.code()),
            ("admin servers", Outcome::Ok.code()),
            ("admin stats", Outcome::Refused.code()),
            ("admin usage", Outcome::UserError.code()),
        ]
    );
    for (command, _, first_response, duration) in &rows {
        assert!(
            0 <= *first_response && first_response <= duration,
            "{command}: first response {first_response} ms, done {duration} ms"
        );
    }

    let (_, metrics) = get(&health, "/metrics").await;
    for line in [
        "admin_panel_command_errors_total{command=\"admin stats\",kind=\"refused\"} 1\n",
        "admin_panel_command_errors_total{command=\"admin usage\",kind=\"user_error\"} 1\n",
        "admin_panel_command_errors_total{command=\"admin servers\",kind=\"internal_error\"} 0\n",
        "admin_panel_command_duration_seconds_count{command=\"admin servers\"} 2\n",
        "admin_panel_command_duration_seconds_bucket{command=\"admin servers\",le=\"+Inf\"} 2\n",
    ] {
        assert!(metrics.contains(line), "{line} missing from:\n{metrics}");
    }
    bot.stop().await;
}

#[tokio::test]
async fn admin_usage_shows_latency_and_error_rate_and_charts_the_chosen_metric() {
    let (fake, db, bot) = start_with_admin_guild(&[]).await;
    let now = Utc::now();
    let events: Vec<CommandEvent> = (0..100)
        .map(|i| CommandEvent {
            command: "ping".to_owned(),
            guild_id: None,
            user_id: 1,
            executed_at: now - TimeDelta::minutes(1),
            outcome: if i < 5 {
                Outcome::InternalError
            } else {
                Outcome::Ok
            },
            first_response_ms: if i < 90 { 40 } else { 2_500 },
            duration_ms: 3_000,
        })
        .collect();
    command_stats::insert_batch(&db.pool, &events)
        .await
        .unwrap();

    let reply = slash(
        &fake,
        7,
        "usage-latency",
        DEVELOPER,
        &["admin", "usage"],
        // metric: p95 latency (choices are sent as their index)
        vec![("days", json!(7)), ("metric", json!(2))],
    )
    .await;
    let embed = &reply["data"]["embeds"][0];
    assert!(
        embed["title"]
            .as_str()
            .unwrap()
            .starts_with("Commands p95 time to first response per day"),
        "{embed}"
    );
    let top = embed["fields"][0]["value"].as_str().unwrap();
    assert!(
        top.contains("`/ping` 100 (100.0%) · p50 ≤45 ms · p95 ≤2896 ms · 5.0% errors"),
        "{top}"
    );
    let attachments = crate::support::interact::attachments(&fake, "usage-latency");
    assert_eq!(attachments.len(), 1);
    assert!(attachments[0].1.starts_with(b"\x89PNG"));
    bot.stop().await;
}
