//! `/admin servers`: every active server, ten a page, sorted and searchable.

use chrono::Utc;
use serenity::all::CreateEmbed;
use sqlx::PgPool;

use super::Context;
use super::pager::{self, BoxFuture, Page, PageSource};
use crate::error::{Error, UserError};
use crate::panel::HasAdminPanel;
use crate::store::servers::{self, PageAt, ServerRow, ServerSort};
use crate::ui::pager::Control;
use crate::ui::servers::{ListHeader, PAGE_SIZE, render_list};

/// Longest accepted search text (Discord allows 6000 in an option).
const MAX_SEARCH_CHARS: usize = 100;

/// Active servers: name, members, language, color, modules, install date.
#[poise::command(slash_command, ephemeral)]
pub async fn servers<U: HasAdminPanel>(
    ctx: Context<'_, U>,
    #[description = "Sort order (default: members)"] sort: Option<ServerSort>,
    #[description = "Only servers whose name contains this"]
    #[max_length = 100]
    search: Option<String>,
) -> Result<(), Error> {
    let search = search
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    if search
        .as_ref()
        .is_some_and(|s| s.chars().count() > MAX_SEARCH_CHARS)
    {
        return Err(UserError::new(format!(
            "The search text can be at most {MAX_SEARCH_CHARS} characters."
        ))
        .into());
    }
    let source = ServerList::new(
        ctx.data().admin_panel().pool.clone(),
        sort.unwrap_or(ServerSort::Members),
        search,
    );
    pager::run(ctx, source).await
}

/// The server list as a [`PageSource`]: remembers the current page's first and
/// last rows so the next or previous page is one keyset query.
pub struct ServerList {
    pool: PgPool,
    sort: ServerSort,
    search: Option<String>,
    total: i64,
    index: usize,
    rows: Vec<ServerRow>,
}

impl ServerList {
    pub fn new(pool: PgPool, sort: ServerSort, search: Option<String>) -> Self {
        Self {
            pool,
            sort,
            search,
            total: 0,
            index: 0,
            rows: Vec::new(),
        }
    }

    fn pages(&self) -> usize {
        usize::try_from((self.total + PAGE_SIZE - 1) / PAGE_SIZE)
            .unwrap_or(usize::MAX)
            .max(1)
    }

    /// Reads the page `control` asks for; exposed for the benchmark.
    pub async fn load(&mut self, control: Control) -> Result<(), sqlx::Error> {
        let search = self.search.as_deref();
        if matches!(control, Control::First | Control::Last) || self.rows.is_empty() {
            self.total = servers::count_active(&self.pool, search).await?;
        }
        let pages = self.pages();
        let at_edge = match control {
            Control::Next => self.index + 1 >= pages,
            Control::Previous => self.index == 0,
            _ => false,
        };
        if at_edge && !self.rows.is_empty() {
            // A stale button press past either end keeps the current page.
            return Ok(());
        }
        let (at, index) = match control {
            Control::Next if self.index + 1 < pages && !self.rows.is_empty() => (
                PageAt::After(self.rows[self.rows.len() - 1].cursor()),
                self.index + 1,
            ),
            Control::Previous if self.index > 0 && !self.rows.is_empty() => {
                (PageAt::Before(self.rows[0].cursor()), self.index - 1)
            }
            Control::Last => {
                let size = self.total - (pages as i64 - 1) * PAGE_SIZE;
                (PageAt::Last { size: size.max(1) }, pages - 1)
            }
            _ => (PageAt::First, 0),
        };
        let mut rows = servers::page(&self.pool, self.sort, search, &at, PAGE_SIZE).await?;
        let mut index = index;
        if rows.is_empty() && index > 0 {
            // The list shrank under us: start over.
            self.total = servers::count_active(&self.pool, search).await?;
            rows = servers::page(&self.pool, self.sort, search, &PageAt::First, PAGE_SIZE).await?;
            index = 0;
        }
        self.rows = rows;
        self.index = index;
        Ok(())
    }

    pub fn render(&self) -> Page {
        let sort = match self.sort {
            ServerSort::Members => "members",
            ServerSort::Newest => "newest",
            ServerSort::Name => "name",
        };
        let header = ListHeader {
            total: self.total,
            sort,
            search: self.search.as_deref(),
            page: self.index,
            pages: self.pages(),
        };
        let (embed, items) = render_list(&self.rows, &header);
        Page {
            embed,
            items,
            index: self.index,
            count: self.pages(),
        }
    }
}

impl PageSource for ServerList {
    fn turn(&mut self, control: Control) -> BoxFuture<'_, Result<Page, Error>> {
        Box::pin(async move {
            self.load(control).await?;
            Ok(self.render())
        })
    }

    fn open(&self, value: String) -> BoxFuture<'_, Result<CreateEmbed, Error>> {
        Box::pin(async move {
            let id = super::server::parse_guild_id(&value)?;
            super::server::view(&self.pool, id, Utc::now()).await
        })
    }
}
