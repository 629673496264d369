//! `/admin broadcast report id:<n>`: one broadcast's delivery report, with
//! "Retry failed" (re-queues only the failed deliveries, same nonces) and
//! "Download CSV" (every delivery row).

use serenity::all::{CreateAttachment, CreateEmbed, CreateInteractionResponseMessage};
use sqlx::PgPool;

use super::super::Context;
use super::super::pager::{self, ListView, Page, PageAt};
use crate::error::{Error, UserError};
use crate::panel::{AdminPanel, HasAdminPanel};
use crate::store::broadcasts::{self, BroadcastStatus};
use crate::ui::broadcast::{deliveries_csv, report as render_report};
use crate::ui::custom_id::View;

const RETRY: char = 'R';
const DOWNLOAD: char = 'C';

/// The delivery report of one broadcast.
#[poise::command(slash_command, ephemeral)]
pub async fn report<U: HasAdminPanel>(
    ctx: Context<'_, U>,
    #[description = "Broadcast number (see /admin broadcast history)"]
    #[min = 1]
    id: i64,
) -> Result<(), Error> {
    pager::show::<Report, U>(ctx, id).await
}

/// The report embed, or a clear error for an unknown broadcast.
pub async fn report_embed(pool: &PgPool, id: i64) -> Result<CreateEmbed, Error> {
    let Some(broadcast) = broadcasts::get(pool, id).await? else {
        return Err(UserError::new(format!("There is no broadcast #{id}.")).into());
    };
    let (counts, failures, skipped, publishing, followups) = tokio::try_join!(
        broadcasts::counts(pool, id),
        broadcasts::failures(pool, id),
        broadcasts::skipped(pool, id),
        broadcasts::publishing(pool, id),
        broadcasts::followup_reports(pool, id),
    )?;
    Ok(render_report(
        &broadcast,
        &counts,
        &failures,
        &skipped,
        &publishing,
        &followups,
    ))
}

/// A one-page "list" whose actions are the report's buttons; its argument is
/// the broadcast id.
pub struct Report;

impl ListView for Report {
    const VIEW: View = View::BroadcastReport;
    type Args = i64;

    async fn page(panel: &AdminPanel, id: &i64, _at: PageAt) -> Result<Page, Error> {
        Ok(Page {
            embed: report_embed(&panel.pool, *id).await?,
            items: Vec::new(),
            index: 0,
            count: 1,
            first_key: 0,
            last_key: 0,
        })
    }

    async fn open(
        _panel: &AdminPanel,
        _id: &i64,
        _value: &str,
        _owner: u64,
    ) -> Result<CreateInteractionResponseMessage, Error> {
        Err(UserError::new("Nothing to open here.").into())
    }

    fn actions(_id: &i64) -> Vec<(char, &'static str)> {
        vec![(RETRY, "Retry failed"), (DOWNLOAD, "Download CSV")]
    }

    async fn act(
        panel: &AdminPanel,
        id: &i64,
        key: char,
    ) -> Result<CreateInteractionResponseMessage, Error> {
        let id = *id;
        match key {
            RETRY => retry_failed(panel, id).await,
            DOWNLOAD => {
                let rows = broadcasts::deliveries(&panel.pool, id).await?;
                let csv = deliveries_csv(&rows)?;
                Ok(CreateInteractionResponseMessage::new()
                    .content(format!("{} delivery rows of broadcast #{id}.", rows.len()))
                    .add_file(CreateAttachment::bytes(csv, format!("broadcast-{id}.csv"))))
            }
            _ => Err(UserError::new("Unknown action.").into()),
        }
    }
}

/// Re-queues the failed deliveries, unless the broadcast was cancelled: a
/// cancelled broadcast stays cancelled.
async fn retry_failed(
    panel: &AdminPanel,
    id: i64,
) -> Result<CreateInteractionResponseMessage, Error> {
    let Some(broadcast) = broadcasts::get(&panel.pool, id).await? else {
        return Err(UserError::new(format!("There is no broadcast #{id}.")).into());
    };
    if broadcast.recalled_at.is_some() {
        return Err(UserError::new(format!(
            "Broadcast #{id} was recalled: its failed deliveries are not retried."
        ))
        .into());
    }
    if broadcast.status == BroadcastStatus::Cancelled {
        return Err(UserError::new(format!(
            "Broadcast #{id} was cancelled: its failed deliveries are not retried. Compose a new broadcast to send it again."
        ))
        .into());
    }
    let requeued = broadcasts::retry_failed(&panel.pool, id).await?;
    let text = if requeued == 0 {
        format!("Broadcast #{id} has no failed deliveries to retry.")
    } else {
        format!(
            "Re-queued {requeued} failed deliveries of broadcast #{id} (same nonces, so nothing is posted twice)."
        )
    };
    Ok(CreateInteractionResponseMessage::new().content(text))
}
