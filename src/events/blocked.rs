//! Blocked servers: one that adds the bot (back) is left at once, before
//! anything else runs for it. Its GUILD_CREATE is not handed to the guild
//! writer, so it is never counted, listed or logged as a join; the bot
//! calls `DELETE /users/@me/guilds/{id}` and the log says why
//! (`guild_leave_forced`). `/admin blocklist add` leaves a server the bot is
//! in the same way.

use std::sync::Arc;

use serenity::all::{GuildId, Http, HttpError};
use sqlx::PgPool;

use crate::blocked_set::BlockedSet;
use crate::discord_guard::DiscordGuard;
use crate::error::cause_chain;
use crate::store::blocklist::{self, BlockKind};
use crate::store::logs::Severity;
use crate::telemetry::oplog;

/// What leaving a blocked server takes: cheap to clone into a collector.
#[derive(Debug, Clone)]
pub struct Leaver {
    /// Where the reason is read and the log entry written.
    pub pool: PgPool,
    /// The bot's HTTP client, for `DELETE /users/@me/guilds/{id}`.
    pub http: Arc<Http>,
    /// Counts Discord's refusals, like every request of the panel.
    pub guard: Arc<DiscordGuard>,
    /// Which servers are blocked.
    pub blocked: BlockedSet,
}

impl Leaver {
    /// Whether server `id` is blocked; if it is, the bot leaves it in the
    /// background (the caller drops the event).
    pub fn turned_away(&self, id: u64, name: &str) -> bool {
        if !self.blocked.contains(BlockKind::Server, id) {
            return false;
        }
        let (leaver, name) = (self.clone(), name.to_owned());
        tokio::spawn(async move {
            let why = match blocklist::reason(&leaver.pool, BlockKind::Server, id).await {
                Ok(Some(reason)) => format!("it is blocked ({reason}) and added the bot"),
                _ => "it is blocked and added the bot".to_owned(),
            };
            leaver.leave(id, &name, &why).await;
        });
        true
    }

    /// Takes the bot out of server `id` and logs why; `false` when Discord
    /// would not (the bot was not there, or an error, logged).
    pub async fn leave(&self, id: u64, name: &str, why: &str) -> bool {
        let message = format!("Left server {name} ({id}): {why}");
        match leave_and_log(&self.pool, &self.http, &self.guard, id, &message).await {
            Ok(()) => true,
            Err(error) if is_unknown_guild(&error) => false,
            Err(error) => {
                tracing::warn!(guild = id, error = %cause_chain(&error), "could not leave a blocked server");
                false
            }
        }
    }
}

/// Asks Discord to take the bot out of server `id` (`DELETE
/// /users/@me/guilds/{id}`, its answer counted by `guard`) and, once it has,
/// logs `message` as `guild_leave_forced`. Every forced leave goes through
/// here: a developer's, and a blocked server's.
pub async fn leave_and_log(
    pool: &PgPool,
    http: &Http,
    guard: &DiscordGuard,
    id: u64,
    message: &str,
) -> Result<(), serenity::Error> {
    let result = http.leave_guild(GuildId::new(id)).await;
    guard.observe(&result);
    result?;
    oplog::write_entry_or_warn(
        pool,
        Severity::Info,
        "guild_leave_forced",
        Some(id),
        message,
    )
    .await;
    Ok(())
}

/// Discord's "Unknown Guild": the bot is not in that server.
pub fn is_unknown_guild(error: &serenity::Error) -> bool {
    matches!(
        error,
        serenity::Error::Http(HttpError::UnsuccessfulRequest(response))
            if response.error.code == 10004
    )
}
