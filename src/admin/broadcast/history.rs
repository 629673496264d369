//! `/admin broadcast history`: every broadcast, newest first, ten a page; the
//! menu opens one's report.

use serenity::all::CreateEmbed;
use sqlx::PgPool;

use super::super::Context;
use super::super::pager::{self, BoxFuture, Page, PageSource};
use super::report::report_embed;
use crate::error::{Error, UserError};
use crate::panel::HasAdminPanel;
use crate::store::broadcasts;
use crate::ui::broadcast::history_page;
use crate::ui::pager::Control;

const PAGE_SIZE: i64 = 10;

/// Past, scheduled and draft broadcasts with their delivery figures.
#[poise::command(slash_command, ephemeral)]
pub async fn history<U: HasAdminPanel>(ctx: Context<'_, U>) -> Result<(), Error> {
    let source = History {
        pool: ctx.data().admin_panel().pool.clone(),
        index: 0,
    };
    pager::run(ctx, source).await
}

pub struct History {
    pub pool: PgPool,
    pub index: usize,
}

impl PageSource for History {
    fn turn(&mut self, control: Control) -> BoxFuture<'_, Result<Page, Error>> {
        Box::pin(async move {
            let total = broadcasts::history_count(&self.pool).await?;
            let pages = usize::try_from((total + PAGE_SIZE - 1) / PAGE_SIZE)
                .unwrap_or(1)
                .max(1);
            self.index = match control {
                Control::First => 0,
                Control::Previous => self.index.saturating_sub(1),
                Control::Next => (self.index + 1).min(pages - 1),
                Control::Last => pages - 1,
                Control::Open => self.index,
            };
            let rows =
                broadcasts::history(&self.pool, self.index as i64 * PAGE_SIZE, PAGE_SIZE).await?;
            let (embed, items) = history_page(&rows, total, self.index, pages);
            Ok(Page {
                embed,
                items,
                index: self.index,
                count: pages,
            })
        })
    }

    fn open(&self, value: String) -> BoxFuture<'_, Result<CreateEmbed, Error>> {
        Box::pin(async move {
            let id = value
                .parse::<i64>()
                .map_err(|_| UserError::new("That is not a broadcast."))?;
            report_embed(&self.pool, id).await
        })
    }
}
