//! Maintenance mode, held in memory by every process: every command of the
//! bot but `/admin` (or one named command) answers a message instead of
//! running. The check runs on every command ([`crate::hooks::command_check`]),
//! so it is a map lookup, never a database round trip. A trigger on
//! `maintenance` NOTIFYs every process of each change (migration 0028), a
//! re-read every few seconds catches a lost notification, and the
//! table keeps the mode across restarts.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use sqlx::PgPool;

use crate::store::maintenance::{self, EVERY_COMMAND, MaintenanceRow};
use crate::store::notified::Followed;

/// The channel the `maintenance` trigger notifies.
pub const CHANNEL: &str = "admin_panel_maintenance";

/// The command never under maintenance: it is how the mode is ended.
pub const EXEMPT: &str = "admin";

/// Cheap to clone; every clone is the same state.
#[derive(Debug, Clone, Default)]
pub struct Maintenance {
    scopes: Arc<RwLock<HashMap<String, MaintenanceRow>>>,
}

impl Maintenance {
    /// What a command answers instead of running, if it is under
    /// maintenance: `root` is its top-level name (`settings`), `qualified`
    /// its full name (`settings color`). The bot-wide mode wins; `/admin`
    /// never is.
    pub fn message_for(&self, root: &str, qualified: &str) -> Option<String> {
        if root == EXEMPT {
            return None;
        }
        let scopes = self.scopes.read().ok()?;
        [EVERY_COMMAND, root, qualified]
            .iter()
            .find_map(|scope| scopes.get(*scope))
            .map(|row| row.message.clone())
    }

    /// Every scope under maintenance, the bot-wide one first.
    pub fn scopes(&self) -> Vec<MaintenanceRow> {
        let Ok(scopes) = self.scopes.read() else {
            return Vec::new();
        };
        let mut rows: Vec<MaintenanceRow> = scopes.values().cloned().collect();
        rows.sort_by(|a, b| {
            (a.command != EVERY_COMMAND, &a.command).cmp(&(b.command != EVERY_COMMAND, &b.command))
        });
        rows
    }

    /// Re-reads the table. On failure the state stays as it was.
    pub async fn reload(&self, pool: &PgPool) -> Result<(), sqlx::Error> {
        let fresh: HashMap<String, MaintenanceRow> = maintenance::all(pool)
            .await?
            .into_iter()
            .map(|row| (row.command.clone(), row))
            .collect();
        if let Ok(mut scopes) = self.scopes.write() {
            *scopes = fresh;
        }
        Ok(())
    }

    /// How [`crate::store::notified::keep_current`] keeps it current: a
    /// reload on every NOTIFY and every few seconds; a failure is logged and
    /// never empties it.
    pub fn followed(&self) -> Followed {
        Followed::new(
            CHANNEL,
            "maintenance mode",
            self.clone(),
            |state: Self, pool| async move { state.reload(&pool).await },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn state(scopes: &[(&str, &str)]) -> Maintenance {
        let state = Maintenance::default();
        *state.scopes.write().unwrap() = scopes
            .iter()
            .map(|(command, message)| {
                let row = MaintenanceRow {
                    command: (*command).to_owned(),
                    message: (*message).to_owned(),
                    since: Utc::now(),
                    set_by: 1,
                };
                ((*command).to_owned(), row)
            })
            .collect();
        state
    }

    #[test]
    fn the_bot_wide_mode_covers_every_command_but_admin() {
        let state = state(&[("*", "Back soon"), ("ping", "Ping is off")]);
        assert_eq!(
            state.message_for("ping", "ping").as_deref(),
            Some("Back soon")
        );
        assert_eq!(
            state.message_for("settings", "settings color").as_deref(),
            Some("Back soon")
        );
        assert_eq!(state.message_for("admin", "admin stats"), None);
        assert_eq!(state.scopes()[0].command, "*");
    }

    #[test]
    fn a_named_command_covers_itself_and_its_subcommands_only() {
        let state = state(&[("settings", "Settings are off"), ("welcome-preview", "Off")]);
        assert_eq!(
            state.message_for("settings", "settings color").as_deref(),
            Some("Settings are off")
        );
        assert_eq!(state.message_for("ping", "ping"), None);
        let one = state_one("settings color");
        assert_eq!(
            one.message_for("settings", "settings color").as_deref(),
            Some("x")
        );
        assert_eq!(one.message_for("settings", "settings language"), None);
    }

    fn state_one(command: &str) -> Maintenance {
        state(&[(command, "x")])
    }
}
