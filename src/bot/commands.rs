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
pub async fn ping(ctx: Context<'_>) -> Result<(), Error> {
    let latency = ctx.ping().await;
    let text = if latency.is_zero() {
        "Pong! (gateway latency not measured yet)".to_owned()
    } else {
        format!("Pong! Gateway latency: {} ms", latency.as_millis())
    };
    ctx.send(CreateReply::default().content(text).ephemeral(true))
        .await?;
    Ok(())
}
