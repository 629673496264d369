//! The bot's database: `DATABASE_URL` when given, else a PostgreSQL cluster the
//! bot runs itself in `./data/postgres`.

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions as _, Connection as _, PgPool};

use crate::db::embedded::EmbeddedPostgres;

/// Where the self-managed cluster lives, relative to the working directory.
pub const EMBEDDED_DATA_DIR: &str = "data/postgres";
/// The database the bot uses inside the self-managed cluster.
pub const EMBEDDED_DATABASE: &str = "admin_panel";
/// The host's pool only applies migrations; the panel opens its own pools.
const MAX_CONNECTIONS: u32 = 2;
/// How long the first connection may take before start-up gives up.
pub const FIRST_CONNECTION_TIMEOUT: Duration = Duration::from_secs(8);

/// The reference bot's database: its pool, and the embedded server when it runs one.
pub struct Database {
    /// The pool every part of the bot shares.
    pub pool: PgPool,
    embedded: Option<EmbeddedPostgres>,
}

/// Connects to `database_url`, or starts the embedded PostgreSQL in `./data/postgres` when there is none.
pub async fn connect(database_url: Option<&str>) -> anyhow::Result<Database> {
    let (url, embedded) = match database_url {
        Some(url) => (url.to_owned(), None),
        None => {
            let cluster = EmbeddedPostgres::start(Path::new(EMBEDDED_DATA_DIR)).await?;
            let url = cluster.ensure_database(EMBEDDED_DATABASE).await?;
            (url, Some(cluster))
        }
    };
    let options: PgConnectOptions = url
        .parse()
        .map_err(|_| anyhow::anyhow!("DATABASE_URL: not a valid PostgreSQL URL"))?;
    first_connection(&options).await?;
    let pool = PgPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .acquire_timeout(FIRST_CONNECTION_TIMEOUT)
        .connect_with(options)
        .await
        .context("Failed to connect to PostgreSQL")?;
    Ok(Database { pool, embedded })
}

/// One connection, to tell in one line what is wrong when it fails: which
/// server, and whether it refused, did not answer, refused the credentials or
/// has no such database (a pool would only say that it timed out).
async fn first_connection(options: &PgConnectOptions) -> anyhow::Result<()> {
    let target = format!(
        "PostgreSQL at {}:{} (database {}, user {})",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("(default)"),
        options.get_username()
    );
    match tokio::time::timeout(FIRST_CONNECTION_TIMEOUT, options.connect()).await {
        Ok(Ok(connection)) => {
            connection.close().await.ok();
            Ok(())
        }
        Ok(Err(error)) => Err(anyhow::anyhow!(
            "DATABASE_URL: cannot connect to {target}: {}",
            why(&error)
        )),
        Err(_) => Err(anyhow::anyhow!(
            "DATABASE_URL: cannot connect to {target}: timed out after {} s (is the host reachable, or is a firewall dropping the packets?)",
            FIRST_CONNECTION_TIMEOUT.as_secs()
        )),
    }
}

/// The cause of a failed first connection, in words an operator acts on.
fn why(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused (is PostgreSQL running and listening on that address and port?)"
                .to_owned()
        }
        sqlx::Error::Io(io) => format!("network error: {io}"),
        sqlx::Error::Database(database) => match database.code().as_deref() {
            Some("28P01" | "28000") => format!("authentication failed: {}", database.message()),
            Some("3D000") => format!("the database does not exist: {}", database.message()),
            _ => database.message().to_owned(),
        },
        other => other.to_string(),
    }
}

impl Database {
    /// Closes the pool, then stops the embedded server if the bot started it.
    pub async fn close(self) {
        self.pool.close().await;
        if let Some(cluster) = self.embedded
            && let Err(error) = cluster.stop().await
        {
            tracing::warn!(%error, "could not stop the self-managed PostgreSQL cleanly");
        }
    }
}
