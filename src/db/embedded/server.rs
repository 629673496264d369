//! Starting the server: adopting one an earlier run left running, `initdb`,
//! runtime files, `pg_ctl start` on a free port, and the options it gets.

use std::fs;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;
use std::time::{Duration, Instant};

use sqlx::Connection;

use super::cluster::Cluster;
use super::constants::{
    AUTH_METHOD, LISTEN_ADDRESS, LOCK_FILE_NAME, LOG_FILE_NAME, LOG_ROTATE_BYTES, LOG_TAIL_LINES,
    MAX_SOCKET_PATH_BYTES, PG_CTL_TIMEOUT_SECS, PORT_ATTEMPTS, RUNNING_SERVER_GRACE,
    SOCKET_DIR_NAME, SUPERUSER,
};
use super::error::{EmbeddedPostgresError, Result, io_error};
use super::lock_file::PostmasterPid;
use super::password::{InitdbPasswordFile, store_password};
use super::process::{
    connect_to, free_loopback_port, last_lines, port_was_taken, read_log_from, run,
};
use crate::db::process_is_alive;

/// Returns the port of a server that an earlier run left running on this
/// data directory, once it answers; `None` if there is none. A stale
/// `postmaster.pid` of a dead server is left to `pg_ctl start`, which
/// removes it.
pub(super) async fn adopt_running_server(cluster: &Cluster) -> Result<Option<u16>> {
    let lock_file = cluster.data_dir.join(LOCK_FILE_NAME);
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
            && serves_our_data_dir(cluster, port).await
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
                data_dir: cluster.data_dir.clone(),
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Whether the server on `port` is really ours: after a crash, the port in
/// `postmaster.pid` may belong to some other server by now.
async fn serves_our_data_dir(cluster: &Cluster, port: u16) -> bool {
    let Ok(mut connection) = connect_to(port, Some(&cluster.password)).await else {
        return false;
    };
    let shown: Result<String, _> = sqlx::query_scalar("SHOW data_directory")
        .fetch_one(&mut connection)
        .await;
    connection.close().await.ok();
    shown.is_ok_and(|shown| fs::canonicalize(shown).is_ok_and(|dir| dir == cluster.data_dir))
}

/// Creates the cluster with the superuser's password from
/// `cluster.password`, then stores that password in the data directory.
/// Every login needs it (`scram-sha-256` for TCP and the Unix socket
/// alike). The locale is `C` so the cluster behaves the same on every
/// host and needs no locale installed.
pub(super) async fn initdb(cluster: &Cluster) -> Result<()> {
    let started_at = Instant::now();
    let password_file = InitdbPasswordFile::create(&cluster.password, cluster.account.as_ref())?;
    let mut command = cluster.pg_command("initdb");
    command
        .arg("--pgdata")
        .arg(&cluster.data_dir)
        .arg(format!("--username={SUPERUSER}"))
        .arg(format!("--auth={AUTH_METHOD}"))
        .arg("--pwfile")
        .arg(password_file.path())
        .args(["--encoding=UTF8", "--locale=C"]);
    run(command).await?;
    drop(password_file);
    store_password(
        &cluster.data_dir,
        &cluster.password,
        cluster.account.as_ref(),
    )?;
    tracing::info!(
        data_dir = %cluster.data_dir.display(),
        elapsed_ms = started_at.elapsed().as_millis() as u64,
        "created a new PostgreSQL cluster"
    );
    Ok(())
}

/// Creates the socket directory (after initdb, which insists on an empty
/// data directory) and moves an oversized log aside.
pub(super) fn prepare_runtime_files(cluster: &Cluster) -> Result<()> {
    let socket_dir = cluster.data_dir.join(SOCKET_DIR_NAME);
    if !socket_dir.is_dir() {
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&socket_dir)
            .map_err(io_error("create", &socket_dir))?;
        if let Some(account) = &cluster.account {
            account.chown(&socket_dir)?;
        }
    }
    let log_file = cluster.log_file();
    if fs::metadata(&log_file).is_ok_and(|meta| meta.len() > LOG_ROTATE_BYTES) {
        let old_log = cluster.data_dir.join(format!("{LOG_FILE_NAME}.old"));
        fs::rename(&log_file, &old_log).map_err(io_error("rotate", &log_file))?;
    }
    Ok(())
}

/// Starts the server on a free port and returns that port, trying other
/// ports while the chosen one turns out to be taken.
pub(super) async fn start_server(cluster: &Cluster) -> Result<u16> {
    let log_file = cluster.log_file();
    let mut last_failure = String::new();
    for attempt in 1..=PORT_ATTEMPTS {
        let port = free_loopback_port()
            .map_err(io_error("find a free port on", Path::new(LISTEN_ADDRESS)))?;
        let log_start = fs::metadata(&log_file).map_or(0, |meta| meta.len());
        let mut command = cluster.pg_command("pg_ctl");
        command
            .args(["start", "--wait", "--silent"])
            .arg(format!("--timeout={PG_CTL_TIMEOUT_SECS}"))
            .arg("--pgdata")
            .arg(&cluster.data_dir)
            .arg("--log")
            .arg(&log_file)
            .arg("-o")
            .arg(server_options(cluster, port));
        let details = match run(command).await {
            Ok(()) => return Ok(port),
            Err(EmbeddedPostgresError::CommandFailed { details, .. }) => details,
            Err(other) => return Err(other),
        };
        let new_log = read_log_from(&log_file, log_start);
        if !port_was_taken(&new_log) {
            return Err(start_failed(cluster, details, &new_log));
        }
        tracing::debug!(
            port,
            attempt,
            "port taken before PostgreSQL could bind it; retrying"
        );
        last_failure = details;
    }
    Err(start_failed(
        cluster,
        format!(
            "{PORT_ATTEMPTS} free ports were taken before the server could bind them ({last_failure})"
        ),
        &read_log_from(&log_file, 0),
    ))
}

/// The `-o` options for `pg_ctl start`. pg_ctl passes them through
/// `/bin/sh`, so the socket path is double-quoted exactly as pg_ctl quotes
/// the data directory, which [`ensure_shell_safe`] has vetted.
fn server_options(cluster: &Cluster, port: u16) -> String {
    let socket_dir = cluster.data_dir.join(SOCKET_DIR_NAME);
    let socket_path_len = socket_dir.as_os_str().len() + format!("/.s.PGSQL.{port}").len();
    // A socket path that is too long would keep the server from starting.
    // Every client of this cluster uses TCP, so go without the socket then.
    let socket_dir = if socket_path_len > MAX_SOCKET_PATH_BYTES {
        tracing::debug!("data directory path too long for a Unix socket; listening on TCP only");
        String::new()
    } else {
        socket_dir.to_string_lossy().into_owned()
    };
    // Explicit, though the default since PostgreSQL 14: a password set
    // later (by hand, say) is stored as a SCRAM verifier too.
    format!(
        "-p {port} -h {LISTEN_ADDRESS} -k \"{socket_dir}\" -c password_encryption={AUTH_METHOD}"
    )
}

fn start_failed(cluster: &Cluster, details: String, new_log: &str) -> EmbeddedPostgresError {
    EmbeddedPostgresError::StartFailed {
        data_dir: cluster.data_dir.clone(),
        details,
        log_file: cluster.log_file(),
        log_tail: last_lines(new_log, LOG_TAIL_LINES),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::super::password::Password;
    use super::*;

    fn cluster_over(data_dir: &str) -> Cluster {
        Cluster {
            data_dir: PathBuf::from(data_dir),
            bin_dir: PathBuf::from("/usr/bin"),
            port: 0,
            account: None,
            password: Password::generate(),
        }
    }

    #[test]
    fn server_options_listen_on_loopback_with_a_quoted_socket_directory() {
        let options = server_options(&cluster_over("/srv/bot data/postgres"), 54321);
        assert_eq!(
            options,
            "-p 54321 -h 127.0.0.1 -k \"/srv/bot data/postgres/sockets\" -c password_encryption=scram-sha-256"
        );
    }

    #[test]
    fn a_data_directory_too_deep_for_a_socket_listens_on_tcp_only() {
        let deep = format!("/{}", "d".repeat(120));
        assert_eq!(
            server_options(&cluster_over(&deep), 5432),
            "-p 5432 -h 127.0.0.1 -k \"\" -c password_encryption=scram-sha-256"
        );
    }
}
