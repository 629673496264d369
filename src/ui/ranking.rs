//! A command ranking as `/admin stats` and `/admin usage` show it: position,
//! command, uses and share of the total, fitted into one embed field.

use super::limits::EMBED_FIELD_VALUE_CHARS;
use super::text::{fit_lines, thousands, truncate};
use crate::store::command_stats::CommandUses;

/// The first `limit` of `commands` (sorted by the caller), or `empty` when
/// there are none.
pub fn ranking(commands: &[CommandUses], limit: usize, empty: &str) -> String {
    ranked(
        commands,
        limit,
        empty,
        |c| (c.command.as_str(), c.uses),
        |_| String::new(),
    )
}

/// One line a command, "1. `/name` 1,234 (12.3%)" followed by what `more`
/// adds, for the first `limit` of `items` (sorted by the caller; shares are
/// of all of them), fitted into one embed field; `empty` when there are none.
pub fn ranked<T>(
    items: &[T],
    limit: usize,
    empty: &str,
    name_and_uses: impl Fn(&T) -> (&str, i64),
    more: impl Fn(&T) -> String,
) -> String {
    let total: i64 = items.iter().map(|item| name_and_uses(item).1).sum();
    let lines: Vec<String> = items
        .iter()
        .take(limit)
        .enumerate()
        .map(|(index, item)| {
            let (name, uses) = name_and_uses(item);
            let share = if total > 0 {
                uses as f64 * 100.0 / total as f64
            } else {
                0.0
            };
            format!(
                "{}. `/{}` {} ({share:.1}%){}",
                index + 1,
                truncate(name, 60),
                thousands(uses),
                more(item)
            )
        })
        .collect();
    if lines.is_empty() {
        empty.to_owned()
    } else {
        fit_lines(&lines, EMBED_FIELD_VALUE_CHARS)
    }
}
