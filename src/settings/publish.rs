//! `/settings broadcast-publish state:<on|off>`: whether broadcasts delivered
//! to this server's announcement channel are also published to the servers
//! following it. Off by default. On needs an announcement channel as the
//! broadcast channel (only messages there can be published).

use serenity::all::ChannelType;

use super::{Context, OnOff, guild, save, unknown_server};
use crate::error::{Error, UserError};
use crate::panel::HasAdminPanel;
use crate::store::settings::{self as store, Change};

/// Publish broadcasts to the servers following your announcement channel.
#[poise::command(slash_command, rename = "broadcast-publish", ephemeral)]
pub async fn broadcast_publish<U: HasAdminPanel>(
    ctx: Context<'_, U>,
    #[description = "on: publish each broadcast to the servers following the channel"] state: OnOff,
) -> Result<(), Error> {
    if state == OnOff::Off {
        return save(
            ctx,
            Change::BroadcastPublish(false),
            "publishing broadcasts to followers to off".to_owned(),
        )
        .await;
    }
    let guild_id = guild(ctx)?;
    let settings = store::get(&ctx.data().admin_panel().pool, guild_id.get())
        .await?
        .ok_or_else(unknown_server)?;
    let Some(channel) = settings.broadcast_channel_id else {
        return Err(UserError::new(
            "This server has no broadcast channel: set an announcement channel with `/settings broadcast-channel` first. Nothing changed.",
        )
        .into());
    };
    // A REST call follows: acknowledge first, within Discord's 3 seconds.
    crate::hooks::defer(ctx, true).await?;
    let kind = ctx
        .http()
        .get_channel(channel.into())
        .await?
        .guild()
        .map(|channel| channel.kind);
    if kind != Some(ChannelType::News) {
        return Err(UserError::new(format!(
            "<#{channel}> is not an announcement channel: only messages there can be published. Make it one (or pick one with `/settings broadcast-channel`) first. Nothing changed."
        ))
        .into());
    }
    save(
        ctx,
        Change::BroadcastPublish(true),
        format!("publishing broadcasts in <#{channel}> to the servers following it to on"),
    )
    .await
}
