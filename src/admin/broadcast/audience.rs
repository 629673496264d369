//! The audience options of `/admin broadcast new`: checking them against the
//! servers the bot is in, and the suggestions for `module` and `servers`.

use serenity::all::{AutocompleteChoice, CreateAutocompleteResponse};

use super::super::Context;
use crate::access::developer_autocompletes;
use crate::broadcast::audience::AudienceOptions;
use crate::error::{Error, UserError};
use crate::panel::{AdminPanel, HasAdminPanel};
use crate::store::broadcasts::{Audience, audience};
use crate::store::servers;

/// Discord's limit for an autocomplete choice's value.
const CHOICE_VALUE_CHARS: usize = 100;

/// The audience the options describe; a hand-picked server the bot is not in
/// (or has left) is refused by id.
pub(super) async fn resolve(
    panel: &AdminPanel,
    options: &AudienceOptions,
) -> Result<Audience, Error> {
    let audience = options.validate(&panel.options.modules)?;
    if !audience.audience_guild_ids.is_empty() {
        let unknown = audience::not_active(&panel.pool, &audience.audience_guild_ids).await?;
        if !unknown.is_empty() {
            let listed: Vec<String> = unknown.iter().map(u64::to_string).collect();
            return Err(UserError::new(format!(
                "The bot is not in these servers: {}. Nothing was composed.",
                listed.join(", ")
            ))
            .into());
        }
    }
    Ok(audience)
}

/// The host bot's modules containing what was typed (none for others).
pub(super) async fn autocomplete_module<U: HasAdminPanel>(
    ctx: Context<'_, U>,
    partial: &str,
) -> CreateAutocompleteResponse {
    if !developer_autocompletes(ctx).await {
        return CreateAutocompleteResponse::new();
    }
    crate::ui::modules::module_choices(&ctx.data().admin_panel().options.modules, partial)
}

/// Completes the last entry of a comma-separated server list by name: each
/// choice keeps the ids already typed and appends the picked server's id.
/// Discord caps a choice's value at 100 characters, so suggestions stop once
/// the list is that long (about five ids); longer lists are typed or pasted.
pub(super) async fn autocomplete_servers<U: HasAdminPanel>(
    ctx: Context<'_, U>,
    partial: &str,
) -> CreateAutocompleteResponse {
    if !developer_autocompletes(ctx).await {
        return CreateAutocompleteResponse::new();
    }
    let (kept, last) = split_last(partial);
    let prefix: String = last.chars().take(100).collect();
    let found = match servers::search_by_name(&ctx.data().admin_panel().pool, &prefix, 25).await {
        Ok(found) => found,
        Err(error) => {
            tracing::warn!(error = %crate::error::cause_chain(&error), "server list autocomplete failed");
            return CreateAutocompleteResponse::new();
        }
    };
    let choices = found
        .into_iter()
        .filter_map(|(id, name)| {
            let value = format!("{kept}{id}");
            (value.len() <= CHOICE_VALUE_CHARS).then(|| {
                let label = crate::ui::text::truncate(&format!("{name} ({id})"), 100);
                AutocompleteChoice::new(label, value)
            })
        })
        .collect();
    CreateAutocompleteResponse::new().set_choices(choices)
}

/// ("12, 34, ", "Foo") for "12, 34, Foo": the entries already complete
/// (with their separator) and the one being typed.
fn split_last(partial: &str) -> (&str, &str) {
    match partial.rfind(',') {
        Some(at) => {
            let (kept, last) = partial.split_at(at + 1);
            (kept, last.trim_start())
        }
        None => ("", partial.trim_start()),
    }
}

#[cfg(test)]
mod tests {
    use super::split_last;

    #[test]
    fn the_entry_being_typed_is_after_the_last_comma() {
        assert_eq!(split_last("12, 34, Foo"), ("12, 34,", "Foo"));
        assert_eq!(split_last("Foo"), ("", "Foo"));
        assert_eq!(split_last("12,"), ("12,", ""));
    }
}
