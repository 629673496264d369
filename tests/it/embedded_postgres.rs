//! The self-managed PostgreSQL cluster and the per-test databases built on it.
//!
//! These tests start real servers from the PostgreSQL installed on the
//! machine, in temporary directories. Run as root, they exercise the path
//! where the server runs as an unprivileged account.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::db::{TestDb, with_database};
use admin_panel::db::embedded::EmbeddedPostgres;
use sqlx::postgres::PgConnection;
use sqlx::{Connection, Row};

/// A directory under the system temp dir, removed (with any cluster files)
/// when dropped. Mode 0755 so the account that runs the server when the
/// tests run as root can reach the cluster inside it.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new(purpose: &str) -> ScratchDir {
        let path = std::env::temp_dir().join(format!(
            "admin-panel-{purpose}-{:016x}",
            rand::random::<u64>()
        ));
        std::fs::create_dir(&path).expect("create scratch dir");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .expect("open scratch dir to the server account");
        ScratchDir(path)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

async fn connect(url: &str) -> PgConnection {
    PgConnection::connect(url)
        .await
        .unwrap_or_else(|error| panic!("connect to {url}: {error}"))
}

fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn postmaster_pid(data_dir: &Path) -> Option<i32> {
    let contents = std::fs::read_to_string(data_dir.join("postmaster.pid")).ok()?;
    contents.lines().next()?.trim().parse().ok()
}

#[tokio::test]
async fn an_embedded_cluster_starts_in_an_empty_directory_and_accepts_queries() {
    let scratch = ScratchDir::new("fresh-cluster");
    let data_dir = scratch.join("data/postgres"); // parent missing too

    let started_at = Instant::now();
    let server = EmbeddedPostgres::start(&data_dir)
        .await
        .unwrap_or_else(|error| panic!("start: {error}"));
    eprintln!(
        "initdb + start took {:?} (port {})",
        started_at.elapsed(),
        server.port()
    );

    assert!(data_dir.join("PG_VERSION").is_file(), "initdb ran");
    if running_as_root() {
        let owner = std::fs::metadata(&data_dir).unwrap().uid();
        assert_ne!(
            owner, 0,
            "as root, the cluster belongs to an unprivileged account"
        );
    }
    assert!(
        server
            .database_url()
            .contains(&format!("127.0.0.1:{}", server.port()))
    );

    let mut connection = connect(&server.database_url()).await;
    let row = sqlx::query("SELECT 1 + 1 AS two, current_setting('listen_addresses') AS listen")
        .fetch_one(&mut connection)
        .await
        .expect("query");
    assert_eq!(row.get::<i32, _>("two"), 2);
    assert_eq!(row.get::<String, _>("listen"), "127.0.0.1");
    connection.close().await.ok();

    let url = server
        .ensure_database("admin_panel")
        .await
        .expect("create database");
    let again = server
        .ensure_database("admin_panel")
        .await
        .expect("an existing database is fine");
    assert_eq!(url, again);
    let mut connection = connect(&url).await;
    let database: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&mut connection)
        .await
        .expect("query");
    assert_eq!(database, "admin_panel");
    connection.close().await.ok();

    let stopping_at = Instant::now();
    server.stop().await.expect("stop");
    eprintln!("stop took {:?}", stopping_at.elapsed());
    assert!(
        !data_dir.join("postmaster.pid").exists(),
        "the server is gone"
    );
}

#[tokio::test]
async fn a_second_start_reuses_the_existing_cluster_directory() {
    let scratch = ScratchDir::new("restart");
    let data_dir = scratch.join("postgres");

    let first = EmbeddedPostgres::start(&data_dir)
        .await
        .expect("first start");
    let mut connection = connect(&first.database_url()).await;
    sqlx::raw_sql("CREATE TABLE survivors (name TEXT); INSERT INTO survivors VALUES ('kept')")
        .execute(&mut connection)
        .await
        .expect("write");
    connection.close().await.ok();
    first.stop().await.expect("first stop");

    let restarted_at = Instant::now();
    let second = EmbeddedPostgres::start(&data_dir)
        .await
        .expect("second start");
    eprintln!(
        "start of an existing cluster took {:?}",
        restarted_at.elapsed()
    );
    let mut connection = connect(&second.database_url()).await;
    let name: String = sqlx::query_scalar("SELECT name FROM survivors")
        .fetch_one(&mut connection)
        .await
        .expect("the table survived the restart");
    assert_eq!(name, "kept");
    connection.close().await.ok();
    second.stop().await.expect("second stop");
}

#[tokio::test]
async fn a_server_left_running_by_a_crashed_run_is_adopted() {
    let scratch = ScratchDir::new("adopt");
    let data_dir = scratch.join("postgres");

    let crashed = EmbeddedPostgres::start(&data_dir)
        .await
        .expect("first start");
    let port = crashed.port();
    let pid = postmaster_pid(&data_dir).expect("server is running");
    std::mem::forget(crashed); // like a bot killed before it could stop the server

    let adopted = EmbeddedPostgres::start(&data_dir).await.expect("adopt");
    assert_eq!(adopted.port(), port, "the running server is reused");
    assert_eq!(postmaster_pid(&data_dir), Some(pid), "no second server");
    adopted.stop().await.expect("stop");
    assert!(!data_dir.join("postmaster.pid").exists());
}

#[tokio::test]
async fn a_stale_lock_file_of_a_killed_server_does_not_block_the_next_start() {
    let scratch = ScratchDir::new("stale-lock");
    let data_dir = scratch.join("postgres");

    let killed = EmbeddedPostgres::start(&data_dir)
        .await
        .expect("first start");
    let pid = postmaster_pid(&data_dir).expect("server is running");
    std::mem::forget(killed);
    // SAFETY: sends SIGKILL to the postmaster this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    // The postmaster's children notice its death and exit; until they have,
    // the old shared memory is in use and no new server may start.
    wait_for("the killed server's processes to exit", || {
        !processes_in(&data_dir)
    })
    .await;
    assert!(
        data_dir.join("postmaster.pid").exists(),
        "a stale lock file is left"
    );

    let restarted = EmbeddedPostgres::start(&data_dir)
        .await
        .unwrap_or_else(|error| panic!("start after a crash: {error}"));
    assert_ne!(postmaster_pid(&data_dir), Some(pid));
    restarted.stop().await.expect("stop");
}

/// Whether any process runs with its working directory in `data_dir`, as
/// every PostgreSQL server process does (Linux only; elsewhere, assume none).
fn processes_in(data_dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    entries
        .flatten()
        .any(|entry| std::fs::read_link(entry.path().join("cwd")).is_ok_and(|cwd| cwd == data_dir))
}

#[tokio::test]
async fn dropping_a_running_cluster_stops_it() {
    let scratch = ScratchDir::new("drop");
    let data_dir = scratch.join("postgres");
    let server = EmbeddedPostgres::start(&data_dir).await.expect("start");
    assert!(data_dir.join("postmaster.pid").exists());
    drop(server);
    assert!(
        !data_dir.join("postmaster.pid").exists(),
        "the server stopped before drop returned"
    );
}

#[tokio::test]
async fn a_data_directory_the_server_account_cannot_reach_is_named_in_the_error() {
    if !running_as_root() {
        eprintln!("skipped: only root runs the server as another account");
        return;
    }
    let scratch = ScratchDir::new("unreachable");
    let private = scratch.join("private");
    std::fs::create_dir(&private).unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();

    let error = EmbeddedPostgres::start(&private.join("postgres"))
        .await
        .expect_err("the server account cannot enter a 0700 root directory");

    let message = error.to_string();
    eprintln!("{message}");
    assert!(!message.contains('\n'), "one line: {message}");
    assert!(
        message.contains(&format!("{} (mode 700)", private.display())),
        "{message}"
    );
}

#[tokio::test]
async fn a_cluster_of_a_major_version_that_is_not_installed_is_refused_with_a_remedy() {
    let scratch = ScratchDir::new("old-cluster");
    let data_dir = scratch.join("postgres");
    std::fs::create_dir(&data_dir).unwrap();
    std::fs::write(data_dir.join("PG_VERSION"), "9.4\n").unwrap();

    let error = EmbeddedPostgres::start(&data_dir)
        .await
        .expect_err("PostgreSQL 9.4 is not installed");

    let message = error.to_string();
    assert!(!message.contains('\n'), "one line: {message}");
    assert!(message.contains("PostgreSQL 9.4"), "{message}");
    assert!(message.contains("pg_upgrade"), "{message}");
    assert_eq!(
        std::fs::read_dir(&data_dir).unwrap().count(),
        1,
        "the old cluster is left alone"
    );
}

#[tokio::test]
async fn a_missing_binary_directory_gives_one_clear_line() {
    let scratch = ScratchDir::new("no-binaries");
    let empty_bin_dir = scratch.join("bin");
    std::fs::create_dir(&empty_bin_dir).unwrap();
    let data_dir = scratch.join("postgres");

    let error = EmbeddedPostgres::start_with_bindir(&data_dir, Some(&empty_bin_dir))
        .await
        .expect_err("there are no programs to run");

    let message = error.to_string();
    assert!(!message.contains('\n'), "one line: {message}");
    assert!(message.contains("install PostgreSQL"), "{message}");
    assert!(message.contains("apt install postgresql"), "{message}");
    assert!(message.contains("DATABASE_URL"), "{message}");
    assert!(
        message.contains(&empty_bin_dir.display().to_string()),
        "{message}"
    );
    assert!(
        !data_dir.exists(),
        "nothing is created before the programs are found"
    );
}

#[tokio::test]
async fn test_databases_are_isolated_and_dropped() {
    let first = TestDb::new().await;
    let second = TestDb::new().await;
    assert_ne!(first.name, second.name);
    assert_ne!(first.url, second.url);

    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(&first.pool)
        .await
        .expect("migrations table");
    assert_eq!(applied, admin_panel::db::MIGRATOR.iter().count() as i64);

    sqlx::query("CREATE TABLE only_in_first (id INT)")
        .execute(&first.pool)
        .await
        .expect("create table");
    let visible_in_second: Option<String> =
        sqlx::query_scalar("SELECT to_regclass('only_in_first')::text")
            .fetch_one(&second.pool)
            .await
            .expect("query");
    assert_eq!(visible_in_second, None, "databases are separate");

    let admin_url = first.admin_url().to_owned();
    let names = [first.name.clone(), second.name.clone()];
    drop(first);
    drop(second);

    let mut admin = connect(&admin_url).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let remaining: i64 =
            sqlx::query_scalar("SELECT count(*) FROM pg_database WHERE datname = ANY($1)")
                .bind(&names[..])
                .fetch_one(&mut admin)
                .await
                .expect("query");
        if remaining == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{remaining} test databases still exist"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    admin.close().await.ok();
}

#[test]
fn with_database_replaces_only_the_database_in_a_url() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
        "postgres://postgres@127.0.0.1:5432/t1"
    );
    assert_eq!(
        with_database("postgres://u:p@h:1/db?sslmode=disable", "t1"),
        "postgres://u:p@h:1/t1?sslmode=disable"
    );
    assert_eq!(with_database("postgres://h", "t1"), "postgres://h/t1");
    assert_eq!(
        with_database("postgresql:///postgres?host=/run/postgresql", "t1"),
        "postgresql:///t1?host=/run/postgresql"
    );
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
