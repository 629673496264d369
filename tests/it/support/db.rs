//! A fresh, migrated PostgreSQL database for each test.
//!
//! The server is the one `DATABASE_URL` points at (any database on it; it is
//! only used to create and drop the test databases), or, when that is unset,
//! a private cluster started with [`EmbeddedPostgres`] in a temporary
//! directory, one per test process. nextest runs every test in its own
//! process, so without `DATABASE_URL` each test pays for an `initdb` and a
//! server start (1-2 seconds): slower, but it needs no setup at all. The
//! cluster is stopped and its directory removed when the test process exits.
//!
//! Only databases named `adminpanel_test_<random hex>` that this harness
//! created are ever dropped.

use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use admin_panel::db::embedded::EmbeddedPostgres;
use sqlx::postgres::{PgConnection, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection, PgPool};

/// Prefix of every database this harness creates (and the only ones it drops).
pub const TEST_DATABASE_PREFIX: &str = "adminpanel_test_";

/// Connections per test pool: tests run in parallel, and a server's default
/// `max_connections` (100) must stretch across all of them.
const POOL_CONNECTIONS: u32 = 5;

/// A database of its own for one test, with every migration applied; dropped
/// (with its connections) when the value is dropped.
pub struct TestDb {
    pub pool: PgPool,
    pub url: String,
    pub name: String,
    /// Connection used to create and drop the database: it must be to another
    /// database, since one cannot drop the database one is connected to.
    admin_url: String,
}

impl TestDb {
    /// Creates and migrates a new database. Panics with the reason if the
    /// server is unreachable or a migration fails: this is test setup.
    pub async fn new() -> TestDb {
        let admin_url = admin_url();
        let name = format!("{TEST_DATABASE_PREFIX}{:016x}", rand::random::<u64>());

        let mut admin = PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|error| panic!("cannot connect to the test server: {error}"));
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|error| panic!("cannot create test database {name}: {error}"));
        admin.close().await.ok();

        let url = with_database(&admin_url, &name);
        let pool = PgPoolOptions::new()
            .max_connections(POOL_CONNECTIONS)
            .acquire_timeout(Duration::from_secs(30))
            .connect(&url)
            .await
            .unwrap_or_else(|error| panic!("cannot connect to test database {name}: {error}"));
        admin_panel::db::MIGRATOR
            .run(&pool)
            .await
            .unwrap_or_else(|error| panic!("migrating test database {name} failed: {error}"));

        TestDb {
            pool,
            url,
            name,
            admin_url,
        }
    }

    /// URL of the database used to create and drop test databases, for
    /// checking from outside what exists on the server.
    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }
}

impl Drop for TestDb {
    /// Drops the database from a thread with its own runtime: `Drop` cannot
    /// await, and blocking on the test's own runtime (inside
    /// `#[tokio::test]`) would deadlock or panic. `WITH (FORCE)` ends the
    /// pool's connections, which still exist at this point.
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        let dropped = std::thread::spawn(move || -> Result<(), String> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|error| error.to_string())?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&admin_url)
                    .await
                    .map_err(|error| error.to_string())?;
                sqlx::query(AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                )))
                .execute(&mut admin)
                .await
                .map_err(|error| error.to_string())?;
                admin.close().await.ok();
                Ok(())
            })
        })
        .join();
        // Never panic here: this may run while a failed test is unwinding.
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(error)) => eprintln!("could not drop test database {}: {error}", self.name),
            Err(_) => eprintln!("dropping test database {} panicked", self.name),
        }
    }
}

/// `DATABASE_URL`, or the URL of this process's private cluster.
fn admin_url() -> String {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => private_cluster_url(),
    }
}

/// The private cluster, kept here so the exit hook can stop it; `None` once stopped.
static PRIVATE_CLUSTER: Mutex<Option<PrivateCluster>> = Mutex::new(None);

struct PrivateCluster {
    server: EmbeddedPostgres,
    temp_dir: PathBuf,
}

/// Starts this process's private cluster on first use and returns its URL.
///
/// The cluster is started on a thread with its own runtime, because each
/// `#[tokio::test]` has a runtime of its own that may be gone by the time
/// another test (under `cargo test`, in the same process) needs the cluster.
fn private_cluster_url() -> String {
    static URL: OnceLock<Result<String, String>> = OnceLock::new();
    let url = URL.get_or_init(|| {
        std::thread::spawn(start_private_cluster)
            .join()
            .unwrap_or_else(|_| Err("starting the private cluster panicked".to_owned()))
    });
    match url {
        Ok(url) => url.clone(),
        Err(error) => panic!(
            "DATABASE_URL is unset and the private PostgreSQL cluster could not start: {error}"
        ),
    }
}

fn start_private_cluster() -> Result<String, String> {
    let temp_dir = std::env::temp_dir().join(format!(
        "admin-panel-test-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| error.to_string())?;
    let started = runtime.block_on(EmbeddedPostgres::start(&temp_dir.join("cluster")));
    let server = match started {
        Ok(server) => server,
        Err(error) => {
            std::fs::remove_dir_all(&temp_dir).ok();
            return Err(error.to_string());
        }
    };
    let url = server.database_url();
    *PRIVATE_CLUSTER
        .lock()
        .unwrap_or_else(|poison| poison.into_inner()) = Some(PrivateCluster { server, temp_dir });
    // Statics are never dropped, so stop the cluster from an exit hook; it
    // runs when the test binary returns from main or calls `exit`, which
    // libtest does after failures too. A killed process leaves the cluster
    // running in the temporary directory.
    // SAFETY: registers a plain `extern "C"` function with no preconditions.
    unsafe { libc::atexit(stop_private_cluster) };
    Ok(url)
}

extern "C" fn stop_private_cluster() {
    // Unwinding out of an `extern "C"` function aborts; keep any panic here.
    let _ = std::panic::catch_unwind(|| {
        let cluster = PRIVATE_CLUSTER
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .take();
        if let Some(PrivateCluster { server, temp_dir }) = cluster {
            drop(server); // stops the server synchronously
            std::fs::remove_dir_all(&temp_dir).ok();
        }
    });
}

/// `url` with its database (the path) replaced by `database`; query
/// parameters such as `sslmode` are kept.
pub fn with_database(url: &str, database: &str) -> String {
    let (before_query, query) = match url.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (url, None),
    };
    let authority_start = before_query.find("://").map_or(0, |index| index + 3);
    let server = match before_query[authority_start..].find('/') {
        Some(slash) => &before_query[..authority_start + slash],
        None => before_query,
    };
    match query {
        Some(query) => format!("{server}/{database}?{query}"),
        None => format!("{server}/{database}"),
    }
}
