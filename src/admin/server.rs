//! `/admin server guild:<id>`: one server's whole configuration (the same view
//! the server list's menu opens).

use chrono::{DateTime, Utc};
use serenity::all::{CreateActionRow, CreateEmbed};

use super::Context;
use super::guild_option::{autocomplete_guild, parse_guild_id};
use crate::error::{Error, UserError};
use crate::panel::{AdminPanel, HasAdminPanel};
use crate::store::servers;
use crate::ui::servers::render_detail;

/// One server's configuration, modules, dashboard users and recent logs.
#[poise::command(slash_command, ephemeral)]
pub async fn server<U: HasAdminPanel>(
    ctx: Context<'_, U>,
    #[description = "Server id (type a name to search)"]
    #[autocomplete = "autocomplete_guild"]
    guild: String,
) -> Result<(), Error> {
    let id = parse_guild_id(&guild)?;
    let owner = ctx.author().id.get();
    let (embed, controls) = view(ctx.data().admin_panel(), id, owner, Utc::now()).await?;
    ctx.send(
        poise::CreateReply::default()
            .embed(embed)
            .components(controls)
            .ephemeral(true),
    )
    .await?;
    Ok(())
}

/// The server view with its controls for `owner` (Leave, while the bot is
/// in the server), or a clear error when the bot never knew that server.
pub async fn view(
    panel: &AdminPanel,
    id: u64,
    owner: u64,
    now: DateTime<Utc>,
) -> Result<(CreateEmbed, Vec<CreateActionRow>), Error> {
    match servers::detail(&panel.pool, id, now).await? {
        Some(detail) => {
            let controls = match detail.guild.left_at {
                None => vec![super::leave::button(panel, owner, id)],
                Some(_) => Vec::new(),
            };
            let reach = super::server_reach::reach(panel, &detail.guild, now).await?;
            Ok((render_detail(&detail, &reach, now), controls))
        }
        None => Err(UserError::new(format!("No server with id {id} is known to the bot.")).into()),
    }
}
