//! `/admin logs [severity] [event_type] [guild] [limit]`: the operational log,
//! newest first, ten a page, with a CSV download of every matching entry.

use sqlx::PgPool;

use super::Context;
use super::guild_option::{autocomplete_guild, parse_guild_id};
use super::pager::{self, ListView, Page, PageAt};
use crate::access::developer_autocompletes;
use crate::error::{Error, UserError};
use crate::panel::{AdminPanel, HasAdminPanel};
use crate::store::logs::{self, LogEntry, LogFilter, MAX_LIMIT, Severity};
use crate::telemetry::log_layer::KNOWN_EVENT_TYPES;
use crate::ui::custom_id::View;
use crate::ui::logs::{CSV_FILE, PAGE_SIZE, render_entry, render_page, to_csv};
use serenity::all::{
    AutocompleteChoice, CreateAttachment, CreateAutocompleteResponse,
    CreateInteractionResponseMessage,
};

pub const DEFAULT_LIMIT: i64 = 50;
const DOWNLOAD: char = 'C';

/// Operational log entries, newest first.
#[poise::command(slash_command, ephemeral)]
pub async fn logs<U: HasAdminPanel>(
    ctx: Context<'_, U>,
    #[description = "info, warning or error"]
    #[autocomplete = "autocomplete_severity"]
    severity: Option<String>,
    #[description = "Event type, e.g. guild_join"]
    #[autocomplete = "autocomplete_event_type"]
    event_type: Option<String>,
    #[description = "Only entries about this server (id; type a name to search)"]
    #[autocomplete = "autocomplete_guild"]
    guild: Option<String>,
    #[description = "How many of the newest entries (1 to 500, default 50)"]
    #[min = 1]
    #[max = 500]
    limit: Option<i64>,
) -> Result<(), Error> {
    let filter = parse_filter(
        severity.as_deref(),
        event_type.as_deref(),
        guild.as_deref(),
        limit,
    )?;
    let panel = ctx.data().admin_panel();
    let up_to_id = logs::newest(&panel.pool, &filter)
        .await?
        .first()
        .map(|entry| entry.id);
    pager::show::<LogList, U>(ctx, LogListArgs { filter, up_to_id }).await
}

/// Checks every option on the server: Discord enforces ranges and the
/// autocomplete offers valid values, but a client can send anything.
fn present(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

pub fn parse_filter(
    severity: Option<&str>,
    event_type: Option<&str>,
    guild: Option<&str>,
    limit: Option<i64>,
) -> Result<LogFilter, UserError> {
    let severity = present(severity)
        .map(|raw| {
            Severity::parse(raw).ok_or_else(|| {
                UserError::new(format!(
                    "Unknown severity `{}`: use info, warning or error.",
                    crate::ui::text::truncate(raw, 40).replace('`', "'")
                ))
            })
        })
        .transpose()?;
    let event_type = present(event_type)
        .map(|raw| {
            let valid = raw.len() <= 64
                && raw
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if valid {
                Ok(raw.to_owned())
            } else {
                Err(UserError::new(format!(
                    "`{}` is not an event type: they are lower-case letters, digits and `_`, such as {}.",
                    crate::ui::text::truncate(raw, 40).replace('`', "'"),
                    KNOWN_EVENT_TYPES[..3].join(", ")
                )))
            }
        })
        .transpose()?;
    let guild_id = present(guild).map(parse_guild_id).transpose()?;
    let limit = match limit.unwrap_or(DEFAULT_LIMIT) {
        limit @ 1..=MAX_LIMIT => limit,
        other => {
            return Err(UserError::new(format!(
                "`limit` must be from 1 to {MAX_LIMIT} (got {other})."
            )));
        }
    };
    Ok(LogFilter {
        severity,
        event_type,
        guild_id,
        limit,
    })
}

/// What the list was asked for, and the newest entry it showed first, so that
/// every page and the download show the same entries.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct LogListArgs {
    pub filter: LogFilter,
    pub up_to_id: Option<i64>,
}

/// The matching entries (at most 500), read again at each press and paged in
/// memory: one indexed query of at most 500 rows.
pub struct LogList;

impl LogList {
    async fn entries(panel: &AdminPanel, args: &LogListArgs) -> Result<Vec<LogEntry>, sqlx::Error> {
        logs::newest_up_to(&panel.pool, &args.filter, args.up_to_id).await
    }

    /// Reads page `at`; exposed for tests and the benchmark.
    pub async fn load(pool: &PgPool, args: &LogListArgs, at: PageAt) -> Result<Page, sqlx::Error> {
        let entries = logs::newest_up_to(pool, &args.filter, args.up_to_id).await?;
        let pages = entries.len().div_ceil(PAGE_SIZE).max(1);
        let index = match at {
            PageAt::First => 0,
            PageAt::Last => pages - 1,
            PageAt::Index { index, .. } => index.min(pages - 1),
        };
        let (embed, items) = render_page(&entries, &args.filter, index, pages);
        Ok(Page {
            embed,
            items,
            index,
            count: pages,
            first_key: 0,
            last_key: 0,
        })
    }
}

impl ListView for LogList {
    const VIEW: View = View::Logs;
    type Args = LogListArgs;

    async fn page(panel: &AdminPanel, args: &LogListArgs, at: PageAt) -> Result<Page, Error> {
        Ok(Self::load(&panel.pool, args, at).await?)
    }

    async fn open(
        panel: &AdminPanel,
        args: &LogListArgs,
        value: &str,
        _owner: u64,
    ) -> Result<CreateInteractionResponseMessage, Error> {
        let entries = Self::entries(panel, args).await?;
        let entry = value
            .parse::<i64>()
            .ok()
            .and_then(|id| entries.iter().find(|entry| entry.id == id))
            .ok_or_else(|| UserError::new("That entry is not in this list."))?;
        Ok(CreateInteractionResponseMessage::new().embed(render_entry(entry)))
    }

    fn actions(_args: &LogListArgs) -> Vec<(char, &'static str)> {
        vec![(DOWNLOAD, "Download CSV")]
    }

    async fn act(
        panel: &AdminPanel,
        args: &LogListArgs,
        key: char,
    ) -> Result<CreateInteractionResponseMessage, Error> {
        if key != DOWNLOAD {
            return Err(UserError::new("Unknown action.").into());
        }
        let entries = Self::entries(panel, args).await?;
        let csv = to_csv(&entries)?;
        Ok(CreateInteractionResponseMessage::new()
            .content(format!(
                "{} log entries ({}).",
                entries.len(),
                crate::ui::logs::describe_filter(&args.filter)
            ))
            .add_file(CreateAttachment::bytes(csv, CSV_FILE)))
    }
}

async fn autocomplete_severity<U: HasAdminPanel>(
    _ctx: Context<'_, U>,
    partial: &str,
) -> CreateAutocompleteResponse {
    let partial = partial.trim().to_ascii_lowercase();
    CreateAutocompleteResponse::new().set_choices(
        Severity::ALL
            .iter()
            .filter(|s| s.as_str().starts_with(&partial))
            .map(|s| AutocompleteChoice::new(s.as_str(), s.as_str()))
            .collect(),
    )
}

/// The project's documented types plus any other type present in the table.
async fn autocomplete_event_type<U: HasAdminPanel>(
    ctx: Context<'_, U>,
    partial: &str,
) -> CreateAutocompleteResponse {
    let panel = ctx.data().admin_panel();
    if !developer_autocompletes(ctx).await {
        return CreateAutocompleteResponse::new();
    }
    let mut types: Vec<String> = KNOWN_EVENT_TYPES.iter().map(|t| (*t).to_owned()).collect();
    match logs::event_types(&panel.pool).await {
        Ok(stored) => types.extend(stored),
        Err(error) => {
            tracing::warn!(error = %crate::error::cause_chain(&error), "event type autocomplete failed");
        }
    }
    types.sort();
    types.dedup();
    let partial = partial.trim().to_ascii_lowercase();
    CreateAutocompleteResponse::new().set_choices(
        types
            .into_iter()
            .filter(|t| t.contains(&partial))
            .take(25)
            .map(|t| AutocompleteChoice::new(t.clone(), t))
            .collect(),
    )
}
