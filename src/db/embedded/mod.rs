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
//! Nobody logs in without a secret. `initdb` gives the superuser a random
//! password (SCRAM-SHA-256), which the bot keeps in the data directory with
//! mode 0600 and puts into every URL it hands out; `pg_hba.conf` asks for it
//! on TCP (127.0.0.1 only) and on the Unix socket alike, and has no `trust`
//! line. A password was chosen over a socket-only server because TCP keeps
//! every client and tool working the same way; against root or processes of
//! the server's own user, neither a private socket directory nor a 0600 file
//! helps. Clusters created by earlier versions, which trusted every local
//! user, are closed on their next start (see `auth.rs`).

mod account;
mod auth;
mod discovery;
mod error;
mod hba;
mod lock_file;
mod password;
mod process;
mod scram;
mod server;

pub use error::EmbeddedPostgresError;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use sqlx::{AssertSqlSafe, Connection};

use account::{
    ServerAccount, ensure_reachable, ensure_shell_safe, existing_cluster_version, prepare_data_dir,
    server_account,
};
use discovery::{choose_bin_dir, discover_bin_dirs, explicit_bin_dir};
use error::{Result, database_error, io_error};
use password::{Password, password_file};
use process::{is_plain_identifier, run, run_blocking, sqlstate};

/// The programs a cluster needs. They are always taken from one directory so
/// their versions agree.
const SERVER_PROGRAMS: [&str; 3] = ["initdb", "pg_ctl", "postgres"];

/// Superuser created by `initdb`; also the role the bot connects as.
const SUPERUSER: &str = "postgres";

/// The server never listens on anything but loopback: the password keeps
/// other local users out, and nothing from outside gets to try it.
const LISTEN_ADDRESS: &str = "127.0.0.1";

/// How every login proves itself, in `pg_hba.conf` and for stored passwords.
const AUTH_METHOD: &str = "scram-sha-256";

/// PBKDF2 rounds in the superuser's SCRAM verifier (PostgreSQL's default).
const SCRAM_ITERATIONS: u32 = 4096;

/// The superuser's password in the data directory (mode 0600).
const PASSWORD_FILE_NAME: &str = "admin-panel.password";

/// Characters in a generated password (letters and digits).
const PASSWORD_LENGTH: usize = 40;

/// Client authentication rules in the data directory.
const HBA_FILE_NAME: &str = "pg_hba.conf";

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

/// A running PostgreSQL server over a data directory that the bot manages.
///
/// Call [`stop`](Self::stop) on shutdown. If the handle is dropped instead
/// (early return, panic), the server is stopped synchronously, blocking the
/// current thread briefly. If the process dies without either, the server
/// keeps running and the next [`start`](Self::start) on the same directory
/// adopts it.
///
/// `Debug` shows the password as `<redacted>`; the URLs this hands out
/// contain it, so do not log them.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    data_dir: PathBuf,
    bin_dir: PathBuf,
    port: u16,
    account: Option<ServerAccount>,
    /// The superuser's password, as stored in the data directory.
    password: Password,
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
            // Used by initdb, or when an existing cluster has none stored.
            password: Password::generate(),
            running: false,
        };

        if cluster_version.is_none() {
            server.initdb().await?;
        }
        let trusting = server.settle_password().await?;

        if let Some(port) = server.adopt_running_server().await? {
            server.port = port;
            server.running = true;
            server.shut_out_strangers(trusting).await?;
            tracing::info!(
                data_dir = %server.data_dir.display(),
                port,
                "adopted the embedded PostgreSQL server left running by an earlier run"
            );
            return Ok(server);
        }

        server.prepare_runtime_files()?;
        server.port = server.start_server().await?;
        server.running = true;
        if trusting {
            server.shut_out_strangers(true).await?;
        } else {
            // It read a pg_hba.conf without `trust` as it started; proving
            // that with a refused login would only put a FATAL in its log.
            server.connect().await?.close().await.ok();
        }
        tracing::info!(
            data_dir = %server.data_dir.display(),
            port = server.port,
            elapsed_ms = started_at.elapsed().as_millis() as u64,
            "embedded PostgreSQL is ready"
        );
        Ok(server)
    }

    /// URL of the cluster's `postgres` database, e.g.
    /// `postgres://postgres:PASSWORD@127.0.0.1:PORT/postgres?sslmode=disable`.
    /// It holds the superuser's password: do not log it.
    pub fn database_url(&self) -> String {
        self.database_url_for(MAINTENANCE_DATABASE)
    }

    /// URL of `database` on this cluster (which need not exist yet), with the
    /// password. TLS is disabled explicitly so a `PGSSLMODE=require` in the
    /// environment cannot break connections to a server that has no
    /// certificate (the connection never leaves the machine).
    pub fn database_url_for(&self, database: &str) -> String {
        format!(
            "postgres://{SUPERUSER}:{}@{LISTEN_ADDRESS}:{}/{database}?sslmode=disable",
            self.password.url_encoded(),
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

    /// File in the data directory that holds the superuser's password
    /// (mode 0600): what another client or tool needs to log in.
    pub fn password_file(&self) -> PathBuf {
        password_file(&self.data_dir)
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
