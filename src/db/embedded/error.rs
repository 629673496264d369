//! Why the self-managed cluster could not be started, used or stopped.

use std::io;
use std::path::{Path, PathBuf};

use super::constants::{INSTALL_HINT, LISTEN_ADDRESS};

/// What went wrong, with what the user can do about it.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedPostgresError {
    /// No directory holds all of `initdb`, `pg_ctl` and `postgres`.
    #[error(
        "PostgreSQL server programs (initdb, pg_ctl, postgres) were not found (searched {searched}); {hint}",
        hint = INSTALL_HINT
    )]
    BinariesNotFound {
        /// Where the programs were looked for.
        searched: String,
    },

    /// The cluster was created by a PostgreSQL major version that is not
    /// installed; its files cannot be read by another major version.
    #[error(
        "the cluster in {data_dir} was created by PostgreSQL {cluster_version}, but no installed PostgreSQL has that major version (found {installed} in {bin_dir}); install PostgreSQL {cluster_version}, upgrade the cluster with pg_upgrade, or move the directory away to start afresh"
    )]
    VersionMismatch {
        /// The cluster's data directory.
        data_dir: PathBuf,
        /// The major version that created the cluster.
        cluster_version: String,
        /// The version of the programs found.
        installed: String,
        /// Where the programs found are.
        bin_dir: PathBuf,
    },

    /// The data directory holds something other than a cluster; `initdb` only
    /// fills empty directories and the bot must not delete anyone's files.
    #[error(
        "{data_dir} is not empty and holds no PostgreSQL cluster; point the bot at an empty or missing directory"
    )]
    NotACluster {
        /// The cluster's data directory.
        data_dir: PathBuf,
    },

    /// The path would break `pg_ctl`, which passes it through `/bin/sh`
    /// inside double quotes.
    #[error(
        "the data directory path {data_dir} is not usable with pg_ctl: it must be UTF-8 and free of the characters \" \\ $ `"
    )]
    UnsupportedPath {
        /// The cluster's data directory.
        data_dir: PathBuf,
    },

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
        /// The account that runs the server.
        account: String,
        /// The cluster's data directory.
        data_dir: PathBuf,
        /// The directory it cannot pass, and why.
        obstacle: String,
    },

    /// A file-system operation failed.
    #[error("could not {action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// A PostgreSQL program could not be run or reported failure.
    #[error("`{command}` failed: {details}")]
    CommandFailed {
        /// The command line.
        command: String,
        /// What it reported.
        details: String,
    },

    /// `pg_ctl start` failed for a reason other than a port taken by someone else.
    #[error("PostgreSQL did not start in {data_dir}: {details}\nlast lines of {}:\n{log_tail}", log_file.display())]
    StartFailed {
        /// The cluster's data directory.
        data_dir: PathBuf,
        /// What it reported.
        details: String,
        /// The server log.
        log_file: PathBuf,
        /// The last lines of the server log.
        log_tail: String,
    },

    /// A server from an earlier run holds the data directory but does not answer.
    #[error(
        "a PostgreSQL server (pid {pid}) already runs on {data_dir} but does not answer on {LISTEN_ADDRESS}:{port}; stop it with `pg_ctl stop -D {data_dir}` and retry"
    )]
    ExistingServerNotAnswering {
        /// The server's process id.
        pid: i32,
        /// The port it was expected on.
        port: String,
        /// The cluster's data directory.
        data_dir: PathBuf,
    },

    /// The server started but a connection to it failed.
    #[error(
        "PostgreSQL started in {data_dir} but does not accept connections on port {port}: {source}"
    )]
    NotAcceptingConnections {
        /// The cluster's data directory.
        data_dir: PathBuf,
        /// The port it was expected on.
        port: u16,
        /// The underlying error.
        #[source]
        source: sqlx::Error,
    },

    /// The password file holds something the bot cannot use as a password.
    #[error(
        "the password file {path} must hold one line of printable ASCII without spaces; delete it while the server is stopped and the bot sets a new password"
    )]
    UnusablePasswordFile {
        /// The file or directory concerned.
        path: PathBuf,
    },

    /// The password file is gone while a server that needs it runs.
    #[error(
        "the password file {path} is missing while PostgreSQL (pid {pid}) runs on {data_dir}; stop it with `pg_ctl stop -D {data_dir}` and start the bot again to set a new password"
    )]
    PasswordFileMissing {
        /// The file or directory concerned.
        path: PathBuf,
        /// The server's process id.
        pid: i32,
        /// The cluster's data directory.
        data_dir: PathBuf,
    },

    /// After closing the cluster, a login without the password still works.
    #[error(
        "PostgreSQL in {data_dir} still lets the superuser in without a password after its pg_hba.conf was closed and reloaded; check {hba_file} (the server log says why it was not applied)"
    )]
    StillOpen {
        /// The cluster's data directory.
        data_dir: PathBuf,
        /// Its `pg_hba.conf`.
        hba_file: PathBuf,
    },

    /// Only plain identifiers are accepted, so names need no quoting in SQL or URLs.
    #[error("invalid database name {name:?}: use 1 to 63 ASCII letters, digits or underscores")]
    InvalidDatabaseName {
        /// The name given.
        name: String,
    },

    /// A query on the running server failed.
    #[error("could not {action}: {source}")]
    Database {
        /// What was being done.
        action: String,
        /// The underlying error.
        #[source]
        source: sqlx::Error,
    },
}

pub(super) type Result<T, E = EmbeddedPostgresError> = std::result::Result<T, E>;

pub(super) fn database_error(action: String) -> impl FnOnce(sqlx::Error) -> EmbeddedPostgresError {
    move |source| EmbeddedPostgresError::Database { action, source }
}

pub(super) fn io_error(
    action: &'static str,
    path: &Path,
) -> impl FnOnce(io::Error) -> EmbeddedPostgresError {
    let path = path.to_path_buf();
    move |source| EmbeddedPostgresError::Io {
        action,
        path,
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
