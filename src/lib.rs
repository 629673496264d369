//! admin-panel: a developer-only `/admin` interface for poise/serenity bots.
//!
//! This page is the guide for a host bot: what to add to your own poise bot
//! to get the panel. [`bot`] is a complete reference bot built exactly this
//! way, and the README and `docs/` cover running it.
//!
//! # Commands
//!
//! [`commands()`] returns `/admin` (the bot's developers only) and
//! `/settings` (a server's managers). Append your own commands to the same
//! list; the panel records every command's use, yours included, for
//! `/admin stats` and `/admin usage`. [`registration::plan`] and
//! [`registration::spawn_apply`] register `/admin` in your own servers only
//! (`ADMIN_GUILD_IDS`) and everything else globally.
//!
//! # State
//!
//! Keep an [`AdminPanel`] in your poise user data and implement
//! [`HasAdminPanel`] to hand it out. [`AdminPanel::start`] applies the
//! panel's migrations to your pool, registers the process in
//! `bot_instances`, and returns the panel with its [`BackgroundTasks`]
//! (command recorder, log writer, retention, heartbeat, ...). Once the
//! serenity client exists, start the broadcast worker and the alert
//! evaluator on it ([`BackgroundTasks::spawn_broadcast_worker`],
//! [`BackgroundTasks::spawn_alert_evaluator`]); call
//! [`BackgroundTasks::shutdown`] on the way out to write what is buffered.
//! [`PanelOptions`] holds the developer, retention, broadcast rate, your
//! modules and alerts.
//!
//! # Hooks
//!
//! [`framework_options()`] is a `poise::FrameworkOptions` with the panel's
//! commands and hooks installed: the command check, pre- and post-command
//! hooks and the reply callback (timing and recording), the error handler
//! (a [`UserError`] shown as written, anything else as an error id) and the
//! event handler ([`handle_event`]: guild tracking and the panel's buttons,
//! menus and forms). If you have hooks of your own, call the functions in
//! [`hooks`] and [`handle_event`] from them.
//!
//! # Discord's limits
//!
//! [`AdminPanel::discord_guard`] stops every sender when Discord refuses the
//! bot token; select on its [`revoked`](discord_guard::DiscordGuard::revoked)
//! token to stop your bot too. [`gateway::wait_for_identify_budget`] and
//! [`gateway::Shards`] start shards within Discord's daily identify budget
//! and at its pace across processes, in place of `Client::start`.
//!
//! # Module settings
//!
//! Your modules keep typed per-server settings through [`modules`];
//! `/settings module` turns them on and off and `/admin modules` counts
//! their adoption.
//!
//! # Tables
//!
//! The migrations (`migrations/`, applied by [`AdminPanel::start`]) create
//! `guilds`, `guild_settings`, `cog_settings`, `dashboard_users`,
//! `command_stats` with its rollups (`command_stats_hourly`,
//! `command_stats_daily`, `command_stats_guild_daily`, `command_users`,
//! `stat_counters`), `system_logs`, `broadcasts`, `broadcast_deliveries`,
//! `broadcast_followups`, `broadcast_followup_targets`, `developers`,
//! `bot_instances`, `module_adoption`, `panel_secrets`, `panel_views`, the
//! alert tables (`alert_settings`, `alerts`, `alert_mutes`, `alert_budget`),
//! `gateway_identify_slots` and `periodic_duties`. Keep your own tables apart
//! from these names.
//!
//! # A complete host bot
//!
//! `examples/host_bot.rs` (`cargo run --example host_bot`):
//!
//! ````rust,no_run
#![doc = include_str!("../examples/host_bot.rs")]
//! ````
#![warn(missing_docs)]

// The modules marked `#[doc(hidden)]` are the panel's internals: the views,
// the SQL, the rendering, the broadcast worker. They are `pub` only so this
// crate's integration tests and benchmarks can drive them; they are not part
// of the API a host bot builds on and may change in any release.
pub mod access;
#[doc(hidden)]
pub mod admin;
pub mod alerts;
pub mod blocked_set;
pub mod bot;
#[doc(hidden)]
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
pub mod maintenance;
pub mod modules;
pub mod panel;
pub mod permissions;
pub mod redact;
pub mod registration;
pub mod reply;
pub mod router;
#[doc(hidden)]
pub mod settings;
#[doc(hidden)]
pub mod store;
pub mod telemetry;
#[doc(hidden)]
pub mod ui;
#[doc(hidden)]
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
