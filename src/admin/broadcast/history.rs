//! `/admin broadcast history`: every broadcast, newest first, ten a page; the
//! menu opens one's report.

use serenity::all::CreateInteractionResponseMessage;

use super::super::Context;
use super::super::pager::{self, ListView, Page, PageAt};
use super::report::report_embed;
use crate::error::{Error, UserError};
use crate::panel::{AdminPanel, HasAdminPanel};
use crate::store::broadcasts;
use crate::ui::broadcast::history_page;
use crate::ui::custom_id::View;

const PAGE_SIZE: i64 = 10;

/// Past, scheduled and draft broadcasts with their delivery figures.
#[poise::command(slash_command, ephemeral)]
pub async fn history<U: HasAdminPanel>(ctx: Context<'_, U>) -> Result<(), Error> {
    pager::show::<History, U>(ctx, ()).await
}

/// Broadcasts number in the hundreds: pages by offset.
pub struct History;

impl ListView for History {
    const VIEW: View = View::BroadcastHistory;
    type Args = ();

    async fn page(panel: &AdminPanel, _args: &(), at: PageAt) -> Result<Page, Error> {
        let total = broadcasts::history_count(&panel.pool).await?;
        let (index, pages) = pager::by_offset(total, PAGE_SIZE, at);
        let rows = broadcasts::history(&panel.pool, index as i64 * PAGE_SIZE, PAGE_SIZE).await?;
        let (embed, items) = history_page(&rows, total, index, pages);
        Ok(Page {
            embed,
            items,
            index,
            count: pages,
            first_key: 0,
            last_key: 0,
        })
    }

    async fn open(
        panel: &AdminPanel,
        _args: &(),
        value: &str,
        _owner: u64,
    ) -> Result<CreateInteractionResponseMessage, Error> {
        let id = value
            .parse::<i64>()
            .map_err(|_| UserError::new("That is not a broadcast."))?;
        let embed = report_embed(&panel.pool, id).await?;
        Ok(CreateInteractionResponseMessage::new().embed(embed))
    }
}
