//! `/admin maintenance on|off`: every command of the bot but `/admin` (or one
//! named command) answers a message instead of running, in every process
//! within moments (NOTIFY, see [`crate::maintenance`]) and across restarts.
//! `/admin stats` and `/admin health` show it on, since when and by whom;
//! each change is a log entry naming who made it.

use super::Context;
use crate::error::{Error, UserError};
use crate::maintenance::EXEMPT;
use crate::panel::HasAdminPanel;
use crate::store::logs::Severity;
use crate::store::maintenance::{self, EVERY_COMMAND};
use crate::telemetry::oplog;
use crate::ui::maintenance::scope_name;

/// The longest message a command can answer with.
pub const MAX_MESSAGE_CHARS: usize = 1000;

/// Maintenance mode: commands answer a message instead of running.
#[poise::command(slash_command, subcommands("on", "off"), subcommand_required)]
pub async fn maintenance<U: HasAdminPanel>(_ctx: Context<'_, U>) -> Result<(), Error> {
    Ok(())
}

/// Every command but /admin (or the one named) answers `message` instead of running.
#[poise::command(slash_command, ephemeral)]
pub async fn on<U: HasAdminPanel>(
    ctx: Context<'_, U>,
    #[description = "What the commands answer instead of running"]
    #[max_length = 1000]
    message: String,
    #[description = "Only this command (e.g. ping, or settings color); every one but /admin if not given"]
    #[max_length = 100]
    command: Option<String>,
) -> Result<(), Error> {
    let panel = ctx.data().admin_panel();
    let message = message.trim();
    let chars = message.chars().count();
    if chars == 0 || chars > MAX_MESSAGE_CHARS {
        return Err(UserError::new(format!(
            "Give a message of 1 to {MAX_MESSAGE_CHARS} characters: nothing changed."
        ))
        .into());
    }
    let scope = scope(ctx, command.as_deref())?;
    let by = ctx.author();
    maintenance::turn_on(&panel.pool, &scope, message, by.id.get()).await?;
    // Every process hears of it by NOTIFY; this one need not wait for that.
    panel.maintenance.reload(&panel.pool).await?;
    let entry = format!(
        "{} ({}) turned maintenance on for {}: {message}",
        by.name,
        by.id,
        scope_name(&scope)
    );
    oplog::write_entry(&panel.pool, Severity::Info, "maintenance_on", None, &entry).await?;
    ctx.say(format!(
        "Maintenance is on for {}: it answers your message instead of running, in every process within seconds. `/admin maintenance off{}` ends it.",
        scope_name(&scope),
        option_text(&scope)
    ))
    .await?;
    Ok(())
}

/// Ends maintenance of every command (or of the one named).
#[poise::command(slash_command, ephemeral)]
pub async fn off<U: HasAdminPanel>(
    ctx: Context<'_, U>,
    #[description = "The command whose maintenance ends; the bot-wide one if not given"]
    #[max_length = 100]
    command: Option<String>,
) -> Result<(), Error> {
    let panel = ctx.data().admin_panel();
    let scope = scope(ctx, command.as_deref())?;
    if !maintenance::turn_off(&panel.pool, &scope).await? {
        return Err(UserError::new(format!(
            "Maintenance is not on for {}: nothing changed.",
            scope_name(&scope)
        ))
        .into());
    }
    panel.maintenance.reload(&panel.pool).await?;
    let by = ctx.author();
    let entry = format!(
        "{} ({}) turned maintenance off for {}",
        by.name,
        by.id,
        scope_name(&scope)
    );
    oplog::write_entry(&panel.pool, Severity::Info, "maintenance_off", None, &entry).await?;
    let still = panel.maintenance.scopes();
    let rest = if still.is_empty() {
        String::new()
    } else {
        format!(
            " Still on: {}.",
            still
                .iter()
                .map(|row| scope_name(&row.command))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    ctx.say(format!(
        "Maintenance is off for {}.{rest}",
        scope_name(&scope)
    ))
    .await?;
    Ok(())
}

/// The scope `command` names: a command of this bot (as typed, with or
/// without its `/`), or every command when none is given.
fn scope<U: HasAdminPanel>(ctx: Context<'_, U>, command: Option<&str>) -> Result<String, Error> {
    let Some(typed) = command else {
        return Ok(EVERY_COMMAND.to_owned());
    };
    let name = typed
        .trim()
        .trim_start_matches('/')
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    if name.split(' ').next() == Some(EXEMPT) {
        return Err(UserError::new(
            "/admin is never under maintenance: it is how maintenance is ended. Nothing changed.",
        )
        .into());
    }
    let mut known = Vec::new();
    for command in &ctx.framework().options().commands {
        names(command, &mut known);
    }
    if !known.contains(&name) {
        return Err(UserError::new(format!(
            "This bot has no command `/{}`: nothing changed.",
            crate::ui::text::truncate(&name, 100).replace('`', "'")
        ))
        .into());
    }
    Ok(name)
}

/// `command`'s qualified name and those of its subcommands.
fn names<U, E>(command: &poise::Command<U, E>, into: &mut Vec<String>) {
    into.push(command.qualified_name.to_string());
    for sub in &command.subcommands {
        names(sub, into);
    }
}

fn option_text(scope: &str) -> String {
    if scope == EVERY_COMMAND {
        String::new()
    } else {
        format!(" command:{scope}")
    }
}
