//! Whether the bot can post a broadcast in a channel: the channel's type and
//! the bot's permissions in it (with overwrites). Checked before a server's
//! broadcast channel is saved (so broadcasts do not fail later on thousands
//! of servers) and before a test send.

use serenity::all::{ChannelType, GuildId, Http, UserId};

use crate::error::{Error, UserError};
use crate::permissions::snapshot::{ChannelSnapshot, ServerPermissions};
use crate::permissions::{self, Need, channel_facts, member_facts};

/// What a passed check read: the permission snapshot of the server and the
/// channel, as fresh as it gets (the caller saving the channel stores it).
#[derive(Debug, Clone)]
pub struct CheckedChannel {
    /// The server-wide facts.
    pub server: ServerPermissions,
    /// The channel.
    pub channel: ChannelSnapshot,
}

/// Checks the channel's type and the bot's permissions in it (with overwrites).
pub async fn check_broadcast_channel(
    http: &Http,
    guild_id: GuildId,
    channel_id: serenity::all::ChannelId,
    bot_id: UserId,
) -> Result<CheckedChannel, Error> {
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
    // Discord's whole calculation (implicit denies, timeouts), not only the
    // overwrites serenity's `user_permissions_in` stops at.
    let missing = permissions::missing(
        &member_facts(&guild, &member),
        &channel_facts(&channel, None),
        Need::PostEmbed,
        chrono::Utc::now(),
    );
    if !missing.is_empty() {
        return Err(UserError::new(format!(
            "I am missing {} in <#{}>. Grant it to my role (or in the channel's permissions) and try again; nothing changed.",
            missing.join(", "),
            channel.id
        ))
        .into());
    }
    Ok(CheckedChannel {
        server: permissions::fetched_server_permissions(&guild, &member),
        channel: permissions::channel_snapshot(&channel),
    })
}
