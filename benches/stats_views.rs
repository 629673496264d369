//! Server time of the statistics and log views at scale: 10 million command
//! events over 90 days (50 commands, 2 million users, 100,000 guilds) and 1
//! million log entries. Targets: p95 under 25 ms per query, under 150 ms with
//! the chart PNG. For contrast it also times the naive query (a daily count
//! over the raw events), which is what the rollups avoid.
//!
//! `cargo bench --bench stats_views` (DATABASE_URL's server or a private
//! cluster; creates and drops its own database). `BENCH_EVENTS` and
//! `BENCH_LOGS` scale the data down for a quick run.

#[path = "../tests/it/support/db.rs"]
#[allow(dead_code)]
mod db;
#[path = "support/settings.rs"]
mod settings;
#[path = "support/timing.rs"]
mod timing;

use std::time::Instant;

use admin_panel::admin::logs::{LogList, LogListArgs};
use admin_panel::admin::pager::PageAt;
use admin_panel::admin::{modules, stats, usage};
use admin_panel::store::latency::{BOUNDS_MS, BUCKETS};
use admin_panel::store::logs::{LogFilter, Severity};
use admin_panel::store::{command_stats, guilds, instances};
use admin_panel::ui::{modules as modules_ui, stats as stats_ui, usage as usage_ui};
use admin_panel::{AdminPanel, PanelOptions};
use chrono::Utc;
use serenity::all::UserId;
use settings::env_number;
use timing::measure;

/// The hourly and daily rollups from the raw events, histograms included:
/// events are grouped by their two latency buckets (`width_bucket` over the
/// bounds gives the recorder's bucket of `ms - 1`), each group becomes a
/// one-hot array holding its count, and the arrays are summed per row with
/// the rollups' own aggregate.
fn rollup_seeding() -> [String; 2] {
    let bounds = format!(
        "'{{{}}}'::int4[]",
        BOUNDS_MS.map(|b| b.to_string()).join(",")
    );
    let last = BUCKETS - 1;
    let one_hot = |bucket: &str| {
        format!(
            "array_fill(0::int8, ARRAY[{bucket}]) || n || array_fill(0::int8, ARRAY[{last} - {bucket}])"
        )
    };
    let (response, completion) = (one_hot("rb"), one_hot("cb"));
    let grouped = |period: &str| {
        format!(
            "SELECT {period} AS period, command,
                    width_bucket(first_response_ms - 1, {bounds}) AS rb,
                    width_bucket(duration_ms - 1, {bounds}) AS cb,
                    count(*) AS n, count(*) FILTER (WHERE outcome = 3) AS f,
                    sum(duration_ms) AS d
               FROM command_stats GROUP BY 1, 2, 3, 4"
        )
    };
    [
        format!(
            "INSERT INTO command_stats_hourly (hour, command, uses, failures, internal_errors,
                                               response_ms, completion_ms)
             SELECT period, command, sum(n), sum(f), sum(f),
                    admin_panel_sum_counts({response}), admin_panel_sum_counts({completion})
               FROM ({}) AS g GROUP BY 1, 2",
            grouped("date_trunc('hour', executed_at, 'UTC')")
        ),
        format!(
            "INSERT INTO command_stats_daily (day, command, uses, failures, internal_errors,
                                              total_duration_ms, response_ms, completion_ms)
             SELECT period, command, sum(n), sum(f), sum(f), sum(d),
                    admin_panel_sum_counts({response}), admin_panel_sum_counts({completion})
               FROM ({}) AS g GROUP BY 1, 2",
            grouped("(executed_at AT TIME ZONE 'UTC')::date")
        ),
    ]
}

#[tokio::main]
async fn main() {
    let events: i64 = env_number("BENCH_EVENTS", 10_000_000);
    let log_entries: i64 = env_number("BENCH_LOGS", 1_000_000);
    let db = db::TestDb::new().await;
    let pool = db.pool.clone();
    let (panel, background) = AdminPanel::start(pool.clone(), PanelOptions::new(UserId::new(1)))
        .await
        .expect("panel");

    let seeding = Instant::now();
    // Raw events spread evenly over 90 days (3 % internal errors, first
    // responses spread over 0-3 s), then the rollups built exactly as the
    // recorder's batches would have built them, histograms included.
    let rollups = rollup_seeding();
    // language=PostgreSQL
    let statements = [
        "INSERT INTO guilds (id, name, joined_at, left_at)
         SELECT i, 'Server ' || i, now() - interval '400 days', CASE WHEN i % 20 = 0 THEN now() END
           FROM generate_series(1, 100000) AS i",
        "INSERT INTO cog_settings (guild_id, module, enabled)
         SELECT g, m, (g + length(m)) % 3 > 0
           FROM generate_series(1, 100000) AS g,
                unnest(ARRAY['welcome','levels','moderation','music','tickets']) AS m",
        "INSERT INTO command_stats (command, guild_id, user_id, executed_at, success, duration_ms,
                                    outcome, first_response_ms)
         SELECT 'command ' || (i % 50), 1 + (i * 7919) % 100000, 1 + (i * 104729) % 2000000,
                now() - (i::float8 / $1) * interval '90 days', i % 33 <> 0,
                (i * 37) % 3000 + i % 500, CASE WHEN i % 33 = 0 THEN 3 ELSE 0 END, (i * 37) % 3000
           FROM generate_series(1, $1) AS i",
        &rollups[0],
        &rollups[1],
        "INSERT INTO command_stats_guild_daily (day, guild_id, uses)
         SELECT (executed_at AT TIME ZONE 'UTC')::date, guild_id, count(*) FROM command_stats GROUP BY 1, 2",
        "INSERT INTO command_users (user_id, first_seen_at)
         SELECT user_id, min(executed_at) FROM command_stats GROUP BY user_id",
        "UPDATE stat_counters SET value = (SELECT count(*) FROM command_users) WHERE name = 'unique_users'",
    ];
    for sql in statements {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(events)
            .execute(&pool)
            .await
            .expect("seed");
    }
    // language=PostgreSQL
    sqlx::query(
        "INSERT INTO system_logs (created_at, severity, event_type, guild_id, message)
         SELECT now() - (i::float8 / $1) * interval '30 days',
                (ARRAY['info','info','info','info','warning','error'])[1 + i % 6],
                (ARRAY['guild_join','guild_leave','config_update','command_error','broadcast_sent','developer_added'])[1 + (i / 7) % 6],
                CASE WHEN i % 10 <> 0 THEN 1 + (i * 31) % 100000 END,
                'log entry number ' || i
           FROM generate_series(1, $1) AS i",
    )
    .bind(log_entries)
    .execute(&pool)
    .await
    .expect("seed logs");
    sqlx::query("VACUUM ANALYZE").execute(&pool).await.unwrap();
    println!(
        "seeded {events} command events and {log_entries} log entries in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );

    let naive = Instant::now();
    // language=PostgreSQL
    sqlx::query(
        "SELECT (executed_at AT TIME ZONE 'UTC')::date, count(*) FROM command_stats
          WHERE executed_at > now() - interval '30 days' GROUP BY 1 ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    println!(
        "for contrast, the naive 30-day daily count over raw events: {:.0} ms (once)",
        naive.elapsed().as_secs_f64() * 1e3
    );

    measure("/admin stats (queries + render)", |_| {
        let panel = panel.clone();
        async move {
            let stats = stats::gather(&panel).await.unwrap();
            let _ = std::hint::black_box(stats_ui::render(&stats));
        }
    })
    .await;

    // Its parts, to see where the time goes.
    measure("  of which: the exact 24 h ranking", |_| {
        let pool = pool.clone();
        async move {
            std::hint::black_box(
                command_stats::last_24h_by_command(&mut pool.acquire().await.unwrap(), Utc::now())
                    .await
                    .unwrap(),
            );
        }
    })
    .await;
    measure("  of which: active servers, users, last restart", |_| {
        let pool = pool.clone();
        async move {
            std::hint::black_box(
                tokio::try_join!(
                    guilds::count_active(&pool),
                    command_stats::unique_users(&pool),
                    instances::last_restart(&pool),
                )
                .unwrap(),
            );
        }
    })
    .await;

    let today = Utc::now().date_naive();
    for days in [30, 90] {
        for command in [None, Some("command 7")] {
            let label = format!(
                "/admin usage {days} d{}",
                command.map_or(String::new(), |c| format!(" command:{c}"))
            );
            measure(&format!("{label} (queries + embed)"), |_| {
                let pool = pool.clone();
                async move {
                    let report = usage::gather(&pool, days, command.map(str::to_owned), today)
                        .await
                        .unwrap();
                    let _ = std::hint::black_box(usage_ui::render(&report));
                }
            })
            .await;
            measure(
                &format!("{label} metric:p95 latency (with chart PNG)"),
                |_| {
                    let pool = pool.clone();
                    async move {
                        let mut report =
                            usage::gather(&pool, days, command.map(str::to_owned), today)
                                .await
                                .unwrap();
                        report.metric = usage_ui::Metric::P95Latency;
                        let _ = std::hint::black_box(usage_ui::render(&report));
                        std::hint::black_box(usage::render_chart(report).await.unwrap());
                    }
                },
            )
            .await;
        }
    }

    let declared: Vec<String> = ["welcome", "levels", "moderation", "music", "tickets"]
        .map(str::to_owned)
        .to_vec();
    measure("/admin modules (queries + embed)", |_| {
        let (pool, declared) = (pool.clone(), declared.clone());
        async move {
            let (adoption, active) = modules::gather(&pool, &declared).await.unwrap();
            let _ = std::hint::black_box(modules_ui::render(&adoption, active));
        }
    })
    .await;
    measure("/admin modules (with chart PNG)", |_| {
        let (pool, declared) = (pool.clone(), declared.clone());
        async move {
            let (adoption, active) = modules::gather(&pool, &declared).await.unwrap();
            let _ = std::hint::black_box(modules_ui::render(&adoption, active));
            std::hint::black_box(modules_ui::chart(&adoption).unwrap());
        }
    })
    .await;

    let filters = [
        ("no filter, limit 50", None, None, None, 50),
        ("no filter, limit 500", None, None, None, 500),
        ("severity error", Some(Severity::Error), None, None, 50),
        (
            "event_type command_error",
            None,
            Some("command_error"),
            None,
            50,
        ),
        ("guild 4242", None, None, Some(4242), 50),
        (
            "error + command_error + guild",
            Some(Severity::Error),
            Some("command_error"),
            Some(4242),
            500,
        ),
        (
            "rare type (none match)",
            None,
            Some("broadcast_failed"),
            None,
            500,
        ),
    ];
    for (name, severity, event_type, guild_id, limit) in filters {
        measure(&format!("/admin logs {name}"), |_| {
            let pool = pool.clone();
            async move {
                let filter = LogFilter {
                    severity,
                    event_type: event_type.map(str::to_owned),
                    guild_id,
                    limit,
                };
                let args = LogListArgs {
                    filter,
                    up_to_id: None,
                };
                let page = LogList::load(&pool, &args, PageAt::First).await.unwrap();
                std::hint::black_box(page);
            }
        })
        .await;
    }
    background.shutdown().await;
}
