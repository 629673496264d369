//! Plain async functions over `&PgPool`, one file per table family. No serenity
//! types here: ids cross this boundary as `u64` and are converted below.

pub mod broadcasts;
pub mod command_stats;
pub mod developers;
pub mod guilds;
pub mod health;
pub mod instances;
pub mod logs;
pub mod modules;
pub mod servers;
pub mod settings;
pub mod usage;

/// Discord ids are stored as BIGINT. Snowflakes stay below 2^63 until 2084, and
/// every id we store came from Discord or passed config validation.
pub(crate) fn db_id(id: u64) -> i64 {
    id as i64
}

/// A case-insensitive "contains" pattern for ILIKE in which `%`, `_` and `\`
/// are literal characters, not wildcards.
pub(crate) fn like_pattern(search: &str) -> String {
    let escaped = search
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}
