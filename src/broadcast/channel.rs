//! Whether the bot can post a broadcast in a channel: the channel's type and
//! the bot's permissions in it (with overwrites). Checked before a server's
//! broadcast channel is saved (so broadcasts do not fail later on thousands
//! of servers) and before a test send.

use serenity::all::{ChannelType, GuildId, Http, Permissions, UserId};

use crate::error::{Error, UserError};

/// What the bot needs in a broadcast channel, with the names Discord shows.
pub const REQUIRED: [(Permissions, &str); 3] = [
    (Permissions::VIEW_CHANNEL, "View Channel"),
    (Permissions::SEND_MESSAGES, "Send Messages"),
    (Permissions::EMBED_LINKS, "Embed Links"),
];

/// Checks the channel's type and the bot's permissions in it (with overwrites).
pub async fn check_broadcast_channel(
    http: &Http,
    guild_id: GuildId,
    channel_id: serenity::all::ChannelId,
    bot_id: UserId,
) -> Result<(), Error> {
    let channel = http.get_channel(channel_id).await?;
    let Some(channel) = channel
        .guild()
        .filter(|channel| channel.guild_id == guild_id)
    else {
        return Err(UserError::new("That channel is not in this server.").into());
    };
    if !matches!(channel.kind, ChannelType::Text | ChannelType::News) {
        return Err(UserError::new(format!(
            "<#{}> is not a text or announcement channel: broadcasts need one of those.",
            channel.id
        ))
        .into());
    }
    let (guild, member) =
        tokio::try_join!(http.get_guild(guild_id), http.get_member(guild_id, bot_id))?;
    let permissions = guild.user_permissions_in(&channel, &member);
    let missing: Vec<&str> = REQUIRED
        .iter()
        .filter(|(permission, _)| !permissions.contains(*permission))
        .map(|(_, name)| *name)
        .collect();
    if !missing.is_empty() {
        return Err(UserError::new(format!(
            "I am missing {} in <#{}>. Grant it to my role (or in the channel's permissions) and try again; nothing changed.",
            missing.join(", "),
            channel.id
        ))
        .into());
    }
    Ok(())
}
