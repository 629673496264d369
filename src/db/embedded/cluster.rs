//! The cluster a start works on: where its data and programs are, the port
//! it listens on, the account that runs it and the superuser's password.
//! Starting (`server.rs`) and closing it to strangers (`auth.rs`) both work
//! on it; `mod.rs` owns it inside the handle it returns.

use std::path::PathBuf;
use std::process::Command;

use sqlx::postgres::PgConnection;

use super::account::ServerAccount;
use super::constants::LOG_FILE_NAME;
use super::error::{EmbeddedPostgresError, Result};
use super::password::Password;
use super::process::{connect_to, pg_command};

/// `Debug` shows the password as `<redacted>`.
#[derive(Debug)]
pub(super) struct Cluster {
    pub(super) data_dir: PathBuf,
    pub(super) bin_dir: PathBuf,
    pub(super) port: u16,
    pub(super) account: Option<ServerAccount>,
    /// The superuser's password, as stored in the data directory.
    pub(super) password: Password,
}

impl Cluster {
    /// A connection as the superuser to the running server.
    pub(super) async fn connect(&self) -> Result<PgConnection> {
        connect_to(self.port, Some(&self.password))
            .await
            .map_err(|source| EmbeddedPostgresError::NotAcceptingConnections {
                data_dir: self.data_dir.clone(),
                port: self.port,
                source,
            })
    }

    /// The server log in the data directory.
    pub(super) fn log_file(&self) -> PathBuf {
        self.data_dir.join(LOG_FILE_NAME)
    }

    /// `program` of this cluster's installation, run as its account.
    pub(super) fn pg_command(&self, program: &str) -> Command {
        pg_command(&self.bin_dir, program, self.account.as_ref())
    }
}
