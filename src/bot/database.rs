//! The bot's database: `DATABASE_URL` when given, else a PostgreSQL cluster the
//! bot runs itself in `./data/postgres`.

use std::path::Path;

use anyhow::Context as _;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::db::embedded::EmbeddedPostgres;

/// Where the self-managed cluster lives, relative to the working directory.
pub const EMBEDDED_DATA_DIR: &str = "data/postgres";
/// The database the bot uses inside the self-managed cluster.
pub const EMBEDDED_DATABASE: &str = "admin_panel";
const MAX_CONNECTIONS: u32 = 10;

pub struct Database {
    pub pool: PgPool,
    embedded: Option<EmbeddedPostgres>,
}

pub async fn connect(database_url: Option<&str>) -> anyhow::Result<Database> {
    let (url, embedded) = match database_url {
        Some(url) => (url.to_owned(), None),
        None => {
            let cluster = EmbeddedPostgres::start(Path::new(EMBEDDED_DATA_DIR)).await?;
            let url = cluster.ensure_database(EMBEDDED_DATABASE).await?;
            (url, Some(cluster))
        }
    };
    let pool = PgPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .connect(&url)
        .await
        .context("Failed to connect to PostgreSQL (check DATABASE_URL)")?;
    Ok(Database { pool, embedded })
}

impl Database {
    pub async fn close(self) {
        self.pool.close().await;
        if let Some(cluster) = self.embedded
            && let Err(error) = cluster.stop().await
        {
            tracing::warn!(%error, "could not stop the self-managed PostgreSQL cleanly");
        }
    }
}
