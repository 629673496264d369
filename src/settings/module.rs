//! `/settings module name:<module> state:<on|off> [message:<text>]`: turns one
//! of the bot's modules on or off and, for modules that take one (declared in
//! [`crate::PanelOptions::module_messages`], e.g. welcome), sets its message.

use serde_json::Value;

use super::{Context, OnOff, guild, save, unknown_server};
use crate::error::{Error, UserError};
use crate::modules::{self, MAX_SETTINGS_BYTES, SettingsError};
use crate::panel::HasAdminPanel;
use crate::store::logs::Severity;
use crate::store::settings::Change;
use crate::telemetry::oplog;
use crate::ui::text::truncate;
use crate::validate::{known_module, module_message};

/// Turns one of the bot's modules on or off (and sets its message, if it has one).
#[poise::command(slash_command, ephemeral)]
pub async fn module<U: HasAdminPanel>(
    ctx: Context<'_, U>,
    #[description = "Module"]
    #[autocomplete = "autocomplete_module"]
    name: String,
    #[description = "on or off"] state: OnOff,
    #[description = "The module's message, e.g. welcome's greeting ({user} and {server} are filled in)"]
    #[max_length = 1000]
    message: Option<String>,
) -> Result<(), Error> {
    let panel = ctx.data().admin_panel();
    let module = known_module(&panel.options.modules, &name)?.to_owned();
    let enabled = state == OnOff::On;
    let mut what = format!("module {module} to {}", if enabled { "on" } else { "off" });
    let Some(raw) = message else {
        return save(
            ctx,
            Change::Module {
                name: module,
                enabled,
            },
            what,
        )
        .await;
    };
    if !panel.options.module_messages.contains(&module) {
        return Err(UserError::new(format!(
            "Module {module} takes no message. Nothing was changed."
        ))
        .into());
    }
    // Discord enforces the registered 1000 characters only in its client.
    let text = module_message(&raw)?;
    let guild_id = guild(ctx)?.get();
    let stored = text.clone();
    let result = modules::modify(&panel.pool, guild_id, &module, Some(enabled), |mut map| {
        map.insert("message".to_owned(), Value::String(stored));
        Ok(Value::Object(map))
    })
    .await;
    match result {
        Ok(()) => {}
        Err(SettingsError::UnknownServer(_)) => return Err(unknown_server().into()),
        Err(SettingsError::TooLarge { size }) => {
            return Err(UserError::new(format!(
                "With this message the module's settings would take {size} bytes, more than the \
                 {MAX_SETTINGS_BYTES} allowed. Use a shorter message. Nothing was changed."
            ))
            .into());
        }
        Err(other) => return Err(other.into()),
    }
    what.push_str(" with the message “");
    what.push_str(&truncate(&text, 200));
    what.push('”');
    let author = ctx.author();
    oplog::write_entry_or_warn(
        &panel.pool,
        Severity::Info,
        "config_update",
        Some(guild_id),
        &format!("{} ({}) changed {what}", author.name, author.id),
    )
    .await;
    ctx.send(
        poise::CreateReply::default()
            .content(truncate(&format!("Saved: {what}."), 2000))
            .ephemeral(true),
    )
    .await?;
    Ok(())
}

async fn autocomplete_module<U: HasAdminPanel>(
    ctx: Context<'_, U>,
    partial: &str,
) -> serenity::all::CreateAutocompleteResponse {
    crate::ui::modules::module_choices(&ctx.data().admin_panel().options.modules, partial)
}
