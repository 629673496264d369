//! The reference bot's own commands: ordinary commands a host bot would have,
//! recorded in the stats like any other.

use poise::CreateReply;

use crate::error::Error;
use crate::panel::AdminPanel;

/// The modules the reference bot declares (server managers toggle them with
/// `/settings module`; `/admin modules` counts their adoption).
pub const MODULES: [&str; 4] = ["welcome", "levels", "moderation", "tickets"];

type Context<'a> = poise::Context<'a, AdminPanel, Error>;

/// Checks that the bot is alive and shows the gateway latency.
#[poise::command(slash_command)]
pub(crate) async fn ping(ctx: Context<'_>) -> Result<(), Error> {
    // The shard's own runner: this bot starts each shard with a manager of
    // its own (`crate::gateway`), which poise's `ctx.ping()` does not know.
    let shard = ctx.serenity_context().shard_id.0;
    let latency = ctx
        .data()
        .health
        .shards()
        .await
        .into_iter()
        .find(|state| state.id == shard)
        .and_then(|state| state.latency)
        .unwrap_or_default();
    let text = if latency.is_zero() {
        "Pong! (gateway latency not measured yet)".to_owned()
    } else {
        format!("Pong! Gateway latency: {} ms", latency.as_millis())
    };
    ctx.send(CreateReply::default().content(text).ephemeral(true))
        .await?;
    Ok(())
}
