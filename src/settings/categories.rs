//! `/settings broadcast-categories`: a menu of the categories this server
//! accepts. The menu's signed custom id names the server and the member who
//! opened it; any process answers the pick, also after a restart, and checks
//! Manage Server again on every pick (it may have been taken away meanwhile).

use std::time::Duration;

use poise::CreateReply;
use serenity::all::{
    ComponentInteraction, ComponentInteractionDataKind, CreateActionRow, CreateInteractionResponse,
    CreateInteractionResponseMessage, CreateSelectMenu, CreateSelectMenuKind,
    CreateSelectMenuOption, Http,
};

use super::{Context, guild, persist, unknown_server};
use crate::access::{Needs, guard_control};
use crate::broadcast::category::Category;
use crate::controls::{Controls, send_expiring};
use crate::error::{Error, UserError};
use crate::panel::{AdminPanel, HasAdminPanel};
use crate::store::settings::{self as store, Change};
use crate::ui::custom_id::{ControlId, View};

/// How long the menu waits for a choice.
const MENU_TIMEOUT: Duration = Duration::from_secs(120);
const PICK: char = 'k';

/// Which broadcast categories this server accepts.
#[poise::command(slash_command, rename = "broadcast-categories", ephemeral)]
pub async fn broadcast_categories<U: HasAdminPanel>(ctx: Context<'_, U>) -> Result<(), Error> {
    let panel = ctx.data().admin_panel();
    let guild_id = guild(ctx)?;
    let current = store::get(&panel.pool, guild_id.get())
        .await?
        .ok_or_else(unknown_server)?;
    let controls = Controls::new(panel, View::Categories, ctx.author().id.get(), MENU_TIMEOUT);
    let options = Category::ALL
        .iter()
        .map(|category| {
            let name = category.as_str();
            CreateSelectMenuOption::new(name, name)
                .default_selection(current.broadcast_categories.iter().any(|c| c == name))
        })
        .collect();
    let menu = CreateSelectMenu::new(
        controls.id(PICK, &[guild_id.get()]),
        CreateSelectMenuKind::String { options },
    )
    .min_values(0)
    .max_values(Category::ALL.len() as u8)
    .placeholder("Categories this server accepts");
    send_expiring(
        ctx,
        CreateReply::default()
            .content("Which broadcasts should this server receive?")
            .components(vec![CreateActionRow::SelectMenu(menu)]),
        &controls,
    )
    .await
}

/// Saves the categories picked in the menu.
pub async fn on_pick(
    panel: &AdminPanel,
    http: &Http,
    pick: &ComponentInteraction,
    control: &ControlId,
) -> Result<(), Error> {
    if guard_control(panel, http, Needs::ManageServer, control, pick.into()).await? {
        return Ok(());
    }
    let guild_id = control.arg(0)?;
    if pick.guild_id.map(|id| id.get()) != Some(guild_id) {
        return Err(UserError::new("This menu belongs to another server.").into());
    }
    let ComponentInteractionDataKind::StringSelect { values } = &pick.data.kind else {
        return Err(UserError::new("That control is not a menu.").into());
    };
    let mut chosen: Vec<String> = Vec::new();
    for value in values {
        if Category::parse(value).is_none() {
            return Err(UserError::new(format!(
                "`{}` is not a broadcast category. Nothing was changed.",
                crate::ui::text::truncate(value, 40).replace('`', "'")
            ))
            .into());
        }
        if !chosen.contains(value) {
            chosen.push(value.clone());
        }
    }
    let what = format!(
        "the accepted broadcasts to {}",
        if chosen.is_empty() {
            "none".to_owned()
        } else {
            chosen.join(", ")
        }
    );
    persist(
        panel,
        guild_id,
        &pick.user,
        Change::BroadcastCategories(chosen),
        &what,
    )
    .await?;
    let update = CreateInteractionResponseMessage::new()
        .content(format!("Saved: {what}."))
        .components(vec![]);
    pick.create_response(http, CreateInteractionResponse::UpdateMessage(update))
        .await?;
    Ok(())
}
