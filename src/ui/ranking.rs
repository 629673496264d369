//! A command ranking as `/admin stats` and `/admin usage` show it: position,
//! command, uses and share of the total, fitted into one embed field.

use super::limits::EMBED_FIELD_VALUE_CHARS;
use super::text::{fit_lines, thousands, truncate};
use crate::store::command_stats::CommandUses;

/// The first `limit` of `commands` (sorted by the caller), or `empty` when
/// there are none.
pub fn ranking(commands: &[CommandUses], limit: usize, empty: &str) -> String {
    let total: i64 = commands.iter().map(|c| c.uses).sum();
    let lines: Vec<String> = commands
        .iter()
        .take(limit)
        .enumerate()
        .map(|(index, command)| {
            let share = if total > 0 {
                command.uses as f64 * 100.0 / total as f64
            } else {
                0.0
            };
            format!(
                "{}. `/{}` {} ({share:.1}%)",
                index + 1,
                truncate(&command.command, 60),
                thousands(command.uses)
            )
        })
        .collect();
    if lines.is_empty() {
        empty.to_owned()
    } else {
        fit_lines(&lines, EMBED_FIELD_VALUE_CHARS)
    }
}
