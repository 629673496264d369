//! The `admin-panel` binary as a user runs it: configuration errors, a clean
//! SIGTERM shutdown, no token in the logs, and its own PostgreSQL when no
//! `DATABASE_URL` is given.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use support::bot::{DEVELOPER, TOKEN};
use support::db::TestDb;
use support::fake_discord::FakeDiscord;

const BINARY: &str = env!("CARGO_BIN_EXE_admin-panel");

/// A fresh working directory without a `.env`, readable by an unprivileged user
/// (the self-managed PostgreSQL runs as one when the tests run as root).
fn work_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("admin-panel-bin-{:08x}", rand::random::<u32>()));
    std::fs::create_dir_all(&dir).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    dir
}

fn command(dir: &Path, vars: &[(&str, &str)]) -> Command {
    let mut command = Command::new(BINARY);
    command
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (name, value) in vars {
        command.env(name, value);
    }
    command
}

#[test]
fn bad_configuration_exits_with_code_2_and_one_line_naming_the_variable() {
    let dir = work_dir();
    let developer = DEVELOPER.to_string();
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("DEVELOPER_USER_ID", &developer)], "DISCORD_TOKEN"),
        (vec![("DISCORD_TOKEN", TOKEN)], "DEVELOPER_USER_ID"),
        (
            vec![
                ("DISCORD_TOKEN", TOKEN),
                ("DEVELOPER_USER_ID", "not-a-number"),
            ],
            "DEVELOPER_USER_ID",
        ),
        (
            vec![
                ("DISCORD_TOKEN", TOKEN),
                ("DEVELOPER_USER_ID", &developer),
                ("SHARD_IDS", "0-3"),
            ],
            "SHARD_IDS",
        ),
        (
            vec![
                ("DISCORD_TOKEN", TOKEN),
                ("DEVELOPER_USER_ID", &developer),
                ("HEALTH_ADDR", "nowhere"),
            ],
            "HEALTH_ADDR",
        ),
    ];
    for (vars, variable) in cases {
        let output = command(&dir, &vars).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{variable}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
        assert!(stderr.contains(variable), "{stderr} names {variable}");
        assert!(!stderr.contains(TOKEN), "the token is never printed");
    }
}

/// Runs the binary until the fake sees its shard, then sends SIGTERM.
/// Returns the log (stderr) after checking the process exited successfully.
async fn run_until_ready_then_terminate(fake: &FakeDiscord, mut command: Command) -> String {
    let mut child = command
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    fake.wait_for_shards(1, Duration::from_secs(60)).await;
    // SAFETY: kill(2) with a pid we spawned and a valid signal number.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = tokio::task::spawn_blocking(move || {
        let mut stderr = String::new();
        use std::io::Read;
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        (child.wait().unwrap(), stderr)
    });
    let (status, stderr) = tokio::time::timeout(Duration::from_secs(60), status)
        .await
        .expect("exits after SIGTERM")
        .unwrap();
    assert!(
        status.success(),
        "exit status {status:?}; log tail: {}",
        tail(&stderr)
    );
    stderr
}

#[tokio::test]
async fn the_binary_stops_cleanly_on_sigterm_and_never_logs_the_token() {
    let fake = FakeDiscord::start().await;
    let db = TestDb::new().await;
    let dir = work_dir();
    let developer = DEVELOPER.to_string();
    let command = command(
        &dir,
        &[
            ("DISCORD_TOKEN", TOKEN),
            ("DEVELOPER_USER_ID", &developer),
            ("DATABASE_URL", &db.url),
            ("DISCORD_PROXY_URL", &fake.base_url()),
            ("HEALTH_ADDR", "127.0.0.1:0"),
            ("RUST_LOG", "trace"),
        ],
    );

    let stderr = run_until_ready_then_terminate(&fake, command).await;
    assert!(stderr.contains("shutting down"), "{}", tail(&stderr));
    assert!(
        !stderr.contains(TOKEN),
        "the token appears in the trace log"
    );
    let stopped: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT stopped_at FROM bot_instances")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert!(stopped.is_some(), "the instance row is marked stopped");
}

#[tokio::test]
async fn without_database_url_the_binary_runs_and_stops_its_own_postgres() {
    let fake = FakeDiscord::start().await;
    let dir = work_dir();
    let developer = DEVELOPER.to_string();
    let command = command(
        &dir,
        &[
            ("DISCORD_TOKEN", TOKEN),
            ("DEVELOPER_USER_ID", &developer),
            ("DISCORD_PROXY_URL", &fake.base_url()),
            ("HEALTH_ADDR", "127.0.0.1:0"),
        ],
    );

    run_until_ready_then_terminate(&fake, command).await;
    let cluster = dir.join("data/postgres");
    assert!(
        cluster.join("PG_VERSION").exists(),
        "a cluster was created in ./data/postgres"
    );
    assert!(
        !cluster.join("postmaster.pid").exists(),
        "the cluster was stopped on shutdown"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
