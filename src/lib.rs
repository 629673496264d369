//! admin-panel: a developer-only `/admin` interface for poise/serenity bots.
//!
//! A host bot keeps an [`AdminPanel`] in its poise user data (implementing
//! [`HasAdminPanel`]), registers [`commands()`], and installs the hooks from
//! [`framework_options()`] (or calls them from its own). [`bot`] is a complete
//! reference bot built exactly that way.

pub mod access;
pub mod admin;
pub mod alerts;
pub mod bot;
pub mod broadcast;
pub mod config;
pub mod controls;
pub mod db;
pub mod developer_set;
pub mod discord_guard;
pub mod error;
pub mod events;
pub mod gateway;
pub mod hooks;
pub mod interactions_endpoint;
pub mod modules;
pub mod panel;
pub mod redact;
pub mod registration;
pub mod reply;
pub mod router;
pub mod settings;
pub mod store;
pub mod telemetry;
pub mod ui;
pub mod validate;

pub use error::{Error, UserError};
pub use panel::{AdminPanel, BackgroundTasks, HasAdminPanel, PanelOptions};

/// The panel's commands, for a host bot's command list: `/admin` (developers)
/// and `/settings` (server managers).
pub fn commands<U: HasAdminPanel>() -> Vec<poise::Command<U, Error>> {
    vec![admin::admin(), settings::settings()]
}

/// The panel's gateway event handling, for a host bot's own `event_handler`:
/// guild tracking ([`events`]) and the answers to the panel's buttons, select
/// menus and modals ([`router`]; other components are left alone).
pub async fn handle_event<U: HasAdminPanel>(
    framework: poise::FrameworkContext<'_, U, Error>,
    event: &serenity::all::FullEvent,
) -> Result<(), Error> {
    let tracked = events::handle_event(framework, event).await;
    router::handle_event(framework, event).await?;
    tracked
}

/// Framework options with the panel's commands and hooks installed: command
/// recording (the framework check, pre/post command and the reply callback,
/// for timing), error replies, guild tracking. A host bot
/// appends its own commands to `commands`; if it needs its own hooks, it calls
/// [`hooks`] and [`handle_event`] from them.
pub fn framework_options<U: HasAdminPanel>() -> poise::FrameworkOptions<U, Error> {
    poise::FrameworkOptions {
        commands: commands(),
        command_check: Some(|ctx| Box::pin(hooks::command_check(ctx))),
        pre_command: |ctx| Box::pin(hooks::pre_command(ctx)),
        reply_callback: Some(hooks::reply_callback),
        post_command: |ctx| Box::pin(hooks::post_command(ctx)),
        on_error: |error| Box::pin(hooks::on_error(error)),
        event_handler: |framework, event| Box::pin(handle_event(framework, event)),
        // Nothing the bot says may ping anyone unless a command opts in.
        allowed_mentions: Some(serenity::all::CreateAllowedMentions::new()),
        ..Default::default()
    }
}
