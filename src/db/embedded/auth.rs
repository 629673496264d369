//! Who may log in: the password a start settles on, and closing a cluster
//! that an earlier version of the bot left open to every local user.
//!
//! Earlier versions ran `initdb --auth=trust`, so anyone on the machine could
//! log in as superuser, run `COPY ... TO PROGRAM` as the server account and
//! read the bot's data. Such a cluster is closed on its next start, without
//! touching its data, in an order that a crash at any point can resume:
//! 1. the password is stored first (a stored one is reused), so every later
//!    step knows the secret;
//! 2. with the server running (and still trusting), the superuser gets that
//!    password as a SCRAM verifier;
//! 3. `trust` in `pg_hba.conf` becomes `scram-sha-256` (renamed into place);
//! 4. the server reloads its configuration (an adopted server always does, so
//!    a rewrite that a crash kept from being loaded is loaded by the next run);
//! 5. a login without the password is tried until the server refuses it.

use std::time::{Duration, Instant};

use sqlx::{AssertSqlSafe, Connection};

use super::cluster::Cluster;
use super::constants::{LOCK_FILE_NAME, MAINTENANCE_DATABASE, SUPERUSER};
use super::error::{EmbeddedPostgresError, Result, database_error};
use super::hba::{hba_file, replace_trust, trusts_anyone};
use super::lock_file::PostmasterPid;
use super::password::{password_file, read_password, store_password};
use super::process::{connect_to, login_refused, run_with_input};
use super::scram::scram_verifier;
use crate::db::process_is_alive;

/// How long a reloaded server may take to apply its new `pg_hba.conf`
/// (the postmaster re-reads it when it handles the reload signal).
const RELOAD_TIMEOUT: Duration = Duration::from_secs(10);

/// Sets `cluster.password` for the cluster in the data directory and tells
/// whether its `pg_hba.conf` still trusts anyone, which
/// [`shut_out_strangers`](Self::shut_out_strangers) then fixes. Without
/// a stored password, the fresh one in `cluster.password` is stored (trust
/// lets the bot in to set it) or, for a closed cluster, set while the
/// server is down.
pub(super) async fn settle_password(cluster: &mut Cluster) -> Result<bool> {
    let trusting = trusts_anyone(&cluster.data_dir)?;
    match read_password(&cluster.data_dir)? {
        Some(stored) => cluster.password = stored,
        None if trusting => store_password(
            &cluster.data_dir,
            &cluster.password,
            cluster.account.as_ref(),
        )?,
        None => reset_lost_password(cluster).await?,
    }
    Ok(trusting)
}

/// Makes sure the running server lets nobody in without the password:
/// steps 2 to 5 of the module documentation. Needed when `pg_hba.conf`
/// trusts anyone, and for a server adopted from an earlier run, which
/// may still run with rules it loaded before they were rewritten.
pub(super) async fn shut_out_strangers(cluster: &Cluster, trusting: bool) -> Result<()> {
    let mut connection = cluster.connect().await?;
    if trusting {
        // A verifier, not the password, goes into the SQL; it is plain
        // base64 with `$` and `:`, so it needs no escaping.
        let verifier = scram_verifier(&cluster.password);
        sqlx::query(AssertSqlSafe(format!(
            "ALTER ROLE {SUPERUSER} PASSWORD '{verifier}'"
        )))
        .execute(&mut connection)
        .await
        .map_err(database_error(format!("set the password of {SUPERUSER}")))?;
    }
    let closed_rules = replace_trust(&cluster.data_dir, cluster.account.as_ref())?;
    sqlx::query("SELECT pg_reload_conf()")
        .execute(&mut connection)
        .await
        .map_err(database_error("reload the server configuration".to_owned()))?;
    connection.close().await.ok();
    wait_until_a_password_is_required(cluster).await?;
    if closed_rules > 0 {
        tracing::info!(
            data_dir = %cluster.data_dir.display(),
            rules = closed_rules,
            "closed embedded PostgreSQL to logins without its password (a cluster from an earlier version trusted every local user)"
        );
    }
    Ok(())
}

async fn wait_until_a_password_is_required(cluster: &Cluster) -> Result<()> {
    let deadline = Instant::now() + RELOAD_TIMEOUT;
    loop {
        match connect_to(cluster.port, None).await {
            Err(error) if login_refused(&error) => return Ok(()),
            Err(source) => {
                return Err(EmbeddedPostgresError::NotAcceptingConnections {
                    data_dir: cluster.data_dir.clone(),
                    port: cluster.port,
                    source,
                });
            }
            Ok(connection) => connection.close().await.ok(),
        };
        if Instant::now() > deadline {
            return Err(EmbeddedPostgresError::StillOpen {
                data_dir: cluster.data_dir.clone(),
                hba_file: hba_file(&cluster.data_dir),
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Gives the superuser of a closed cluster whose password file is gone
/// (deleted, or a crash right after `initdb`) the fresh password in
/// `cluster.password`, through a single-user backend: the server must be
/// down, and no login is needed. The file is written afterwards, so a
/// crash in between only repeats this on the next start.
async fn reset_lost_password(cluster: &Cluster) -> Result<()> {
    let path = password_file(&cluster.data_dir);
    if let Some(pid) = live_postmaster(cluster) {
        return Err(EmbeddedPostgresError::PasswordFileMissing {
            path,
            pid,
            data_dir: cluster.data_dir.clone(),
        });
    }
    let mut command = cluster.pg_command("postgres");
    command
        .arg("--single")
        .arg("-D")
        .arg(&cluster.data_dir)
        .arg(MAINTENANCE_DATABASE);
    let statement = format!(
        "ALTER ROLE {SUPERUSER} PASSWORD '{}';\n",
        scram_verifier(&cluster.password)
    );
    let errors = run_with_input(command, &statement).await?;
    if !errors.is_empty() {
        return Err(EmbeddedPostgresError::CommandFailed {
            command: format!("postgres --single (setting the password of {SUPERUSER})"),
            details: errors.join("; "),
        });
    }
    store_password(
        &cluster.data_dir,
        &cluster.password,
        cluster.account.as_ref(),
    )?;
    tracing::warn!(
        path = %path.display(),
        "the embedded PostgreSQL password file was missing; the superuser got a new password"
    );
    Ok(())
}

/// The pid of a live server on the data directory, from its lock file.
fn live_postmaster(cluster: &Cluster) -> Option<i32> {
    let contents = std::fs::read_to_string(cluster.data_dir.join(LOCK_FILE_NAME)).ok()?;
    PostmasterPid::parse(&contents)
        .pid
        .filter(|pid| process_is_alive(*pid))
}
