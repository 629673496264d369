//! Gateway events the panel listens to: guild joins, updates and removals keep
//! the `guilds` table current (the process answering `/admin` may not have the
//! guild in its cache; they are queued and written in batches, see
//! [`crate::telemetry::guild_events`]), role, channel and the bot's own member
//! updates keep the permission snapshot current
//! ([`crate::permissions::snapshot`]), and Ready tells which shards this
//! process runs and which servers removed the bot while it was offline.
//! Guild events keep their order per server: a collector on each shard
//! queues them as the shard received them ([`crate::telemetry::event_order`]).

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serenity::all::{CollectorCallback, FullEvent, Http, ShardMessenger, UserId};

use crate::error::Error;
use crate::panel::{AdminPanel, HasAdminPanel};
use crate::store::guilds;
use crate::store::instances;
use crate::store::logs::{self, NewLogEntry, Severity};
use crate::store::settings;

pub mod blocked;
mod translate;

use blocked::Leaver;
use translate::Source;

/// The poise `event_handler` a host bot installs (or chains from its own).
pub async fn handle_event<U: HasAdminPanel>(
    framework: poise::FrameworkContext<'_, U, Error>,
    event: &FullEvent,
) -> Result<(), Error> {
    let panel = framework.user_data.admin_panel();
    let bot = framework.bot_id();
    if let Some(source) = translate::from_full_event(event, bot) {
        // Queued already, in the shard's order, by the shard's collector.
        if panel.event_order.take(source.key()) {
            return Ok(());
        }
        if matches!(source, Source::Created(_))
            && turned_away(&leaver(panel, &framework.serenity_context.http), &source)
        {
            return Ok(());
        }
        for event in source.events(bot, &panel.watched_channels) {
            panel.guild_events.push(event).await;
        }
        return Ok(());
    }
    if let FullEvent::Ready { data_about_bot } = event {
        let (shard, total) = data_about_bot
            .shard
            .map_or((0, 1), |shard| (shard.id.0, shard.total));
        let leaver = leaver(panel, &framework.serenity_context.http);
        collect_in_order(panel, &framework.serenity_context.shard, leaver, shard, bot);
        // A fresh IDENTIFY resends every GUILD_CREATE: the channels to
        // keep may have been set by another process since the last read.
        if panel.watched_channels.older_than(WATCHED_REFRESH) {
            let channels = settings::broadcast_channels(&panel.background_pool).await?;
            panel.watched_channels.replace(channels);
        }
        let present: Vec<u64> = data_about_bot.guilds.iter().map(|g| g.id.get()).collect();
        forget_servers_left_while_offline(panel, shard, total, &present).await?;
        // Last: a shard listed for this process has had its READY handled.
        instances::add_shard(&panel.pool, panel.instance_id, shard, total).await?;
    }
    Ok(())
}

/// Shards that become ready within this long share one read of the
/// broadcast channels.
const WATCHED_REFRESH: Duration = Duration::from_secs(30);

/// Registers a collector on `shard`'s runner (a READY starts a session,
/// often on a new runner): from now on it queues the shard's guild events
/// itself, in the order the shard received them
/// ([`crate::telemetry::event_order`]).
fn collect_in_order(
    panel: &AdminPanel,
    messenger: &ShardMessenger,
    leaver: Leaver,
    shard: u32,
    bot: UserId,
) {
    let token = panel.event_order.enlist(shard);
    let order = panel.event_order.clone();
    let events = panel.guild_events.clone();
    let watched = panel.watched_channels.clone();
    messenger.add_collector(CollectorCallback(Box::new(move |event| {
        if !order.is_current(shard, token) {
            return false; // a newer session's collector took over
        }
        if let Some(source) = translate::from_gateway_event(event, bot) {
            // Noted before serenity spawns the handler, which skips it.
            order.note_taken(source.key());
            if turned_away(&leaver, &source) {
                return true;
            }
            for event in source.events(bot, &watched) {
                events.push_ordered(event);
            }
        }
        true
    })));
}

/// What leaves a blocked server, from the panel and the bot's HTTP client.
fn leaver(panel: &AdminPanel, http: &Arc<Http>) -> Leaver {
    Leaver {
        pool: panel.background_pool.clone(),
        http: http.clone(),
        guard: panel.discord_guard.clone(),
        blocked: panel.blocked.clone(),
    }
}

/// Whether `source` is a blocked server's GUILD_CREATE: the bot leaves it,
/// and the event goes no further (no join, no row).
fn turned_away(leaver: &Leaver, source: &Source<'_>) -> bool {
    matches!(source, Source::Created(guild) if leaver.turned_away(guild.id.get(), &guild.name))
}

/// READY lists every server of its shard; an active one missing from it
/// removed the bot while it was offline.
async fn forget_servers_left_while_offline(
    panel: &AdminPanel,
    shard: u32,
    total: u32,
    present: &[u64],
) -> Result<(), sqlx::Error> {
    let now = Utc::now();
    let left =
        guilds::mark_missing_as_left(&panel.background_pool, shard, total, present, now).await?;
    if left.is_empty() {
        return Ok(());
    }
    tracing::info!(
        shard,
        servers = left.len(),
        "servers removed the bot while it was offline"
    );
    let entries: Vec<NewLogEntry> = left
        .into_iter()
        .map(|guild_id| NewLogEntry {
            created_at: now,
            severity: Severity::Info,
            event_type: "guild_leave".to_owned(),
            guild_id: Some(guild_id),
            message: format!("Left server {guild_id} (removed while offline)"),
        })
        .collect();
    logs::insert_batch(&panel.background_pool, &entries).await
}
