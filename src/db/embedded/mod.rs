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
mod cluster;
mod constants;
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
use std::time::Instant;

use sqlx::{AssertSqlSafe, Connection};

use account::{
    ensure_reachable, ensure_shell_safe, existing_cluster_version, prepare_data_dir, server_account,
};
use cluster::Cluster;
use constants::{
    DUPLICATE_DATABASE, LISTEN_ADDRESS, LOCK_FILE_NAME, MAINTENANCE_DATABASE, PG_CTL_TIMEOUT_SECS,
    SUPERUSER,
};
use discovery::{choose_bin_dir, discover_bin_dirs, explicit_bin_dir};
use error::{Result, database_error, io_error};
use password::{Password, password_file};
use process::{is_plain_identifier, run, run_blocking, sqlstate};

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
    cluster: Cluster,
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

        let mut cluster = Cluster {
            data_dir,
            bin_dir,
            port: 0,
            account,
            // Used by initdb, or when an existing cluster has none stored.
            password: Password::generate(),
        };

        if cluster_version.is_none() {
            server::initdb(&cluster).await?;
        }
        let trusting = auth::settle_password(&mut cluster).await?;

        if let Some(port) = server::adopt_running_server(&cluster).await? {
            cluster.port = port;
            let server = EmbeddedPostgres {
                cluster,
                running: true,
            };
            auth::shut_out_strangers(&server.cluster, trusting).await?;
            tracing::info!(
                data_dir = %server.cluster.data_dir.display(),
                port,
                "adopted the embedded PostgreSQL server left running by an earlier run"
            );
            return Ok(server);
        }

        server::prepare_runtime_files(&cluster)?;
        cluster.port = server::start_server(&cluster).await?;
        let server = EmbeddedPostgres {
            cluster,
            running: true,
        };
        if trusting {
            auth::shut_out_strangers(&server.cluster, true).await?;
        } else {
            // It read a pg_hba.conf without `trust` as it started; proving
            // that with a refused login would only put a FATAL in its log.
            server.cluster.connect().await?.close().await.ok();
        }
        tracing::info!(
            data_dir = %server.cluster.data_dir.display(),
            port = server.cluster.port,
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
            self.cluster.password.url_encoded(),
            self.cluster.port
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
        let mut connection = self.cluster.connect().await?;
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
        self.cluster.port
    }

    /// Absolute path of the cluster's data directory.
    pub fn data_dir(&self) -> &Path {
        &self.cluster.data_dir
    }

    /// File in the data directory that holds the superuser's password
    /// (mode 0600): what another client or tool needs to log in.
    pub fn password_file(&self) -> PathBuf {
        password_file(&self.cluster.data_dir)
    }

    /// Directory of the PostgreSQL programs in use.
    pub fn bin_dir(&self) -> &Path {
        &self.cluster.bin_dir
    }

    /// Stops the server with `pg_ctl stop -m fast` (open sessions are
    /// disconnected and their transactions rolled back; everything committed
    /// is kept) and waits until it has exited.
    pub async fn stop(mut self) -> Result<()> {
        // Whatever happens now, dropping `self` must not try a second time.
        self.running = false;
        if !self.cluster.data_dir.join(LOCK_FILE_NAME).exists() {
            return Ok(()); // already stopped by someone else
        }
        run(self.stop_command()).await?;
        tracing::info!(data_dir = %self.cluster.data_dir.display(), "embedded PostgreSQL stopped");
        Ok(())
    }

    /// Stops the server without an async runtime, for `Drop`.
    fn stop_blocking(&mut self) -> Result<()> {
        self.running = false;
        if !self.cluster.data_dir.join(LOCK_FILE_NAME).exists() {
            return Ok(());
        }
        run_blocking(self.stop_command())
    }

    fn stop_command(&self) -> Command {
        let mut command = self.cluster.pg_command("pg_ctl");
        command
            .args(["stop", "--mode=fast", "--wait", "--silent"])
            .arg(format!("--timeout={PG_CTL_TIMEOUT_SECS}"))
            .arg("--pgdata")
            .arg(&self.cluster.data_dir);
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
                tracing::info!(data_dir = %self.cluster.data_dir.display(), "embedded PostgreSQL stopped on drop");
            }
            Err(error) => tracing::warn!(%error, "could not stop embedded PostgreSQL on drop"),
        }
    }
}
