//! The health embed's colors, warnings and limits.
use super::*;
use crate::ui::limits::embed_violations;

fn report() -> HealthReport {
    let now = Utc::now();
    HealthReport {
        bot_online: true,
        status_detail: "GET 127.0.0.1:8080/health: 200".into(),
        shards: vec![ShardLine {
            id: 0,
            connected: true,
            latency: Some(Duration::from_millis(42)),
        }],
        database: Some(DatabaseFacts {
            size_bytes: 10 << 20,
            server_connections: 5,
            max_connections: 100,
        }),
        pool_in_use: 1,
        pool_max: 10,
        system: SystemSnapshot {
            cpu_percent: Some(12.5),
            memory_used: 4 << 30,
            memory_total: 16 << 30,
            process_rss: Some(50 << 20),
            disk_used: Some(10 << 30),
            disk_total: Some(100 << 30),
            os: "Debian GNU/Linux 12".into(),
        },
        runtime: "rustc 1.95.0 · admin-panel 0.1.0".into(),
        tasks: vec![TaskLine {
            name: "recorder".into(),
            essential: true,
            running: true,
            restarts: 0,
            last_error: None,
        }],
        instances: Some(vec![InstanceRow {
            id: 1,
            host: "h".into(),
            pid: 7,
            shard_ids: vec![0, 1],
            shard_count: Some(2),
            started_at: now - TimeDelta::hours(2),
            last_heartbeat_at: now,
            connected_shards: Some(vec![0, 1]),
        }]),
        invalid_requests: (12, 2_500),
        identifies_left: Some((998, 1_000, now)),
        this_instance: 1,
        maintenance: vec![MaintenanceRow {
            command: "*".into(),
            message: "m".repeat(1000),
            since: now,
            set_by: 42,
        }],
        stale_after: TimeDelta::seconds(90),
        now,
    }
}

fn json(report: &HealthReport) -> serde_json::Value {
    serde_json::to_value(render(report)).unwrap()
}

#[test]
fn a_healthy_bot_is_green_without_warnings() {
    let embed = json(&report());
    assert_eq!(embed["color"], GREEN);
    assert_eq!(embed["footer"]["text"], "No warnings");
}

#[test]
fn a_stale_process_or_a_full_disk_turns_it_orange_and_offline_turns_it_red() {
    let mut stale = report();
    let now = stale.now;
    stale.instances.as_mut().unwrap()[0].last_heartbeat_at = now - TimeDelta::minutes(5);
    let embed = json(&stale);
    assert_eq!(embed["color"], ORANGE);
    assert!(embed.to_string().contains("**stale**"));
    assert!(
        embed["footer"]["text"]
            .as_str()
            .unwrap()
            .starts_with("1 warning")
    );
    let mut full = report();
    full.system.disk_used = Some(99 << 30);
    assert_eq!(json(&full)["color"], ORANGE);
    let mut offline = report();
    offline.bot_online = false;
    assert_eq!(json(&offline)["color"], RED);
}

#[test]
fn many_processes_and_shards_stay_within_discords_limits() {
    let mut big = report();
    big.shards = (0..500)
        .map(|id| ShardLine {
            id,
            connected: false,
            latency: None,
        })
        .collect();
    let one = big.instances.as_ref().unwrap()[0].clone();
    big.instances = Some(
        (0..200)
            .map(|id| InstanceRow {
                id,
                host: "x".repeat(300),
                ..one.clone()
            })
            .collect(),
    );
    big.tasks = (0..40)
        .map(|i| TaskLine {
            name: format!("task {i}"),
            essential: true,
            running: false,
            restarts: 999,
            last_error: Some("e".repeat(500)),
        })
        .collect();
    assert_eq!(embed_violations(&json(&big)), Vec::<String>::new());
}

#[test]
fn a_database_that_does_not_answer_or_an_essential_task_down_turns_it_red() {
    let mut no_database = report();
    no_database.database = None;
    no_database.instances = None;
    let embed = json(&no_database);
    assert_eq!(embed["color"], RED);
    assert!(embed.to_string().contains("not answering"));
    let mut task_down = report();
    task_down.tasks[0].running = false;
    task_down.tasks[0].restarts = 2;
    task_down.tasks[0].last_error = Some("panicked: boom".into());
    let embed = json(&task_down);
    assert_eq!(embed["color"], RED);
    assert!(
        embed
            .to_string()
            .contains("`recorder` (2 restarts; last: panicked: boom)"),
        "{embed}"
    );
    let mut optional_down = task_down.clone();
    optional_down.tasks[0].essential = false;
    assert_eq!(json(&optional_down)["color"], ORANGE);
}
