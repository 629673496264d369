//! `/admin servers`: every active server, ten a page, sorted and searchable.

use chrono::Utc;
use serenity::all::CreateInteractionResponseMessage;
use sqlx::PgPool;

use super::Context;
use super::pager::{self, ListView, Page, PageAt};
use crate::error::{Error, UserError};
use crate::panel::{AdminPanel, HasAdminPanel};
use crate::store::servers::{self, PageAt as RowsAt, ServerSort};
use crate::ui::custom_id::View;
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
    let args = ServerListArgs {
        sort: sort.unwrap_or(ServerSort::Members),
        search,
    };
    pager::show::<ServerList, U>(ctx, args).await
}

/// What the list was asked for.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ServerListArgs {
    pub sort: ServerSort,
    pub search: Option<String>,
}

/// The server list: each page is one keyset query continuing from the
/// server its button names.
pub struct ServerList;

fn page_count(total: i64) -> usize {
    usize::try_from((total + PAGE_SIZE - 1) / PAGE_SIZE)
        .unwrap_or(usize::MAX)
        .max(1)
}

impl ServerList {
    /// Reads page `at`; exposed for the benchmark.
    pub async fn load(
        pool: &PgPool,
        args: &ServerListArgs,
        at: PageAt,
    ) -> Result<Page, sqlx::Error> {
        let search = args.search.as_deref();
        let total = servers::count_active(pool, search).await?;
        let pages = page_count(total);
        // A button from before the list shrank may point past its end.
        let at = match at {
            PageAt::Index { index, .. } if index >= pages => PageAt::Last,
            other => other,
        };
        let (rows_at, index) = match at {
            PageAt::Last => {
                let size = total - (pages as i64 - 1) * PAGE_SIZE;
                (RowsAt::Last { size: size.max(1) }, pages - 1)
            }
            PageAt::Index {
                index,
                after: Some(anchor),
                ..
            } => (RowsAt::After(anchor), index),
            PageAt::Index {
                index,
                before: Some(anchor),
                ..
            } => (RowsAt::Before(anchor), index),
            _ => (RowsAt::First, 0),
        };
        let mut rows = servers::page(pool, args.sort, search, &rows_at, PAGE_SIZE).await?;
        let mut index = index;
        if rows.is_empty() && index > 0 {
            // The list shrank under the buttons: start over.
            rows = servers::page(pool, args.sort, search, &RowsAt::First, PAGE_SIZE).await?;
            index = 0;
        }
        let header = ListHeader {
            total,
            sort: args.sort.as_str(),
            search,
            page: index,
            pages,
        };
        let (embed, items) = render_list(&rows, &header);
        Ok(Page {
            embed,
            items,
            index,
            count: pages,
            first_key: rows.first().map_or(0, |row| row.id),
            last_key: rows.last().map_or(0, |row| row.id),
        })
    }
}

impl ListView for ServerList {
    const VIEW: View = View::ServerList;
    type Args = ServerListArgs;

    async fn page(panel: &AdminPanel, args: &ServerListArgs, at: PageAt) -> Result<Page, Error> {
        Ok(Self::load(&panel.pool, args, at).await?)
    }

    async fn open(
        panel: &AdminPanel,
        _args: &ServerListArgs,
        value: &str,
        owner: u64,
    ) -> Result<CreateInteractionResponseMessage, Error> {
        let id = super::guild_option::parse_guild_id(value)?;
        let (embed, controls) = super::server::view(panel, id, owner, Utc::now()).await?;
        Ok(CreateInteractionResponseMessage::new()
            .embed(embed)
            .components(controls))
    }
}
