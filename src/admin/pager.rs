//! The pager every admin list uses, answered from its custom ids and the
//! database alone: each button carries the page it leads to (and the row to
//! continue from, so the next page is one keyset query), the list's filters
//! are stored under the view id the buttons carry, and any process answers a
//! press, also after a restart. Only the user who opened the list may press
//! (access re-checked each time); after `PAGER_TIMEOUT_SECS` the controls are
//! refused as expired.

use std::future::Future;

use poise::CreateReply;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serenity::all::{
    ComponentInteraction, ComponentInteractionDataKind, CreateEmbed, CreateInteractionResponse,
    CreateInteractionResponseMessage, Http,
};

use super::Context;
use crate::access::{Needs, guard_control};
use crate::controls::{Controls, send_expiring};
use crate::error::{Error, UserError};
use crate::panel::{AdminPanel, HasAdminPanel};
use crate::store::views;
use crate::ui::custom_id::{ControlId, View};
use crate::ui::pager::{self as layout, ActionButton, PagerIds, SelectItem, action_row};

/// Which page to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageAt {
    First,
    Last,
    /// Page `index`, continuing after (Next) or before (Prev) the row with
    /// key `anchor` where the list has such keys.
    Index {
        index: usize,
        after: Option<u64>,
        before: Option<u64>,
    },
}

/// For a list paged by offset (one that holds hundreds of rows, not
/// millions): the page `at` names among those `total` rows make at `size` a
/// page, and how many pages there are (at least one, even when empty).
pub fn by_offset(total: i64, size: i64, at: PageAt) -> (usize, usize) {
    let pages = usize::try_from((total + size - 1) / size)
        .unwrap_or(1)
        .max(1);
    let index = match at {
        PageAt::First => 0,
        PageAt::Last => pages - 1,
        PageAt::Index { index, .. } => index.min(pages - 1),
    };
    (index, pages)
}

/// One rendered page.
#[derive(Debug, Clone)]
pub struct Page {
    pub embed: CreateEmbed,
    pub items: Vec<SelectItem>,
    /// 0-based.
    pub index: usize,
    pub count: usize,
    /// Keys of the first and last row shown, for keyset paging (0: none).
    pub first_key: u64,
    pub last_key: u64,
}

/// A list the pager can draw, any page, from its arguments alone.
pub trait ListView: Send + Sync + 'static {
    const VIEW: View;
    /// What the list was asked for (filters, sort), stored with the view.
    type Args: Serialize + DeserializeOwned + Send + Sync;

    fn page(
        panel: &AdminPanel,
        args: &Self::Args,
        at: PageAt,
    ) -> impl Future<Output = Result<Page, Error>> + Send;

    /// The item the select menu chose, shown as a new ephemeral message
    /// (with controls of its own for `owner`, the list's).
    fn open(
        panel: &AdminPanel,
        args: &Self::Args,
        value: &str,
        owner: u64,
    ) -> impl Future<Output = Result<CreateInteractionResponseMessage, Error>> + Send;

    /// Buttons acting on the whole list: (action letter, label). Upper-case
    /// letters, so they never meet the pager's own.
    fn actions(_args: &Self::Args) -> Vec<(char, &'static str)> {
        Vec::new()
    }

    /// Answers action `key` with a new ephemeral message.
    fn act(
        _panel: &AdminPanel,
        _args: &Self::Args,
        key: char,
    ) -> impl Future<Output = Result<CreateInteractionResponseMessage, Error>> + Send {
        async move { Err(UserError::new(format!("Unknown action `{key}`.")).into()) }
    }
}

/// Pager actions (lower case; list actions are upper case).
const FIRST: char = 'f';
const PREVIOUS: char = 'p';
const POSITION: char = 'i';
const NEXT: char = 'n';
const LAST: char = 'l';
const OPEN: char = 'o';

/// Opens list `L` with `args`: stores the arguments, sends the first page.
pub async fn show<L: ListView, U: HasAdminPanel>(
    ctx: Context<'_, U>,
    args: L::Args,
) -> Result<(), Error> {
    let poise::Context::Application(_) = ctx else {
        return Err(UserError::new("Use the slash command.").into());
    };
    let panel = ctx.data().admin_panel();
    let controls = Controls::new(
        panel,
        L::VIEW,
        ctx.author().id.get(),
        panel.options.pager_timeout,
    );
    // The first page first: a list that cannot be drawn (an unknown id, ...)
    // stores nothing.
    let page = L::page(panel, &args, PageAt::First).await?;
    let stored = serde_json::to_value(&args)?;
    let expires_at = chrono::DateTime::from_timestamp(controls.expires_at, 0).unwrap_or_default();
    let view_id = views::save(
        &panel.pool,
        L::VIEW.command(),
        controls.owner,
        &stored,
        expires_at,
    )
    .await?;
    let rows = rows::<L>(&controls, view_id as u64, &args, &page);
    send_expiring(
        ctx,
        CreateReply::default().embed(page.embed).components(rows),
        &controls,
    )
    .await
}

/// Answers a press on list `L`'s controls (already verified and not expired).
pub async fn on_press<L: ListView>(
    panel: &AdminPanel,
    http: &Http,
    press: &ComponentInteraction,
    control: &ControlId,
) -> Result<(), Error> {
    if guard_control(panel, http, Needs::Developer, control, press.into()).await? {
        return Ok(());
    }
    let view_id = control.arg(0)?;
    let Some(view) = views::load(&panel.pool, view_id as i64).await? else {
        return Err(UserError::new(crate::controls::expired_text(L::VIEW)).into());
    };
    if view.owner_id != control.owner || view.kind != L::VIEW.command() {
        return Err(UserError::new("These controls do not belong to this list.").into());
    }
    let args: L::Args = serde_json::from_value(view.args)?;
    let at = match control.action {
        FIRST => PageAt::First,
        LAST => PageAt::Last,
        NEXT | PREVIOUS => {
            let index = usize::try_from(control.arg(1)?).unwrap_or(usize::MAX);
            let anchor = Some(control.arg(2)?).filter(|key| *key != 0);
            if control.action == NEXT {
                PageAt::Index {
                    index,
                    after: anchor,
                    before: None,
                }
            } else {
                PageAt::Index {
                    index,
                    after: None,
                    before: anchor,
                }
            }
        }
        OPEN => {
            let ComponentInteractionDataKind::StringSelect { values } = &press.data.kind else {
                return Err(UserError::new("That control is not a menu.").into());
            };
            let value = values
                .first()
                .ok_or_else(|| UserError::new("Nothing was selected."))?;
            let message = L::open(panel, &args, value, control.owner)
                .await?
                .ephemeral(true);
            press
                .create_response(http, CreateInteractionResponse::Message(message))
                .await?;
            return Ok(());
        }
        POSITION => {
            press
                .create_response(http, CreateInteractionResponse::Acknowledge)
                .await?;
            return Ok(());
        }
        key if key.is_ascii_uppercase() => {
            let message = L::act(panel, &args, key).await?.ephemeral(true);
            press
                .create_response(http, CreateInteractionResponse::Message(message))
                .await?;
            return Ok(());
        }
        _ => return Err(UserError::new("That control is not part of this list.").into()),
    };
    let page = L::page(panel, &args, at).await?;
    let controls = Controls::continuing(panel, control);
    let update = CreateInteractionResponseMessage::new()
        .embed(page.embed.clone())
        .components(rows::<L>(&controls, view_id, &args, &page));
    press
        .create_response(http, CreateInteractionResponse::UpdateMessage(update))
        .await?;
    Ok(())
}

/// The controls under `page`: pager, menu, and the list's own buttons.
fn rows<L: ListView>(
    controls: &Controls<'_>,
    view_id: u64,
    args: &L::Args,
    page: &Page,
) -> Vec<serenity::all::CreateActionRow> {
    let index = page.index as u64;
    let ids = PagerIds {
        first: controls.id(FIRST, &[view_id]),
        previous: controls.id(
            PREVIOUS,
            &[view_id, index.saturating_sub(1), page.first_key],
        ),
        position: controls.id(POSITION, &[view_id, index]),
        next: controls.id(NEXT, &[view_id, index + 1, page.last_key]),
        last: controls.id(LAST, &[view_id]),
        open: controls.id(OPEN, &[view_id]),
    };
    let mut rows = layout::controls(&ids, page.index, page.count, &page.items, false);
    let actions: Vec<ActionButton> = L::actions(args)
        .into_iter()
        .map(|(key, label)| ActionButton {
            custom_id: controls.id(key, &[view_id]),
            label: label.to_owned(),
        })
        .collect();
    rows.extend(action_row(&actions, false));
    rows
}
