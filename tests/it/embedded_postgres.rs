//! The self-managed PostgreSQL cluster and the per-test databases built on it.
//!
//! These tests start real servers from the PostgreSQL installed on the
//! machine, in temporary directories. Run as root, they exercise the path
//! where the server runs as an unprivileged account.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::db::{TestDb, with_database};
use admin_panel::db::embedded::EmbeddedPostgres;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgSslMode};
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

/// The URLs hold the cluster's password, so failures name only the error.
async fn connect(url: &str) -> PgConnection {
    PgConnection::connect(url)
        .await
        .unwrap_or_else(|error| panic!("connect: {error}"))
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

#[tokio::test]
async fn a_new_cluster_refuses_a_login_without_its_password_over_tcp_and_the_socket() {
    let scratch = ScratchDir::new("password-required");
    let server = EmbeddedPostgres::start(&scratch.join("postgres"))
        .await
        .unwrap_or_else(|error| panic!("start: {error}"));

    assert_password_required(&server).await;
    let wrong = superuser_over_tcp(server.port()).password("not-the-password");
    let error = PgConnection::connect_with(&wrong)
        .await
        .expect_err("a wrong password is refused");
    assert_login_refused(&error, "a wrong password");

    let mut connection = connect(&server.database_url()).await;
    let method: String = sqlx::query_scalar(
        "SELECT CASE WHEN rolpassword LIKE 'SCRAM-SHA-256$%' THEN 'scram' ELSE 'other' END
         FROM pg_authid WHERE rolname = 'postgres'",
    )
    .fetch_one(&mut connection)
    .await
    .expect("query");
    assert_eq!(
        method, "scram",
        "the password is stored as a SCRAM verifier"
    );
    connection.close().await.ok();
    server.stop().await.expect("stop");
}

#[tokio::test]
async fn a_new_cluster_keeps_its_password_in_a_private_file_and_trusts_no_one() {
    let scratch = ScratchDir::new("password-file");
    let data_dir = scratch.join("postgres");
    let server = EmbeddedPostgres::start(&data_dir).await.expect("start");

    assert!(
        trust_rules(&data_dir).is_empty(),
        "{:?}",
        trust_rules(&data_dir)
    );
    let password = assert_private_password_file(&server);
    assert!(password.len() >= 32, "a long password");
    assert!(
        server
            .database_url()
            .contains(&format!(":{password}@127.0.0.1:")),
        "the URL carries the password"
    );
    assert!(
        !format!("{server:?}").contains(&password),
        "Debug does not show the password"
    );
    let leftovers: Vec<PathBuf> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| std::fs::read_to_string(path).is_ok_and(|text| text.contains(&password)))
        .collect();
    assert!(
        leftovers.is_empty(),
        "initdb's password file is removed: {leftovers:?}"
    );
    server.stop().await.expect("stop");
}

#[tokio::test]
async fn a_cluster_created_by_an_earlier_version_is_closed_on_its_next_start_with_its_data() {
    let scratch = ScratchDir::new("trusting-cluster");
    let data_dir = scratch.join("postgres");
    let bin_dir = postgres_bin_dir();
    create_trusting_cluster(&data_dir, &bin_dir);
    assert!(
        !trust_rules(&data_dir).is_empty(),
        "the old way trusts everyone"
    );

    let server = EmbeddedPostgres::start_with_bindir(&data_dir, Some(&bin_dir))
        .await
        .unwrap_or_else(|error| panic!("start of an old cluster: {error}"));

    assert!(
        trust_rules(&data_dir).is_empty(),
        "{:?}",
        trust_rules(&data_dir)
    );
    assert_private_password_file(&server);
    assert_password_required(&server).await;
    assert_survivor_is_kept(&server).await;
    server.stop().await.expect("stop");

    let restarted = EmbeddedPostgres::start_with_bindir(&data_dir, Some(&bin_dir))
        .await
        .expect("the closed cluster starts again with its stored password");
    assert_survivor_is_kept(&restarted).await;
    assert_password_required(&restarted).await;
    restarted.stop().await.expect("stop");
}

#[tokio::test]
async fn an_earlier_version_s_server_left_running_is_closed_when_adopted() {
    let scratch = ScratchDir::new("trusting-running");
    let data_dir = scratch.join("postgres");
    let bin_dir = postgres_bin_dir();
    create_trusting_cluster(&data_dir, &bin_dir);
    let port = start_like_an_earlier_version(&data_dir, &bin_dir);
    let pid = postmaster_pid(&data_dir).expect("the old server runs");

    let adopted = EmbeddedPostgres::start_with_bindir(&data_dir, Some(&bin_dir))
        .await
        .unwrap_or_else(|error| panic!("adopting the old server: {error}"));

    assert_eq!(adopted.port(), port, "the running server is reused");
    assert_eq!(postmaster_pid(&data_dir), Some(pid), "without a restart");
    assert!(trust_rules(&data_dir).is_empty());
    assert_password_required(&adopted).await;
    assert_survivor_is_kept(&adopted).await;
    adopted.stop().await.expect("stop");
}

#[tokio::test]
async fn closing_an_old_cluster_resumes_with_the_password_an_interrupted_run_stored() {
    let scratch = ScratchDir::new("interrupted-closing");
    let data_dir = scratch.join("postgres");
    let bin_dir = postgres_bin_dir();
    create_trusting_cluster(&data_dir, &bin_dir);
    // A run that stored the password, then crashed before it set it.
    let stored = "Interrupted0Closing0Password0Of0Forty0Ch";
    let password_file = data_dir.join("admin-panel.password");
    std::fs::write(&password_file, format!("{stored}\n")).unwrap();
    std::fs::set_permissions(&password_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    if let Some((uid, gid)) = server_account() {
        std::os::unix::fs::chown(&password_file, Some(uid), Some(gid)).unwrap();
    }

    let server = EmbeddedPostgres::start_with_bindir(&data_dir, Some(&bin_dir))
        .await
        .unwrap_or_else(|error| panic!("start: {error}"));

    assert_eq!(assert_private_password_file(&server), stored);
    assert!(server.database_url().contains(stored));
    assert_password_required(&server).await;
    assert_survivor_is_kept(&server).await;
    server.stop().await.expect("stop");
}

#[tokio::test]
async fn an_adopted_server_that_never_loaded_its_closed_pg_hba_conf_is_made_to() {
    let scratch = ScratchDir::new("unloaded-rules");
    let data_dir = scratch.join("postgres");
    let bin_dir = postgres_bin_dir();
    create_trusting_cluster(&data_dir, &bin_dir);
    let port = start_like_an_earlier_version(&data_dir, &bin_dir);
    // A run that got as far as rewriting pg_hba.conf, then crashed before
    // the server reloaded it: the server still trusts everyone.
    let password = "Crashed0Before0The0Reload0Forty0Chars000";
    let mut trusted = PgConnection::connect_with(&superuser_over_tcp(port))
        .await
        .expect("the old server trusts");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "ALTER ROLE postgres PASSWORD '{password}'"
    )))
    .execute(&mut trusted)
    .await
    .expect("set the password");
    trusted.close().await.ok();
    let password_file = data_dir.join("admin-panel.password");
    std::fs::write(&password_file, password).unwrap();
    std::fs::set_permissions(&password_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let hba = data_dir.join("pg_hba.conf");
    let closed = std::fs::read_to_string(&hba)
        .unwrap()
        .replace(" trust\n", " scram-sha-256\n");
    std::fs::write(&hba, closed).unwrap();
    if let Some((uid, gid)) = server_account() {
        std::os::unix::fs::chown(&password_file, Some(uid), Some(gid)).unwrap();
    }
    assert!(trust_rules(&data_dir).is_empty());
    PgConnection::connect_with(&superuser_over_tcp(port))
        .await
        .expect("the running server has not loaded the new rules")
        .close()
        .await
        .ok();

    let adopted = EmbeddedPostgres::start_with_bindir(&data_dir, Some(&bin_dir))
        .await
        .unwrap_or_else(|error| panic!("adopt: {error}"));

    assert_eq!(adopted.port(), port, "the running server is reused");
    assert!(adopted.database_url().contains(password));
    assert_password_required(&adopted).await;
    assert_survivor_is_kept(&adopted).await;
    adopted.stop().await.expect("stop");
}

#[tokio::test]
async fn a_cluster_whose_password_file_was_lost_gets_a_new_password_on_its_next_start() {
    let scratch = ScratchDir::new("lost-password");
    let data_dir = scratch.join("postgres");
    let first = EmbeddedPostgres::start(&data_dir)
        .await
        .expect("first start");
    let old_password = assert_private_password_file(&first);
    first.stop().await.expect("first stop");
    std::fs::remove_file(data_dir.join("admin-panel.password")).unwrap();

    let second = EmbeddedPostgres::start(&data_dir)
        .await
        .unwrap_or_else(|error| panic!("start without a password file: {error}"));

    let new_password = assert_private_password_file(&second);
    assert_ne!(new_password, old_password);
    connect(&second.database_url()).await.close().await.ok();
    let with_old_password = superuser_over_tcp(second.port()).password(&old_password);
    let error = PgConnection::connect_with(&with_old_password)
        .await
        .expect_err("the old password no longer works");
    assert_login_refused(&error, "the old password");
    assert_password_required(&second).await;
    second.stop().await.expect("second stop");
}

/// Options to log in as the superuser over TCP, without a password.
fn superuser_over_tcp(port: u16) -> PgConnectOptions {
    PgConnectOptions::new_without_pgpass()
        .host("127.0.0.1")
        .port(port)
        .username("postgres")
        .database("postgres")
        .ssl_mode(PgSslMode::Disable)
}

/// A login as `postgres` without a password is refused over TCP and over
/// the server's Unix socket (which every cluster in these tests has).
async fn assert_password_required(server: &EmbeddedPostgres) {
    let error = PgConnection::connect_with(&superuser_over_tcp(server.port()))
        .await
        .expect_err("a login without password over TCP is refused");
    assert_login_refused(&error, "TCP without a password");

    let socket_dir = server.data_dir().join("sockets");
    let socket = socket_dir.join(format!(".s.PGSQL.{}", server.port()));
    assert!(
        socket.exists(),
        "the server listens on {}",
        socket.display()
    );
    let over_socket = PgConnectOptions::new_without_pgpass()
        .socket(&socket_dir)
        .port(server.port())
        .username("postgres")
        .database("postgres");
    let error = PgConnection::connect_with(&over_socket)
        .await
        .expect_err("a login without password over the Unix socket is refused");
    assert_login_refused(&error, "the Unix socket without a password");
}

fn assert_login_refused(error: &sqlx::Error, attempt: &str) {
    let code = error
        .as_database_error()
        .and_then(|error| error.code())
        .map(|code| code.into_owned());
    assert_eq!(
        code.as_deref(),
        Some("28P01"),
        "{attempt}: expected invalid_password, got {error}"
    );
}

/// The password file is mode 0600, owned like the data directory; returns
/// the password.
fn assert_private_password_file(server: &EmbeddedPostgres) -> String {
    let path = server.password_file();
    assert_eq!(path, server.data_dir().join("admin-panel.password"));
    let meta = std::fs::metadata(&path).expect("the password file exists");
    assert_eq!(meta.mode() & 0o777, 0o600, "{}", path.display());
    let data_dir_owner = std::fs::metadata(server.data_dir()).unwrap().uid();
    assert_eq!(meta.uid(), data_dir_owner, "owned by the server account");
    std::fs::read_to_string(&path).unwrap().trim().to_owned()
}

/// Rules in the cluster's `pg_hba.conf` whose method is `trust` (comments,
/// which mention the word, aside).
fn trust_rules(data_dir: &Path) -> Vec<String> {
    std::fs::read_to_string(data_dir.join("pg_hba.conf"))
        .expect("read pg_hba.conf")
        .lines()
        .filter(|line| {
            let rule = line.split('#').next().unwrap_or_default();
            rule.split_whitespace().any(|field| field == "trust")
        })
        .map(str::to_owned)
        .collect()
}

async fn assert_survivor_is_kept(server: &EmbeddedPostgres) {
    let mut connection = connect(&server.database_url()).await;
    let name: String = sqlx::query_scalar("SELECT name FROM survivors")
        .fetch_one(&mut connection)
        .await
        .expect("the table from before is there");
    assert_eq!(name, "kept");
    connection.close().await.ok();
}

/// The account the crate runs the server as when the tests run as root
/// (`postgres`, else `nobody`), as (uid, gid); `None` when not root.
fn server_account() -> Option<(u32, u32)> {
    if !running_as_root() {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    ["postgres", "nobody"].iter().find_map(|name| {
        passwd.lines().find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            (fields.len() > 3 && fields[0] == *name)
                .then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
                .flatten()
        })
    })
}

/// A directory holding initdb, pg_ctl and postgres: the first on PATH, else
/// `pg_config --bindir`. The tests pass it to the crate too, so the cluster
/// they create by hand and the server the crate runs have one version.
fn postgres_bin_dir() -> PathBuf {
    let complete = |dir: &Path| {
        ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|program| dir.join(program).is_file())
    };
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    let from_pg_config = std::process::Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .map(|output| PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()));
    on_path
        .into_iter()
        .chain(from_pg_config)
        .find(|dir| dir.is_absolute() && complete(dir))
        .expect("PostgreSQL's server programs are installed")
}

/// One of the PostgreSQL programs, run as the server account when root.
fn pg_program(bin_dir: &Path, program: &str) -> std::process::Command {
    let mut command = std::process::Command::new(bin_dir.join(program));
    command.current_dir("/");
    if let Some((uid, gid)) = server_account() {
        command.uid(uid).gid(gid);
    }
    command
}

fn run_ok(mut command: std::process::Command, input: &str) {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(
        output.status.success() && !printed.contains("ERROR:"),
        "{command:?}: {printed}"
    );
}

/// A cluster as earlier versions of the bot created it (`initdb
/// --auth=trust`), holding a table `survivors` with one row.
fn create_trusting_cluster(data_dir: &Path, bin_dir: &Path) {
    std::fs::create_dir(data_dir).unwrap();
    std::fs::set_permissions(data_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    if let Some((uid, gid)) = server_account() {
        std::os::unix::fs::chown(data_dir, Some(uid), Some(gid)).unwrap();
    }
    let mut initdb = pg_program(bin_dir, "initdb");
    initdb.arg("--pgdata").arg(data_dir).args([
        "--username=postgres",
        "--auth=trust",
        "--encoding=UTF8",
        "--locale=C",
    ]);
    run_ok(initdb, "");
    let mut single = pg_program(bin_dir, "postgres");
    single
        .arg("--single")
        .arg("-D")
        .arg(data_dir)
        .arg("postgres");
    run_ok(
        single,
        "CREATE TABLE survivors (name TEXT);\nINSERT INTO survivors VALUES ('kept');\n",
    );
}

/// Starts the server as earlier versions did (trusting, with a socket in
/// `sockets`), on a free port, and returns the port.
fn start_like_an_earlier_version(data_dir: &Path, bin_dir: &Path) -> u16 {
    let sockets = data_dir.join("sockets");
    std::fs::create_dir(&sockets).unwrap();
    std::fs::set_permissions(&sockets, std::fs::Permissions::from_mode(0o700)).unwrap();
    if let Some((uid, gid)) = server_account() {
        std::os::unix::fs::chown(&sockets, Some(uid), Some(gid)).unwrap();
    }
    let port = std::net::TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut pg_ctl = pg_program(bin_dir, "pg_ctl");
    pg_ctl
        .args(["start", "--wait", "--silent", "--pgdata"])
        .arg(data_dir)
        .arg("--log")
        .arg(data_dir.join("server.log"))
        .arg("-o")
        .arg(format!(
            "-p {port} -h 127.0.0.1 -k \"{}\"",
            sockets.display()
        ));
    run_ok(pg_ctl, "");
    port
}
