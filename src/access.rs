//! Who is a developer: the primary one from `DEVELOPER_USER_ID`, or anyone in the
//! `developers` table. Every `/admin` command, button and modal goes through
//! [`is_developer`] at the moment it arrives; server administrators get nothing.

use serenity::all::UserId;

use crate::error::Error;
use crate::panel::{AdminPanel, HasAdminPanel};
use crate::store::developers;

/// What a non-developer is told, on commands, buttons and modals alike.
pub const REFUSAL: &str = "This command is for the bot's developers.";

/// Reads the table every time: a removed developer loses access at once.
pub async fn is_developer(panel: &AdminPanel, user: UserId) -> Result<bool, sqlx::Error> {
    if user == panel.options.primary_developer {
        return Ok(true);
    }
    developers::exists(&panel.pool, user.get()).await
}

/// The poise check on the `/admin` parent command (it guards every subcommand).
pub async fn developer_check<U: HasAdminPanel>(
    ctx: poise::Context<'_, U, Error>,
) -> Result<bool, Error> {
    Ok(is_developer(ctx.data().admin_panel(), ctx.author().id).await?)
}
