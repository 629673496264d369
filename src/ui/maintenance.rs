//! How `/admin stats` and `/admin health` show maintenance mode: one line a
//! scope, with since when and by whom.

use super::limits::EMBED_FIELD_VALUE_CHARS;
use super::text::{discord_time, fit_lines, truncate};
use crate::store::maintenance::{EVERY_COMMAND, MaintenanceRow};

/// Messages are cut to this here (the commands answer them whole).
const MESSAGE_CHARS: usize = 100;

/// What a scope covers, in words.
pub fn scope_name(command: &str) -> String {
    if command == EVERY_COMMAND {
        "every command but /admin".to_owned()
    } else {
        format!("/{command}")
    }
}

/// One line a scope under maintenance.
pub fn lines(rows: &[MaintenanceRow]) -> Vec<String> {
    rows.iter()
        .map(|row| {
            format!(
                "🛠 maintenance **on** for {} since {} by <@{}>: {}",
                scope_name(&row.command),
                discord_time(row.since, 'R'),
                row.set_by,
                truncate(&row.message, MESSAGE_CHARS).replace('\n', " ")
            )
        })
        .collect()
}

/// The value of a "Maintenance" field: the lines, or that it is off.
pub fn field_value(rows: &[MaintenanceRow]) -> String {
    if rows.is_empty() {
        return "off".to_owned();
    }
    fit_lines(&lines(rows), EMBED_FIELD_VALUE_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    #[test]
    fn every_scope_is_named_with_who_and_since_and_fits_a_field() {
        let rows: Vec<MaintenanceRow> = ["*", "ping", "settings color"]
            .iter()
            .chain(std::iter::repeat_n(&"x", 40))
            .map(|command| MaintenanceRow {
                command: (*command).to_owned(),
                message: "m".repeat(1000),
                since: Utc::now(),
                set_by: 42,
            })
            .collect();
        let value = field_value(&rows);
        assert!(value.chars().count() <= EMBED_FIELD_VALUE_CHARS);
        assert!(value.starts_with("🛠 maintenance **on** for every command but /admin since <t:"));
        assert!(value.contains("by <@42>") && value.contains("for /ping"));
        assert_eq!(field_value(&[]), "off");
    }
}
