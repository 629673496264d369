//! The `guild:` option of the `/admin` commands that name one server
//! (`server`, `leave`, `logs`): parsing what was typed, and suggesting
//! servers by name while it is typed.

use serenity::all::{AutocompleteChoice, CreateAutocompleteResponse};

use super::Context;
use crate::access::developer_autocompletes;
use crate::error::UserError;
use crate::panel::HasAdminPanel;
use crate::store::servers;

/// A Discord id (a snowflake: 17 to 19 digits, within a signed 64-bit
/// number) for something that may be unknown to the bot, named `what` in
/// the error ("server", "user").
pub fn parse_snowflake(raw: &str, what: &str) -> Result<u64, UserError> {
    let raw = raw.trim();
    let digits = raw.len();
    match raw.parse::<u64>() {
        Ok(id) if (17..=19).contains(&digits) && id <= i64::MAX as u64 && !raw.starts_with('0') => {
            Ok(id)
        }
        _ => Err(UserError::new(format!(
            "`{}` is not a {what} id: use the 17 to 19 digit number from Discord (e.g. 123456789012345678). Nothing changed.",
            crate::ui::text::truncate(raw, 40).replace('`', "'")
        ))),
    }
}

/// A Discord server id, or a clear error saying what was wrong.
pub fn parse_guild_id(raw: &str) -> Result<u64, UserError> {
    let raw = raw.trim();
    match raw.parse::<u64>() {
        Ok(id) if id > 0 && id <= i64::MAX as u64 => Ok(id),
        _ => Err(UserError::new(format!(
            "`{}` is not a server id: use the number from Discord (e.g. 123456789012345678) or pick a server from the suggestions.",
            crate::ui::text::truncate(raw, 40).replace('`', "'")
        ))),
    }
}

/// Suggests servers by name prefix. Autocomplete runs no checks in poise, so
/// non-developers get no suggestions (server names are not theirs to see).
pub(crate) async fn autocomplete_guild<U: HasAdminPanel>(
    ctx: Context<'_, U>,
    partial: &str,
) -> CreateAutocompleteResponse {
    CreateAutocompleteResponse::new().set_choices(suggestions(ctx, partial).await)
}

async fn suggestions<U: HasAdminPanel>(
    ctx: Context<'_, U>,
    partial: &str,
) -> Vec<AutocompleteChoice> {
    let panel = ctx.data().admin_panel();
    if !developer_autocompletes(ctx).await {
        return Vec::new();
    }
    let prefix: String = partial.trim().chars().take(100).collect();
    match servers::search_by_name(&panel.pool, &prefix, 25).await {
        Ok(found) => found
            .into_iter()
            .map(|(id, name)| {
                let label = crate::ui::text::truncate(&format!("{name} ({id})"), 100);
                AutocompleteChoice::new(label, id.to_string())
            })
            .collect(),
        Err(error) => {
            tracing::warn!(error = %crate::error::cause_chain(&error), "server autocomplete failed");
            Vec::new()
        }
    }
}
