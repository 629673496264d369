//! Operational logs: the tracing layer, `/admin logs` (filters, pages, CSV),
//! and retention, against a real database and the fake Discord.

use std::time::{Duration, Instant};

use crate::support::bot::{DEVELOPER, start_with_admin_guild};
use crate::support::db::TestDb;
use crate::support::discord::EPHEMERAL;
use crate::support::interact::{attachments, control, press, slash};
use admin_panel::admin::logs::{LogList, LogListArgs, parse_filter};
use admin_panel::admin::pager::PageAt;
use admin_panel::config::Retention;
use admin_panel::store::command_stats::{self, CommandEvent, Outcome};
use admin_panel::store::logs::{self, LogFilter, Severity};
use admin_panel::telemetry::log_layer::{self, DbLogLayer, PERSISTED_TARGET};
use admin_panel::telemetry::retention;
use chrono::{TimeDelta, Utc};
use serde_json::json;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::layer::SubscriberExt as _;

async fn stored(db: &TestDb) -> Vec<(String, String, Option<i64>, String)> {
    sqlx::query_as("SELECT severity, event_type, guild_id, message FROM system_logs ORDER BY id")
        .fetch_all(&db.pool)
        .await
        .unwrap()
}

/// Runs `emit` under a subscriber with only the log layer, then drains the queue.
async fn through_layer(db: &TestDb, capacity: usize, emit: impl FnOnce()) -> DbLogLayer {
    let (layer, mut queue) = DbLogLayer::new(capacity);
    // The layer alone: its own checks decide (the production filter only
    // skips uninteresting callsites earlier).
    let subscriber = tracing_subscriber::registry().with(layer.clone());
    tracing::subscriber::with_default(subscriber, emit);
    let shutdown = CancellationToken::new();
    shutdown.cancel();
    log_layer::run_writer(db.pool.clone(), &mut queue, shutdown).await;
    layer
}

#[tokio::test]
async fn the_layer_persists_typed_events_and_errors_but_not_ordinary_events() {
    let db = TestDb::new().await;
    through_layer(&db, 100, || {
        tracing::info!("an ordinary info line");
        tracing::debug!(answer = 42, "an ordinary debug line");
        tracing::warn!("a warning without a type");
        tracing::warn!(event_type = "config_update", guild_id = 77u64, setting = "language", "language set to de");
        tracing::debug!(event_type = "guild_join", "a typed debug event counts too");
        tracing::error!(error = "connection reset", "the gateway failed");
        tracing::info!(target: PERSISTED_TARGET, event_type = "guild_leave", "already stored by its caller");
    })
    .await;
    let s = |v: &str| v.to_owned();
    assert_eq!(
        stored(&db).await,
        [
            (
                s("warning"),
                s("config_update"),
                Some(77),
                s("language set to de setting=language")
            ),
            (
                s("info"),
                s("guild_join"),
                None,
                s("a typed debug event counts too")
            ),
            (
                s("error"),
                s("error"),
                None,
                s("the gateway failed error=connection reset")
            ),
        ]
    );
}

#[tokio::test]
async fn a_full_queue_drops_and_counts_instead_of_blocking_and_reports_once() {
    let db = TestDb::new().await;
    let mut took = Duration::ZERO;
    let layer = through_layer(&db, 5, || {
        let started = Instant::now();
        for i in 0..10_000 {
            tracing::error!(i, "burst");
        }
        took = started.elapsed();
    })
    .await;
    let counters = layer.counters();
    assert_eq!(
        counters.queued.load(std::sync::atomic::Ordering::Relaxed),
        5
    );
    assert_eq!(
        counters.dropped.load(std::sync::atomic::Ordering::Relaxed),
        9_995
    );
    assert!(
        took < Duration::from_secs(5),
        "logging never waited for the database ({took:?})"
    );
    let rows = stored(&db).await;
    assert_eq!(rows.len(), 6, "5 queued entries and one report");
    let reports: Vec<_> = rows.iter().filter(|r| r.1 == "log_dropped").collect();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].0, "warning");
    assert!(
        reports[0]
            .3
            .starts_with("9995 operational log entries were dropped"),
        "{}",
        reports[0].3
    );
}

async fn seed_logs(db: &TestDb) {
    // 30 entries, newest last: severity cycles info/warning/error, type
    // alternates guild_join/config_update, guild is 1 for the first 20.
    for i in 0..30i64 {
        let severity = Severity::ALL[(i % 3) as usize];
        let event_type = if i % 2 == 0 {
            "guild_join"
        } else {
            "config_update"
        };
        let guild = (i < 20).then_some(1);
        sqlx::query("INSERT INTO system_logs (created_at, severity, event_type, guild_id, message) VALUES (now() - make_interval(secs => 100 - $1), $2, $3, $4, $5)")
            .bind(i as f64)
            .bind(severity.as_str())
            .bind(event_type)
            .bind(guild)
            .bind(format!("entry {i}"))
            .execute(&db.pool)
            .await
            .unwrap();
    }
}

fn messages(entries: &[logs::LogEntry]) -> Vec<String> {
    entries.iter().map(|e| e.message.clone()).collect()
}

fn expected(range: impl Iterator<Item = i64>) -> Vec<String> {
    let mut wanted: Vec<String> = range.map(|i| format!("entry {i}")).collect();
    wanted.reverse();
    wanted
}

#[tokio::test]
async fn log_filters_combine_and_the_limit_caps() {
    let db = TestDb::new().await;
    seed_logs(&db).await;
    let filter = |severity, event_type: Option<&str>, guild, limit| LogFilter {
        severity,
        event_type: event_type.map(str::to_owned),
        guild_id: guild,
        limit,
    };
    let all = logs::newest(&db.pool, &filter(None, None, None, 500))
        .await
        .unwrap();
    assert_eq!(messages(&all), expected(0..30), "newest first");
    let errors = logs::newest(&db.pool, &filter(Some(Severity::Error), None, None, 500))
        .await
        .unwrap();
    assert_eq!(messages(&errors), expected((0..30).filter(|i| i % 3 == 2)));
    let combined = logs::newest(
        &db.pool,
        &filter(Some(Severity::Info), Some("guild_join"), Some(1), 500),
    )
    .await
    .unwrap();
    assert_eq!(
        messages(&combined),
        expected((0..20).filter(|i| i % 6 == 0))
    );
    let capped = logs::newest(&db.pool, &filter(None, Some("config_update"), None, 4))
        .await
        .unwrap();
    assert_eq!(
        messages(&capped),
        ["entry 29", "entry 27", "entry 25", "entry 23"]
    );
    let none = logs::newest(&db.pool, &filter(None, None, Some(2), 500))
        .await
        .unwrap();
    assert!(none.is_empty());

    let args = LogListArgs {
        filter: filter(None, None, None, 25),
        up_to_id: None,
    };
    let first = LogList::load(&db.pool, &args, PageAt::First).await.unwrap();
    assert_eq!(first.count, 3, "25 entries in pages of 10");
    let last = LogList::load(&db.pool, &args, PageAt::Last).await.unwrap();
    assert_eq!(last.items.len(), 5);
    assert_eq!(last.items[0].description.as_deref(), Some("entry 9"));
}

#[test]
fn bad_log_options_are_refused_with_a_clear_message() {
    let error = |s: Option<&str>, t: Option<&str>, g: Option<&str>, l: Option<i64>| {
        parse_filter(s, t, g, l).unwrap_err().to_string()
    };
    assert_eq!(
        error(Some("fatal"), None, None, None),
        "Unknown severity `fatal`: use info, warning or error."
    );
    assert_eq!(
        error(None, None, None, Some(501)),
        "`limit` must be from 1 to 500 (got 501)."
    );
    assert_eq!(
        error(None, None, None, Some(0)),
        "`limit` must be from 1 to 500 (got 0)."
    );
    assert!(error(None, Some("DROP TABLE"), None, None).contains("is not an event type"));
    assert!(error(None, None, Some("abc"), None).contains("is not a server id"));
    let ok = parse_filter(Some("Warning"), Some("guild_join"), Some("5"), None).unwrap();
    assert_eq!(
        ok,
        LogFilter {
            severity: Some(Severity::Warning),
            event_type: Some("guild_join".into()),
            guild_id: Some(5),
            limit: 50
        }
    );
}

#[tokio::test]
async fn admin_logs_pages_and_downloads_every_matching_entry_as_csv() {
    let (fake, db, bot) = start_with_admin_guild(&[]).await;
    seed_logs(&db).await;

    let answer = slash(
        &fake,
        7201,
        "logs",
        DEVELOPER,
        &["admin", "logs"],
        vec![("event_type", json!("guild_join")), ("limit", json!(12))],
    )
    .await;
    assert_eq!(answer["data"]["flags"], EPHEMERAL);
    let embed = &answer["data"]["embeds"][0];
    assert_eq!(embed["title"], "Operational logs (12 shown)");
    let description = embed["description"].as_str().unwrap();
    assert!(
        description.starts_with("Filters: type `guild_join` · newest 12"),
        "{description}"
    );
    assert!(description.contains("entry 28"));
    assert!(
        !description.contains("entry 29"),
        "config_update entries are filtered out"
    );
    let rows = answer["data"]["components"].as_array().unwrap();
    assert_eq!(rows[0]["components"][2]["label"], "Page 1 of 2");
    assert_eq!(rows[2]["components"][0]["label"], "Download CSV");

    let download = press(
        &fake,
        "logs",
        "logs-csv",
        DEVELOPER,
        &control(&answer, "Download CSV"),
        None,
    )
    .await;
    assert_eq!(download["data"]["flags"], EPHEMERAL);
    let files = attachments(&fake, "logs-csv");
    assert_eq!(files[0].0, "logs.csv");
    let mut reader = csv::Reader::from_reader(files[0].1.as_slice());
    assert_eq!(
        reader.headers().unwrap(),
        vec![
            "id",
            "created_at",
            "severity",
            "event_type",
            "guild_id",
            "message"
        ]
    );
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 12, "every matching entry up to the limit");
    assert!(records.iter().all(|r| &r[3] == "guild_join"));
    assert_eq!(&records[0][5], "entry 28");

    let refused = slash(
        &fake,
        7202,
        "logs-bad",
        DEVELOPER,
        &["admin", "logs"],
        vec![("limit", json!(501))],
    )
    .await;
    assert_eq!(
        refused["data"]["content"],
        "`limit` must be from 1 to 500 (got 501)."
    );
    assert_eq!(refused["data"]["flags"], EPHEMERAL);
    let refused = slash(
        &fake,
        7203,
        "logs-sev",
        DEVELOPER,
        &["admin", "logs"],
        vec![("severity", json!("fatal"))],
    )
    .await;
    assert_eq!(
        refused["data"]["content"],
        "Unknown severity `fatal`: use info, warning or error."
    );
    fake.assert_no_spec_violations();
    bot.stop().await;
}

#[tokio::test]
async fn retention_deletes_only_rows_past_their_age_and_keeps_the_rollups() {
    let db = TestDb::new().await;
    let now = Utc::now();
    for days in [31, 29, 45, 1] {
        sqlx::query("INSERT INTO system_logs (created_at, severity, event_type, message) VALUES ($1, 'info', 'guild_join', $2)")
            .bind(now - TimeDelta::days(days))
            .bind(format!("{days} days old"))
            .execute(&db.pool)
            .await
            .unwrap();
    }
    let events: Vec<CommandEvent> = [91, 89, 120, 0]
        .into_iter()
        .map(|days| CommandEvent {
            command: "ping".into(),
            guild_id: None,
            user_id: days,
            executed_at: now - TimeDelta::days(days as i64),
            outcome: Outcome::Ok,
            first_response_ms: 5,
            duration_ms: 1,
        })
        .collect();
    command_stats::insert_batch(&db.pool, &events)
        .await
        .unwrap();

    let purged = retention::purge(
        &db.pool,
        Retention::default(),
        now,
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!((purged.log_entries, purged.command_events), (2, 2));
    assert_eq!(
        purged.command_hours, 3,
        "hourly rollup rows older than 7 days go"
    );
    let kept: Vec<String> =
        sqlx::query_scalar("SELECT message FROM system_logs ORDER BY created_at")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(kept, ["29 days old", "1 days old"]);
    let kept_users: Vec<i64> =
        sqlx::query_scalar("SELECT user_id FROM command_stats ORDER BY user_id")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(kept_users, [0, 89]);
    let rollup: i64 = sqlx::query_scalar("SELECT sum(uses)::int8 FROM command_stats_daily")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(rollup, 4, "the daily rollup keeps every event's count");

    let shorter = Retention {
        log_days: 7,
        stats_days: 30,
    };
    let purged = retention::purge(&db.pool, shorter, now, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!((purged.log_entries, purged.command_events), (1, 1));
}

/// Retention is one process's duty for the whole bot: of processes that
/// look at once, exactly one claims the pass; the next pass is claimed an
/// hour later, by whichever process looks first then.
#[tokio::test]
async fn retention_is_claimed_by_one_process_at_a_time() {
    use admin_panel::store::duties;
    let db = TestDb::new().await;
    let hour = Duration::from_secs(3600);
    let claims = (1..=8).map(|instance| {
        let pool = db.pool.clone();
        tokio::spawn(async move {
            duties::claim_if_due(&pool, duties::RETENTION, instance, hour)
                .await
                .unwrap()
        })
    });
    let won: Vec<bool> = futures_util::future::join_all(claims)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(won.iter().filter(|w| **w).count(), 1, "{won:?}");
    let winner = won.iter().position(|w| *w).unwrap() as i64 + 1;
    let (ran_by, due) = duties::last_run(&db.pool, duties::RETENTION)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ran_by, Some(winner));
    let until_due = due - Utc::now();
    assert!(
        until_due > TimeDelta::minutes(59) && until_due <= TimeDelta::minutes(60),
        "{until_due}"
    );
    assert!(
        !duties::claim_if_due(&db.pool, duties::RETENTION, winner, hour)
            .await
            .unwrap(),
        "not due again before the hour"
    );

    sqlx::query("UPDATE periodic_duties SET due_at = now() - interval '1 second'")
        .execute(&db.pool)
        .await
        .unwrap();
    let other = winner % 8 + 1;
    assert!(
        duties::claim_if_due(&db.pool, duties::RETENTION, other, hour)
            .await
            .unwrap()
    );
    let (ran_by, _) = duties::last_run(&db.pool, duties::RETENTION)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ran_by, Some(other));
}
