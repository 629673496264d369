//! `/admin modules`: how many active servers have each module enabled.

use poise::CreateReply;
use serenity::all::CreateAttachment;
use sqlx::PgPool;

use super::Context;
use crate::error::Error;
use crate::panel::HasAdminPanel;
use crate::store::{guilds, modules};
use crate::ui::modules::{CHART_FILE, ModuleAdoption, adoption, chart, render};

/// Module adoption across active servers, with a chart.
#[poise::command(slash_command, ephemeral)]
pub async fn modules<U: HasAdminPanel>(ctx: Context<'_, U>) -> Result<(), Error> {
    let panel = ctx.data().admin_panel();
    let (adoption, active) = gather(&panel.pool, &panel.options.modules).await?;
    let embed = render(&adoption, active);
    let png = tokio::task::spawn_blocking(move || chart(&adoption)).await??;
    ctx.send(
        CreateReply::default()
            .embed(embed)
            .attachment(CreateAttachment::bytes(png, CHART_FILE))
            .ephemeral(true),
    )
    .await?;
    Ok(())
}

/// Adoption per module and the active server count it is a share of.
/// `declared` are the host bot's modules, listed even when no server has them.
pub async fn gather(
    pool: &PgPool,
    declared: &[String],
) -> Result<(Vec<ModuleAdoption>, i64), sqlx::Error> {
    let (counted, active) = tokio::try_join!(modules::adoption(pool), guilds::count_active(pool))?;
    let counted: Vec<(String, i64)> = counted
        .into_iter()
        .map(|a| (a.module, a.enabled_guilds))
        .collect();
    Ok((adoption(declared, &counted, active), active))
}
