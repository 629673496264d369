//! A PostgreSQL cluster that the bot runs itself when no `DATABASE_URL` is given.
//!
//! The cluster lives in a directory of the bot's choosing (normally
//! `./data/postgres`) and is run with the PostgreSQL programs already installed
//! on the machine: nothing is downloaded. [`EmbeddedPostgres::start`] finds the
//! programs, creates the cluster on first use, starts the server on a free
//! loopback port and waits until it answers; [`EmbeddedPostgres::stop`] (or, as
//! a fallback, dropping the handle) shuts it down again.
//!
//! Two facts of PostgreSQL shape this module:
//! - `initdb` and `postgres` refuse to run as root. A bot started as root (as in
//!   many containers) therefore runs them as an unprivileged account (the
//!   `postgres` system user, else `nobody`) that owns the data directory.
//! - `pg_ctl start` builds a shell command line from the data directory and the
//!   server options, so paths with shell-active characters are refused up front
//!   rather than quoted imperfectly.
//!
//! The server accepts `trust` authentication on 127.0.0.1 only: any process on
//! this machine can connect as the superuser `postgres`, nothing from outside
//! can. That suits a developer-only panel on a single host; a shared machine
//! should use `DATABASE_URL` with a properly secured server instead.

mod account;
mod discovery;
mod process;

use account::*;
use discovery::*;
use process::*;
use std::ffi::OsStr;
use std::fs;
use std::io::{self, Read, Seek, SeekFrom};
use std::net::TcpListener;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgConnection, PgSslMode};
use sqlx::{AssertSqlSafe, Connection};

/// The programs a cluster needs. They are always taken from one directory so
/// their versions agree.
const SERVER_PROGRAMS: [&str; 3] = ["initdb", "pg_ctl", "postgres"];

/// Superuser created by `initdb`; also the role the bot connects as.
const SUPERUSER: &str = "postgres";

/// The server never listens on anything but loopback, because it trusts every
/// connection.
const LISTEN_ADDRESS: &str = "127.0.0.1";

/// Database that every cluster has, used for administrative connections.
const MAINTENANCE_DATABASE: &str = "postgres";

/// The server's lock file in the data directory; see [`PostmasterPid`].
const LOCK_FILE_NAME: &str = "postmaster.pid";

/// SQLSTATE `duplicate_database`.
const DUPLICATE_DATABASE: &str = "42P04";

/// Directory inside the data directory for the server's Unix socket, so the
/// cluster never needs write access to `/var/run/postgresql`.
const SOCKET_DIR_NAME: &str = "sockets";

/// Server log inside the data directory; quoted in errors when a start fails.
const LOG_FILE_NAME: &str = "server.log";

/// A log this large is moved aside to `server.log.old` before a start, so a
/// long-lived bot does not fill the disk with server logs.
const LOG_ROTATE_BYTES: u64 = 16 * 1024 * 1024;

/// Lines of the server log quoted in a start error.
const LOG_TAIL_LINES: usize = 20;

/// A free port is picked by binding port 0 and releasing it, so another
/// process may grab it before the server binds it; this many ports are tried.
const PORT_ATTEMPTS: u32 = 5;

/// How long `pg_ctl` waits for the server to start (crash recovery included)
/// and to stop.
const PG_CTL_TIMEOUT_SECS: u64 = 60;

/// How long a server left running by an earlier run may take to answer before
/// it is reported as unusable, when its lock file says it is ready.
const RUNNING_SERVER_GRACE: Duration = Duration::from_secs(5);

/// Bound on a single connection attempt to our own server.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest Unix socket path the server can bind (`sun_path` is 104 bytes on
/// macOS and 108 on Linux, both including the terminating NUL).
const MAX_SOCKET_PATH_BYTES: usize = 103;

/// Accounts that run the server when the bot runs as root, in order of
/// preference: `postgres` is what packages create for exactly this purpose.
const UNPRIVILEGED_ACCOUNTS: [&str; 2] = ["postgres", "nobody"];

/// Where PostgreSQL installations live when they are not on PATH, as
/// (parent directory, prefix of the versioned entry); each entry's `bin`
/// subdirectory is a candidate. Debian/Ubuntu come first, as the most common
/// host for a bot.
const VERSIONED_INSTALL_ROOTS: [(&str, &str); 4] = [
    // Debian, Ubuntu: /usr/lib/postgresql/16/bin
    ("/usr/lib/postgresql", ""),
    // RHEL, Fedora (PGDG packages): /usr/pgsql-16/bin
    ("/usr", "pgsql-"),
    // Homebrew on Apple silicon, then on Intel macOS: .../opt/postgresql@16/bin
    ("/opt/homebrew/opt", "postgresql@"),
    ("/usr/local/opt", "postgresql@"),
];

/// What a user without PostgreSQL can do about it; part of a one-line error.
const INSTALL_HINT: &str = "install PostgreSQL (e.g. `apt install postgresql` or `brew install postgresql@16`) or set DATABASE_URL to an existing database";

/// Why the self-managed cluster could not be started, used or stopped.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedPostgresError {
    /// No directory holds all of `initdb`, `pg_ctl` and `postgres`.
    #[error(
        "PostgreSQL server programs (initdb, pg_ctl, postgres) were not found (searched {searched}); {hint}",
        hint = INSTALL_HINT
    )]
    BinariesNotFound { searched: String },

    /// The cluster was created by a PostgreSQL major version that is not
    /// installed; its files cannot be read by another major version.
    #[error(
        "the cluster in {data_dir} was created by PostgreSQL {cluster_version}, but no installed PostgreSQL has that major version (found {installed} in {bin_dir}); install PostgreSQL {cluster_version}, upgrade the cluster with pg_upgrade, or move the directory away to start afresh"
    )]
    VersionMismatch {
        data_dir: PathBuf,
        cluster_version: String,
        installed: String,
        bin_dir: PathBuf,
    },

    /// The data directory holds something other than a cluster; `initdb` only
    /// fills empty directories and the bot must not delete anyone's files.
    #[error(
        "{data_dir} is not empty and holds no PostgreSQL cluster; point the bot at an empty or missing directory"
    )]
    NotACluster { data_dir: PathBuf },

    /// The path would break `pg_ctl`, which passes it through `/bin/sh`
    /// inside double quotes.
    #[error(
        "the data directory path {data_dir} is not usable with pg_ctl: it must be UTF-8 and free of the characters \" \\ $ `"
    )]
    UnsupportedPath { data_dir: PathBuf },

    /// Running as root, but no unprivileged account exists to run the server.
    #[error(
        "running as root, and neither a `postgres` nor a `nobody` account exists in /etc/passwd to run PostgreSQL as (it refuses to run as root); create a `postgres` system user or run the bot as an ordinary user"
    )]
    NoUnprivilegedAccount,

    /// The account that runs the server cannot reach the data directory.
    #[error(
        "PostgreSQL runs as `{account}`, which cannot reach {data_dir}: {obstacle}; choose a data directory outside it or grant access (e.g. `chmod o+x` on the directory named)"
    )]
    DataDirNotReachable {
        account: String,
        data_dir: PathBuf,
        obstacle: String,
    },

    /// A file-system operation failed.
    #[error("could not {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// A PostgreSQL program could not be run or reported failure.
    #[error("`{command}` failed: {details}")]
    CommandFailed { command: String, details: String },

    /// `pg_ctl start` failed for a reason other than a port taken by someone else.
    #[error("PostgreSQL did not start in {data_dir}: {details}\nlast lines of {}:\n{log_tail}", log_file.display())]
    StartFailed {
        data_dir: PathBuf,
        details: String,
        log_file: PathBuf,
        log_tail: String,
    },

    /// A server from an earlier run holds the data directory but does not answer.
    #[error(
        "a PostgreSQL server (pid {pid}) already runs on {data_dir} but does not answer on {LISTEN_ADDRESS}:{port}; stop it with `pg_ctl stop -D {data_dir}` and retry"
    )]
    ExistingServerNotAnswering {
        pid: i32,
        port: String,
        data_dir: PathBuf,
    },

    /// The server started but a connection to it failed.
    #[error(
        "PostgreSQL started in {data_dir} but does not accept connections on port {port}: {source}"
    )]
    NotAcceptingConnections {
        data_dir: PathBuf,
        port: u16,
        #[source]
        source: sqlx::Error,
    },

    /// Only plain identifiers are accepted, so names need no quoting in SQL or URLs.
    #[error("invalid database name {name:?}: use 1 to 63 ASCII letters, digits or underscores")]
    InvalidDatabaseName { name: String },

    /// A query on the running server failed.
    #[error("could not {action}: {source}")]
    Database {
        action: String,
        #[source]
        source: sqlx::Error,
    },
}

type Result<T, E = EmbeddedPostgresError> = std::result::Result<T, E>;

/// A running PostgreSQL server over a data directory that the bot manages.
///
/// Call [`stop`](Self::stop) on shutdown. If the handle is dropped instead
/// (early return, panic), the server is stopped synchronously, blocking the
/// current thread briefly. If the process dies without either, the server
/// keeps running and the next [`start`](Self::start) on the same directory
/// adopts it.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    data_dir: PathBuf,
    bin_dir: PathBuf,
    port: u16,
    account: Option<ServerAccount>,
    /// Cleared once the server has been stopped, so `Drop` does not stop it twice.
    running: bool,
}

impl EmbeddedPostgres {
    /// Finds the PostgreSQL programs, creates a cluster in `data_dir` if it
    /// holds none, starts the server and waits until it accepts connections.
    ///
    /// The programs are looked for on PATH, then in `pg_config --bindir`, then
    /// in the usual installation directories (newest version first).
    pub async fn start(data_dir: &Path) -> Result<Self> {
        Self::start_with_bindir(data_dir, None).await
    }

    /// Like [`start`](Self::start), but `Some(dir)` uses the programs in `dir`
    /// only, without searching anywhere else.
    pub async fn start_with_bindir(data_dir: &Path, bin_dir: Option<&Path>) -> Result<Self> {
        let started_at = Instant::now();
        let candidates = match bin_dir {
            Some(dir) => explicit_bin_dir(dir)?,
            None => discover_bin_dirs()?,
        };

        let data_dir = std::path::absolute(data_dir).map_err(io_error("resolve", data_dir))?;
        ensure_shell_safe(&data_dir)?;
        let cluster_version = existing_cluster_version(&data_dir)?;
        let bin_dir = choose_bin_dir(&candidates, &data_dir, cluster_version.as_deref())?;
        let account = server_account(&data_dir, cluster_version.is_some())?;
        prepare_data_dir(&data_dir, account.as_ref())?;
        let data_dir = fs::canonicalize(&data_dir).map_err(io_error("resolve", &data_dir))?;
        if let Some(account) = &account {
            ensure_reachable(&data_dir, &bin_dir, account)?;
        }

        let mut server = EmbeddedPostgres {
            data_dir,
            bin_dir,
            port: 0,
            account,
            running: false,
        };

        if let Some(port) = server.adopt_running_server().await? {
            server.port = port;
            server.running = true;
            tracing::info!(
                data_dir = %server.data_dir.display(),
                port,
                "adopted the embedded PostgreSQL server left running by an earlier run"
            );
            return Ok(server);
        }

        if cluster_version.is_none() {
            server.initdb().await?;
        }
        server.prepare_runtime_files()?;
        server.port = server.start_server().await?;
        server.running = true;
        server.connect().await?.close().await.ok();
        tracing::info!(
            data_dir = %server.data_dir.display(),
            port = server.port,
            elapsed_ms = started_at.elapsed().as_millis() as u64,
            "embedded PostgreSQL is ready"
        );
        Ok(server)
    }

    /// URL of the cluster's `postgres` database, e.g.
    /// `postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable`.
    pub fn database_url(&self) -> String {
        self.database_url_for(MAINTENANCE_DATABASE)
    }

    /// URL of `database` on this cluster (which need not exist yet). TLS is
    /// disabled explicitly so a `PGSSLMODE=require` in the environment cannot
    /// break connections to a server that has no certificate.
    pub fn database_url_for(&self, database: &str) -> String {
        format!(
            "postgres://{SUPERUSER}@{LISTEN_ADDRESS}:{}/{database}?sslmode=disable",
            self.port
        )
    }

    /// Creates database `name` unless it exists, and returns its URL. Names
    /// are limited to ASCII letters, digits and `_` (at most 63 bytes,
    /// PostgreSQL's limit), so they need no quoting in SQL or URLs.
    pub async fn ensure_database(&self, name: &str) -> Result<String> {
        if !is_plain_identifier(name) {
            return Err(EmbeddedPostgresError::InvalidDatabaseName {
                name: name.to_owned(),
            });
        }
        let mut connection = self.connect().await?;
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                .bind(name)
                .fetch_one(&mut connection)
                .await
                .map_err(database_error(format!("look up database {name}")))?;
        if !exists {
            let created = sqlx::query(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                .execute(&mut connection)
                .await;
            match created {
                Ok(_) => {
                    tracing::info!(database = name, "created a database in embedded PostgreSQL")
                }
                // Another process created it between our check and our CREATE.
                Err(error) if sqlstate(&error).as_deref() == Some(DUPLICATE_DATABASE) => {}
                Err(error) => return Err(database_error(format!("create database {name}"))(error)),
            }
        }
        connection.close().await.ok();
        Ok(self.database_url_for(name))
    }

    /// Port the server listens on at 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Absolute path of the cluster's data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Directory of the PostgreSQL programs in use.
    pub fn bin_dir(&self) -> &Path {
        &self.bin_dir
    }

    /// Stops the server with `pg_ctl stop -m fast` (open sessions are
    /// disconnected and their transactions rolled back; everything committed
    /// is kept) and waits until it has exited.
    pub async fn stop(mut self) -> Result<()> {
        // Whatever happens now, dropping `self` must not try a second time.
        self.running = false;
        if !self.data_dir.join(LOCK_FILE_NAME).exists() {
            return Ok(()); // already stopped by someone else
        }
        run(self.stop_command()).await?;
        tracing::info!(data_dir = %self.data_dir.display(), "embedded PostgreSQL stopped");
        Ok(())
    }

    /// Stops the server without an async runtime, for `Drop`.
    fn stop_blocking(&mut self) -> Result<()> {
        self.running = false;
        if !self.data_dir.join(LOCK_FILE_NAME).exists() {
            return Ok(());
        }
        run_blocking(self.stop_command())
    }

    fn stop_command(&self) -> Command {
        let mut command = self.pg_command("pg_ctl");
        command
            .args(["stop", "--mode=fast", "--wait", "--silent"])
            .arg(format!("--timeout={PG_CTL_TIMEOUT_SECS}"))
            .arg("--pgdata")
            .arg(&self.data_dir);
        command
    }

    /// Returns the port of a server that an earlier run left running on this
    /// data directory, once it answers; `None` if there is none. A stale
    /// `postmaster.pid` of a dead server is left to `pg_ctl start`, which
    /// removes it.
    async fn adopt_running_server(&self) -> Result<Option<u16>> {
        let lock_file = self.data_dir.join(LOCK_FILE_NAME);
        let first_seen = Instant::now();
        loop {
            let contents = match fs::read_to_string(&lock_file) {
                Ok(contents) => contents,
                Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
                Err(error) => return Err(io_error("read", &lock_file)(error)),
            };
            let lock = PostmasterPid::parse(&contents);
            let Some(pid) = lock.pid else {
                // The server writes its lock file in steps; re-read a partial one.
                if first_seen.elapsed() > RUNNING_SERVER_GRACE {
                    return Ok(None);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            };
            if !process_is_alive(pid) {
                return Ok(None);
            }
            if let Some(port) = lock.port
                && self.serves_our_data_dir(port).await
            {
                return Ok(Some(port));
            }
            // Crash recovery may keep a server "starting" for a long time; one
            // that claims to be ready must answer promptly.
            let patience = if lock.is_ready() {
                RUNNING_SERVER_GRACE
            } else {
                Duration::from_secs(PG_CTL_TIMEOUT_SECS)
            };
            if first_seen.elapsed() > patience {
                return Err(EmbeddedPostgresError::ExistingServerNotAnswering {
                    pid,
                    port: lock
                        .port
                        .map_or_else(|| "?".to_owned(), |port| port.to_string()),
                    data_dir: self.data_dir.clone(),
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Whether the server on `port` is really ours: after a crash, the port in
    /// `postmaster.pid` may belong to some other server by now.
    async fn serves_our_data_dir(&self, port: u16) -> bool {
        let Ok(mut connection) = connect_to(port).await else {
            return false;
        };
        let shown: Result<String, _> = sqlx::query_scalar("SHOW data_directory")
            .fetch_one(&mut connection)
            .await;
        connection.close().await.ok();
        shown.is_ok_and(|shown| fs::canonicalize(shown).is_ok_and(|dir| dir == self.data_dir))
    }

    /// Creates the cluster. The locale is `C` so the cluster behaves the same
    /// on every host and needs no locale installed.
    async fn initdb(&self) -> Result<()> {
        let started_at = Instant::now();
        let mut command = self.pg_command("initdb");
        command
            .arg("--pgdata")
            .arg(&self.data_dir)
            .arg(format!("--username={SUPERUSER}"))
            .args(["--auth=trust", "--encoding=UTF8", "--locale=C"]);
        run(command).await?;
        tracing::info!(
            data_dir = %self.data_dir.display(),
            elapsed_ms = started_at.elapsed().as_millis() as u64,
            "created a new PostgreSQL cluster"
        );
        Ok(())
    }

    /// Creates the socket directory (after initdb, which insists on an empty
    /// data directory) and moves an oversized log aside.
    fn prepare_runtime_files(&self) -> Result<()> {
        let socket_dir = self.data_dir.join(SOCKET_DIR_NAME);
        if !socket_dir.is_dir() {
            fs::DirBuilder::new()
                .mode(0o700)
                .create(&socket_dir)
                .map_err(io_error("create", &socket_dir))?;
            if let Some(account) = &self.account {
                account.chown(&socket_dir)?;
            }
        }
        let log_file = self.log_file();
        if fs::metadata(&log_file).is_ok_and(|meta| meta.len() > LOG_ROTATE_BYTES) {
            let old_log = self.data_dir.join(format!("{LOG_FILE_NAME}.old"));
            fs::rename(&log_file, &old_log).map_err(io_error("rotate", &log_file))?;
        }
        Ok(())
    }

    /// Starts the server on a free port and returns that port, trying other
    /// ports while the chosen one turns out to be taken.
    async fn start_server(&self) -> Result<u16> {
        let log_file = self.log_file();
        let mut last_failure = String::new();
        for attempt in 1..=PORT_ATTEMPTS {
            let port = free_loopback_port()
                .map_err(io_error("find a free port on", Path::new(LISTEN_ADDRESS)))?;
            let log_start = fs::metadata(&log_file).map_or(0, |meta| meta.len());
            let mut command = self.pg_command("pg_ctl");
            command
                .args(["start", "--wait", "--silent"])
                .arg(format!("--timeout={PG_CTL_TIMEOUT_SECS}"))
                .arg("--pgdata")
                .arg(&self.data_dir)
                .arg("--log")
                .arg(&log_file)
                .arg("-o")
                .arg(self.server_options(port));
            let details = match run(command).await {
                Ok(()) => return Ok(port),
                Err(EmbeddedPostgresError::CommandFailed { details, .. }) => details,
                Err(other) => return Err(other),
            };
            let new_log = read_log_from(&log_file, log_start);
            if !port_was_taken(&new_log) {
                return Err(self.start_failed(details, &new_log));
            }
            tracing::debug!(
                port,
                attempt,
                "port taken before PostgreSQL could bind it; retrying"
            );
            last_failure = details;
        }
        Err(self.start_failed(
            format!("{PORT_ATTEMPTS} free ports were taken before the server could bind them ({last_failure})"),
            &read_log_from(&log_file, 0),
        ))
    }

    /// The `-o` options for `pg_ctl start`. pg_ctl passes them through
    /// `/bin/sh`, so the socket path is double-quoted exactly as pg_ctl quotes
    /// the data directory, which [`ensure_shell_safe`] has vetted.
    fn server_options(&self, port: u16) -> String {
        let socket_dir = self.data_dir.join(SOCKET_DIR_NAME);
        let socket_path_len = socket_dir.as_os_str().len() + format!("/.s.PGSQL.{port}").len();
        // A socket path that is too long would keep the server from starting.
        // Every client of this cluster uses TCP, so go without the socket then.
        let socket_dir = if socket_path_len > MAX_SOCKET_PATH_BYTES {
            tracing::debug!(
                "data directory path too long for a Unix socket; listening on TCP only"
            );
            String::new()
        } else {
            socket_dir.to_string_lossy().into_owned()
        };
        format!("-p {port} -h {LISTEN_ADDRESS} -k \"{socket_dir}\"")
    }

    async fn connect(&self) -> Result<PgConnection> {
        connect_to(self.port).await.map_err(|source| {
            EmbeddedPostgresError::NotAcceptingConnections {
                data_dir: self.data_dir.clone(),
                port: self.port,
                source,
            }
        })
    }

    fn start_failed(&self, details: String, new_log: &str) -> EmbeddedPostgresError {
        EmbeddedPostgresError::StartFailed {
            data_dir: self.data_dir.clone(),
            details,
            log_file: self.log_file(),
            log_tail: last_lines(new_log, LOG_TAIL_LINES),
        }
    }

    fn log_file(&self) -> PathBuf {
        self.data_dir.join(LOG_FILE_NAME)
    }

    fn pg_command(&self, program: &str) -> Command {
        pg_command(&self.bin_dir, program, self.account.as_ref())
    }
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        if !self.running {
            return;
        }
        match self.stop_blocking() {
            Ok(()) => {
                tracing::info!(data_dir = %self.data_dir.display(), "embedded PostgreSQL stopped on drop");
            }
            Err(error) => tracing::warn!(%error, "could not stop embedded PostgreSQL on drop"),
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    fn paths(dirs: &[&str]) -> Vec<PathBuf> {
        dirs.iter().map(PathBuf::from).collect()
    }

    #[test]
    fn path_entries_come_before_pg_config_which_comes_before_installations() {
        let candidates = candidate_bin_dirs(
            Some(OsStr::new("/usr/local/bin:relative/bin:/usr/bin")),
            Some(PathBuf::from("/usr/lib/postgresql/16/bin")),
            paths(&["/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin"]),
        );
        assert_eq!(
            candidates,
            paths(&[
                "/usr/local/bin",
                "/usr/bin",
                "/usr/lib/postgresql/16/bin",
                "/usr/lib/postgresql/15/bin",
            ]),
            "relative PATH entries are skipped and duplicates appear once"
        );
    }

    #[test]
    fn discovery_works_without_path_or_pg_config() {
        let candidates = candidate_bin_dirs(None, None, paths(&["/usr/pgsql-16/bin"]));
        assert_eq!(candidates, paths(&["/usr/pgsql-16/bin"]));
    }

    #[test]
    fn a_directory_counts_only_with_all_three_programs() {
        let only_psql_and_pg_ctl = |path: &Path| {
            path.file_name()
                .is_some_and(|name| name == "pg_ctl" || name == "psql")
        };
        assert!(!has_server_programs(
            Path::new("/usr/bin"),
            only_psql_and_pg_ctl
        ));
        assert!(has_server_programs(Path::new("/opt/pg/bin"), |_| true));
    }

    #[test]
    fn installations_are_ordered_newest_version_first() {
        let names: Vec<String> = ["9.6", "10", "16", "15", "README", "16beta"]
            .map(String::from)
            .to_vec();
        assert_eq!(newest_first(&names, ""), ["16", "15", "10", "9.6"]);

        let homebrew: Vec<String> = ["postgresql@14", "openssl@3", "postgresql@16", "postgresql"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            newest_first(&homebrew, "postgresql@"),
            ["postgresql@16", "postgresql@14"]
        );
    }

    #[test]
    fn versioned_bin_dirs_reads_the_installation_root() {
        let root = std::env::temp_dir().join(format!(
            "admin-panel-bindirs-{:016x}",
            rand::random::<u64>()
        ));
        for version in ["13", "17", "9.5"] {
            fs::create_dir_all(root.join(version).join("bin")).unwrap();
        }
        fs::write(root.join("notes.txt"), "").unwrap();
        let found = versioned_bin_dirs(&root, "");
        fs::remove_dir_all(&root).unwrap();
        assert_eq!(
            found,
            vec![
                root.join("17/bin"),
                root.join("13/bin"),
                root.join("9.5/bin")
            ]
        );
        assert!(versioned_bin_dirs(Path::new("/nonexistent/postgresql"), "").is_empty());
    }

    #[test]
    fn major_versions_are_spelled_like_pg_version_files() {
        let debian = "postgres (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)\n";
        assert_eq!(major_version(debian).as_deref(), Some("15"));
        assert_eq!(
            major_version("postgres (PostgreSQL) 9.6.24").as_deref(),
            Some("9.6")
        );
        assert_eq!(
            major_version("postgres (PostgreSQL) 18beta1").as_deref(),
            Some("18")
        );
        assert_eq!(major_version("command not found"), None);
    }

    #[test]
    fn passwd_entries_are_found_by_name_and_by_uid() {
        let passwd = "\
# comment line
root:x:0:0:root:/root:/bin/bash

nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
broken-line-without-fields
+nisuser::::::
postgres:x:101:104:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash
";
        let postgres = ServerAccount {
            name: "postgres".into(),
            uid: 101,
            gid: 104,
        };
        assert_eq!(passwd_account(passwd, "postgres"), Some(postgres));
        assert_eq!(passwd_account(passwd, "nobody").map(|a| a.uid), Some(65534));
        assert_eq!(passwd_account(passwd, "nisuser"), None);
        assert_eq!(passwd_account(passwd, "alice"), None);
        assert_eq!(passwd_name_of(passwd, 101).as_deref(), Some("postgres"));
        assert_eq!(passwd_name_of(passwd, 4242), None);
    }

    #[test]
    fn the_preferred_unprivileged_account_is_postgres_then_nobody() {
        let without_postgres = "nobody:x:65534:65534::/:/bin/false\n";
        let preferred = UNPRIVILEGED_ACCOUNTS
            .iter()
            .find_map(|name| passwd_account(without_postgres, name));
        assert_eq!(preferred.map(|a| a.name).as_deref(), Some("nobody"));
    }

    #[test]
    fn a_complete_postmaster_pid_gives_pid_port_and_status() {
        let contents = "11944\n/tmp/cluster/data\n1795555216\n54999\n/tmp/cluster/data/sockets\n127.0.0.1\n 10010870         9\nready   \n";
        let lock = PostmasterPid::parse(contents);
        assert_eq!(lock.pid, Some(11944));
        assert_eq!(lock.port, Some(54999));
        assert!(lock.is_ready());
    }

    #[test]
    fn a_partially_written_postmaster_pid_gives_what_it_has() {
        let starting = PostmasterPid::parse("4242\n/data\n1795555216\n5433\n");
        assert_eq!(starting.pid, Some(4242));
        assert_eq!(starting.port, Some(5433));
        assert!(!starting.is_ready());
        assert_eq!(PostmasterPid::parse(""), PostmasterPid::default());
        assert_eq!(PostmasterPid::parse("not a pid\n").pid, None);
    }

    #[test]
    fn the_missing_binaries_error_is_one_line_with_both_remedies() {
        let message = EmbeddedPostgresError::BinariesNotFound {
            searched: "/empty".into(),
        }
        .to_string();
        assert!(!message.contains('\n'), "{message}");
        assert!(message.contains("apt install postgresql"), "{message}");
        assert!(message.contains("DATABASE_URL"), "{message}");
    }

    #[test]
    fn paths_that_pg_ctl_would_pass_to_the_shell_unquoted_are_refused() {
        assert!(ensure_shell_safe(Path::new("/srv/bot data/postgres")).is_ok());
        for path in ["/srv/$HOME", "/srv/a\"b", "/srv/`id`", "/srv/back\\slash"] {
            assert!(ensure_shell_safe(Path::new(path)).is_err(), "{path}");
        }
    }

    fn server_over(data_dir: &str) -> EmbeddedPostgres {
        EmbeddedPostgres {
            data_dir: PathBuf::from(data_dir),
            bin_dir: PathBuf::from("/usr/bin"),
            port: 0,
            account: None,
            running: false,
        }
    }

    #[test]
    fn server_options_listen_on_loopback_with_a_quoted_socket_directory() {
        let options = server_over("/srv/bot data/postgres").server_options(54321);
        assert_eq!(
            options,
            "-p 54321 -h 127.0.0.1 -k \"/srv/bot data/postgres/sockets\""
        );
    }

    #[test]
    fn a_data_directory_too_deep_for_a_socket_listens_on_tcp_only() {
        let deep = format!("/{}", "d".repeat(120));
        assert_eq!(
            server_over(&deep).server_options(5432),
            "-p 5432 -h 127.0.0.1 -k \"\""
        );
    }

    #[test]
    fn database_names_must_be_plain_identifiers() {
        assert!(is_plain_identifier("admin_panel"));
        assert!(is_plain_identifier("adminpanel_test_0123abcd"));
        assert!(!is_plain_identifier(""));
        assert!(!is_plain_identifier("drop\"; --"));
        assert!(!is_plain_identifier(&"x".repeat(64)));
    }

    #[test]
    fn a_port_taken_by_someone_else_is_recognised_in_the_log() {
        let log = "LOG:  could not bind IPv4 address \"127.0.0.1\": Address already in use\n\
                   HINT:  Is another postmaster already running on port 41234?\n\
                   WARNING:  could not create listen socket for \"127.0.0.1\"\n\
                   FATAL:  could not create any TCP/IP sockets\n";
        assert!(port_was_taken(log));
        assert!(!port_was_taken(
            "FATAL:  data directory \"/x\" has wrong ownership\n"
        ));
    }

    #[test]
    fn only_the_last_log_lines_are_quoted() {
        assert_eq!(last_lines("a\nb\nc\n", 2), "b\nc");
        assert_eq!(last_lines("a", 5), "a");
    }
}
