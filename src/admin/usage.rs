//! `/admin usage [days] [command] [metric]`: commands, internal errors or p95
//! latency per UTC day as a PNG chart, and per command its p50 / p95 time to
//! the first response and error rate, all from the daily rollup.

use chrono::{NaiveDate, TimeDelta, Utc};
use poise::CreateReply;
use serenity::all::{AutocompleteChoice, CreateAttachment, CreateAutocompleteResponse};
use sqlx::PgPool;

use super::Context;
use crate::access::developer_autocompletes;
use crate::error::{Error, UserError};
use crate::panel::HasAdminPanel;
use crate::store::usage;
use crate::ui::usage::{CHART_FILE, Metric, TOP_COMMANDS, UsageReport, render};

/// Longest period the view covers (the raw-event retention default).
pub const MAX_DAYS: i64 = 90;
pub const DEFAULT_DAYS: i64 = 30;

/// What `metric:` charts per day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poise::ChoiceParameter)]
pub enum UsageMetric {
    #[name = "commands"]
    Commands,
    #[name = "errors"]
    Errors,
    #[name = "p95 latency"]
    P95Latency,
}

impl UsageMetric {
    /// The chart's metric for this choice (a method of the option, not a
    /// `From` for the UI's type: the UI layer stays free of the command's).
    fn metric(self) -> Metric {
        match self {
            Self::Commands => Metric::Commands,
            Self::Errors => Metric::Errors,
            Self::P95Latency => Metric::P95Latency,
        }
    }
}

/// Command usage per day, with a chart.
#[poise::command(slash_command, ephemeral)]
pub async fn usage<U: HasAdminPanel>(
    ctx: Context<'_, U>,
    #[description = "Days to cover, ending today (UTC); 1 to 90, default 30"]
    #[min = 1]
    #[max = 90]
    days: Option<i64>,
    #[description = "Only this command (e.g. `admin stats`)"]
    #[autocomplete = "autocomplete_command"]
    command: Option<String>,
    #[description = "What the chart shows per day: commands (default), errors or p95 latency"]
    metric: Option<UsageMetric>,
) -> Result<(), Error> {
    let days = validate_days(days)?;
    let command = command
        .map(|c| c.trim().trim_start_matches('/').to_owned())
        .filter(|c| !c.is_empty());
    let pool = &ctx.data().admin_panel().pool;
    let mut report = gather(pool, days, command, Utc::now().date_naive()).await?;
    report.metric = metric.map(UsageMetric::metric).unwrap_or_default();
    let chart = render_chart(report.clone()).await?;
    ctx.send(
        CreateReply::default()
            .embed(render(&report))
            .attachment(CreateAttachment::bytes(chart, CHART_FILE))
            .ephemeral(true),
    )
    .await?;
    Ok(())
}

/// The period in days; Discord enforces the range too, but a forged value must
/// not reach the database.
pub fn validate_days(days: Option<i64>) -> Result<i64, UserError> {
    match days.unwrap_or(DEFAULT_DAYS) {
        days @ 1..=MAX_DAYS => Ok(days),
        other => Err(UserError::new(format!(
            "`days` must be from 1 to {MAX_DAYS} (got {other})."
        ))),
    }
}

/// The report for the `days` UTC days ending with `today`.
pub async fn gather(
    pool: &PgPool,
    days: i64,
    command: Option<String>,
    today: NaiveDate,
) -> Result<UsageReport, sqlx::Error> {
    let from = today - TimeDelta::days(days - 1);
    let mut period = usage::period(pool, from, today, command.as_deref()).await?;
    period.commands.truncate(TOP_COMMANDS);
    Ok(UsageReport {
        days: period.days,
        command,
        top: period.commands,
        metric: Metric::default(),
    })
}

/// Draws off the async threads: a chart is tens of milliseconds of CPU.
pub async fn render_chart(report: UsageReport) -> Result<Vec<u8>, Error> {
    Ok(tokio::task::spawn_blocking(move || report.chart()).await??)
}

async fn autocomplete_command<U: HasAdminPanel>(
    ctx: Context<'_, U>,
    partial: &str,
) -> CreateAutocompleteResponse {
    let panel = ctx.data().admin_panel();
    if !developer_autocompletes(ctx).await {
        return CreateAutocompleteResponse::new();
    }
    let since = Utc::now().date_naive() - TimeDelta::days(MAX_DAYS);
    let search: String = partial
        .trim()
        .trim_start_matches('/')
        .chars()
        .take(100)
        .collect();
    let names = match usage::command_names(&panel.pool, since, &search).await {
        Ok(names) => names,
        Err(error) => {
            tracing::warn!(error = %crate::error::cause_chain(&error), "command autocomplete failed");
            Vec::new()
        }
    };
    CreateAutocompleteResponse::new().set_choices(
        names
            .into_iter()
            .map(|name| {
                let label = crate::ui::text::truncate(&format!("/{name}"), 100);
                AutocompleteChoice::new(label, crate::ui::text::truncate(&name, 100))
            })
            .collect(),
    )
}
