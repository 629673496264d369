//! The `admin-panel` binary as a user runs it: configuration errors, a clean
//! SIGTERM shutdown, no token in the logs, and its own PostgreSQL when no
//! `DATABASE_URL` is given.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::binary::{command, spawn_bot, work_dir};
use crate::support::binary_broadcast::BinaryBroadcast;
use crate::support::bot::{DEVELOPER, TOKEN};
use crate::support::db::TestDb;
use crate::support::fake_discord::FakeDiscord;

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
/// The log is read from the start, on a thread of its own: a verbose bot
/// would otherwise fill the pipe and block before its shard connects.
async fn run_until_ready_then_terminate(fake: &FakeDiscord, mut command: Command) -> String {
    let mut child = command
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut stderr_pipe = child.stderr.take().unwrap();
    let stderr_reader = std::thread::spawn(move || {
        let mut stderr = String::new();
        use std::io::Read;
        stderr_pipe.read_to_string(&mut stderr).ok();
        stderr
    });
    let ready = tokio::time::timeout(
        Duration::from_secs(60),
        fake.wait_for_shards(1, Duration::from_secs(120)),
    )
    .await;
    // SAFETY: kill(2) with a pid we spawned and a valid signal number.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = tokio::task::spawn_blocking(move || {
        let status = child.wait().unwrap();
        (status, stderr_reader.join().unwrap())
    });
    let (status, stderr) = tokio::time::timeout(Duration::from_secs(60), status)
        .await
        .expect("exits after SIGTERM")
        .unwrap();
    assert!(
        ready.is_ok(),
        "the shard did not connect within 60 s; log tail: {}",
        tail(&stderr)
    );
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

/// Two runs on one working directory: the first creates the cluster, the
/// second starts it again with the password the first stored. Traced at the
/// most verbose level, neither run prints that password.
#[tokio::test]
async fn without_database_url_the_binary_runs_restarts_and_stops_its_own_postgres() {
    let dir = work_dir();
    let developer = DEVELOPER.to_string();
    let cluster = dir.join("data/postgres");
    let mut logs = Vec::new();
    for run in ["first", "second"] {
        let fake = FakeDiscord::start().await;
        let command = command(
            &dir,
            &[
                ("DISCORD_TOKEN", TOKEN),
                ("DEVELOPER_USER_ID", &developer),
                ("DISCORD_PROXY_URL", &fake.base_url()),
                ("HEALTH_ADDR", "127.0.0.1:0"),
                ("RUST_LOG", "trace"),
            ],
        );
        logs.push(run_until_ready_then_terminate(&fake, command).await);
        assert!(
            cluster.join("PG_VERSION").exists(),
            "{run} run: a cluster is in ./data/postgres"
        );
        assert!(
            !cluster.join("postmaster.pid").exists(),
            "{run} run: the cluster was stopped on shutdown"
        );
    }
    let password = std::fs::read_to_string(cluster.join("admin-panel.password"))
        .expect("the cluster's password is stored");
    let password = password.trim();
    assert!(!password.is_empty());
    assert!(
        logs[0].contains("created a new PostgreSQL cluster"),
        "{}",
        tail(&logs[0])
    );
    assert!(
        !logs[1].contains("created a new PostgreSQL cluster"),
        "{}",
        tail(&logs[1])
    );
    for log in &logs {
        assert!(
            log.contains("embedded PostgreSQL is ready"),
            "{}",
            tail(log)
        );
        assert!(
            !log.contains(password),
            "the password appears in the trace log"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// The crash test's 500 servers.
const CRASH: BinaryBroadcast = BinaryBroadcast {
    guilds: 500,
    channels: 910_000_000_000,
};

/// SIGKILL in the middle of a 500-guild broadcast, then a restart: the new
/// process releases the dead one's claims and finishes the job, and the
/// nonces make the sends that were in flight at the kill harmless. Every
/// guild ends with exactly one message and the report adds up.
#[tokio::test]
async fn a_broadcast_killed_midway_resumes_after_restart_without_sending_twice() {
    let fake = FakeDiscord::start().await;
    let db = TestDb::new().await;
    let dir = work_dir();
    // Slow answers keep sends in flight, so the kill lands in the middle of some.
    let id = CRASH.seed(&fake, &db, "maintenance").await;

    let mut first = spawn_bot(&dir, &fake, &db, "first.log", &[]);
    CRASH.wait_for_messages(&fake, 150).await;
    first.kill().unwrap();
    // Reaped, so the pid is gone and the next process sees it dead.
    first.wait().unwrap();
    let at_kill = CRASH.messages_posted(&fake);
    assert!(
        at_kill < CRASH.guilds as usize,
        "killed before the end ({at_kill} sent)"
    );

    let second = spawn_bot(&dir, &fake, &db, "second.log", &[]);
    CRASH.finish(&db, id, second, &dir, "second.log").await;
    CRASH.assert_one_message_each(&fake);
    let (targeted, sent, other): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE status = 'sent'), count(*) FILTER (WHERE status <> 'sent')
           FROM broadcast_deliveries WHERE broadcast_id = $1",
    )
    .bind(id)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!((targeted, sent, other), (CRASH.guilds, CRASH.guilds, 0));
    let with_message_id: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT message_id) FROM broadcast_deliveries WHERE broadcast_id = $1",
    )
    .bind(id)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        with_message_id, CRASH.guilds,
        "every delivery records its own message"
    );
    let posts = fake
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/messages"))
        .count();
    eprintln!(
        "crash test: {at_kill} messages before the kill, {posts} sends in all for {} guilds",
        CRASH.guilds
    );
    fake.assert_no_spec_violations();
    let _ = std::fs::remove_dir_all(&dir);
}

/// A database that cannot be used stops the bot within 10 s with one line
/// naming the server and the cause, not "pool timed out".
#[tokio::test]
async fn an_unusable_database_url_stops_the_bot_with_one_line_naming_the_host_and_the_cause() {
    use crate::support::fault_proxy::{FaultProxy, upstream_of};
    let db = TestDb::new().await;
    let server = upstream_of(&db.url);
    let nobody_listens = crate::support::http::free_addr();
    let stalled = FaultProxy::start(server).await;
    stalled.stall();
    // The test server's own credentials (a private test cluster has a
    // password), with one thing changed at a time.
    let credentials = db
        .url
        .split_once("://")
        .unwrap()
        .1
        .split_once('@')
        .unwrap()
        .0;
    let password = credentials
        .split_once(':')
        .map(|(_, password)| format!(":{password}"))
        .unwrap_or_default();
    let user_and_host = |user: &str, host: &str, database: &str| {
        format!("postgres://{user}{password}@{host}/{database}")
    };
    let cases = [
        (
            user_and_host("postgres", &nobody_listens, "postgres"),
            nobody_listens.clone(),
            "connection refused",
        ),
        (
            user_and_host("postgres", &stalled.addr().to_string(), "postgres"),
            stalled.addr().to_string(),
            "timed out",
        ),
        (
            user_and_host("no_such_role_here", &server.to_string(), "postgres"),
            server.to_string(),
            "authentication failed",
        ),
        (
            user_and_host("postgres", &server.to_string(), "no_such_database_here"),
            server.to_string(),
            "does not exist",
        ),
    ];
    let developer = DEVELOPER.to_string();
    let dir = work_dir();
    for (url, host, cause) in cases {
        let started = std::time::Instant::now();
        let output = command(
            &dir,
            &[
                ("DISCORD_TOKEN", TOKEN),
                ("DEVELOPER_USER_ID", &developer),
                ("DATABASE_URL", &url),
                ("HEALTH_ADDR", "127.0.0.1:0"),
            ],
        )
        .output()
        .unwrap();
        let took = started.elapsed();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(took < Duration::from_secs(10), "{cause}: took {took:?}");
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
        assert!(
            stderr.contains(&host) && stderr.contains(cause),
            "{cause}: {stderr}"
        );
        assert!(!stderr.contains("pool timed out"), "{stderr}");
    }
}

/// Interaction tokens and webhook URLs never reach a log, even at
/// `RUST_LOG=trace` and even inside an error chain; the proxy URL is logged
/// without its credentials; a finished broadcast forgets its progress token.
#[tokio::test]
async fn tokens_and_credentials_never_reach_a_log_even_at_trace() {
    use crate::support::bot::ADMIN_GUILD;
    use crate::support::broadcast::{ALL, button_id, compose, seed_guild};
    use crate::support::fake_discord::Failure;
    let fake = FakeDiscord::start().await;
    let db = TestDb::new().await;
    seed_guild(&db, 1, true, ALL).await;
    fake.join_guilds([1]);
    let dir = work_dir();
    let proxy = fake
        .base_url()
        .replace("http://", "http://bot:proxy-secret-4711@");
    let admin_guild = ADMIN_GUILD.to_string();
    let mut child = spawn_bot(
        &dir,
        &fake,
        &db,
        "trace.log",
        &[
            ("RUST_LOG", "trace"),
            ("DISCORD_PROXY_URL", &proxy),
            ("ADMIN_GUILD_IDS", &admin_guild),
        ],
    );
    fake.wait_for_shards(1, Duration::from_secs(60)).await;
    // A token as Discord makes them, whose progress edits all fail: the
    // worker logs the failed request, URL and all.
    let token = format!(
        "aW50ZXJhY3Rpb246OTAwMDAwMDAwOn{:016x}",
        rand::random::<u64>()
    );
    fake.fail_route(
        "PATCH",
        &format!("/api/v10/webhooks/*/{token}/messages/@original"),
        Failure::ServerError,
        None,
    );

    let preview = compose(
        &fake,
        9401,
        "announcement",
        None,
        &[("title", "Quiet about secrets")],
    )
    .await;
    crate::support::interact::press(
        &fake,
        "submit-9401",
        &token,
        DEVELOPER,
        &button_id(&preview, "Send"),
        None,
    )
    .await;
    let finished = crate::support::bot::eventually(
        "the broadcast to finish",
        Duration::from_secs(30),
        || async {
            let row: Option<(String, Option<String>)> =
                sqlx::query_as("SELECT status, progress_token FROM broadcasts")
                    .fetch_optional(&db.pool)
                    .await
                    .unwrap();
            row.filter(|(status, _)| status == "sent")
        },
    )
    .await;
    // Give the worker its last edit attempt (and its log line) before stopping.
    fake.wait_for_request("a progress edit", Duration::from_secs(10), |r| {
        r.method == "PATCH" && r.path.contains(&token)
    })
    .await;
    // SAFETY: kill(2) with a pid we spawned and a valid signal number.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();

    let log = std::fs::read_to_string(dir.join("trace.log")).unwrap();
    assert!(log.len() > 10_000, "a trace log was written");
    assert!(
        !log.contains(&token),
        "an interaction token reached the log"
    );
    assert!(
        !log.contains("proxy-secret-4711"),
        "the proxy's credentials reached the log"
    );
    assert!(!log.contains(TOKEN), "the bot token reached the log");
    assert!(log.contains("[redacted]"), "what was redacted is marked");
    let stored: Vec<String> = sqlx::query_scalar("SELECT message FROM system_logs")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    assert!(stored.iter().all(|m| !m.contains(&token)), "{stored:?}");
    assert_eq!(finished.0, "sent");
    let token_left: Option<String> = sqlx::query_scalar("SELECT progress_token FROM broadcasts")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        token_left, None,
        "the progress token is forgotten once the broadcast finished"
    );
}
