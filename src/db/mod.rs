//! Database access: connecting, migrating, and the self-managed PostgreSQL used
//! when no `DATABASE_URL` is given.

pub mod embedded;

use sqlx::migrate::Migrator;

/// Every migration in `migrations/`, embedded at compile time so a host bot
/// does not need the SQL files at run time.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");
