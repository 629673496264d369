//! `/admin broadcast report id:<n>`: one broadcast's delivery report, with
//! "Retry failed" (re-queues only the failed deliveries, same nonces) and
//! "Download CSV" (every delivery row).

use serenity::all::{CreateAttachment, CreateEmbed, CreateInteractionResponseMessage};
use sqlx::PgPool;

use super::super::Context;
use super::super::pager::{self, BoxFuture, Page, PageSource};
use crate::error::{Error, UserError};
use crate::panel::HasAdminPanel;
use crate::store::broadcasts;
use crate::ui::broadcast::{deliveries_csv, report as render_report};
use crate::ui::pager::{ActionButton, Control};

const RETRY: &str = "retry";
const DOWNLOAD: &str = "csv";

/// The delivery report of one broadcast.
#[poise::command(slash_command, ephemeral)]
pub async fn report<U: HasAdminPanel>(
    ctx: Context<'_, U>,
    #[description = "Broadcast number (see /admin broadcast history)"]
    #[min = 1]
    id: i64,
) -> Result<(), Error> {
    let pool = ctx.data().admin_panel().pool.clone();
    // Fails early, with the clear message, for an unknown id.
    let _ = report_embed(&pool, id).await?;
    pager::run(ctx, Report { pool, id }).await
}

/// The report embed, or a clear error for an unknown broadcast.
pub async fn report_embed(pool: &PgPool, id: i64) -> Result<CreateEmbed, Error> {
    let Some(broadcast) = broadcasts::get(pool, id).await? else {
        return Err(UserError::new(format!("There is no broadcast #{id}.")).into());
    };
    let (counts, failures, skipped) = tokio::try_join!(
        broadcasts::counts(pool, id),
        broadcasts::failures(pool, id),
        broadcasts::skipped(pool, id),
    )?;
    Ok(render_report(&broadcast, &counts, &failures, &skipped))
}

/// A one-page "list" whose actions are the report's buttons.
struct Report {
    pool: PgPool,
    id: i64,
}

impl PageSource for Report {
    fn turn(&mut self, _control: Control) -> BoxFuture<'_, Result<Page, Error>> {
        Box::pin(async move {
            Ok(Page {
                embed: report_embed(&self.pool, self.id).await?,
                items: Vec::new(),
                index: 0,
                count: 1,
            })
        })
    }

    fn open(&self, _value: String) -> BoxFuture<'_, Result<CreateEmbed, Error>> {
        Box::pin(async move { Err(UserError::new("Nothing to open here.").into()) })
    }

    fn actions(&self) -> Vec<ActionButton> {
        vec![
            ActionButton {
                key: RETRY,
                label: "Retry failed".to_owned(),
            },
            ActionButton {
                key: DOWNLOAD,
                label: "Download CSV".to_owned(),
            },
        ]
    }

    fn act(&self, key: String) -> BoxFuture<'_, Result<CreateInteractionResponseMessage, Error>> {
        Box::pin(async move {
            match key.as_str() {
                RETRY => {
                    let requeued = broadcasts::retry_failed(&self.pool, self.id).await?;
                    let text = if requeued == 0 {
                        format!("Broadcast #{} has no failed deliveries to retry.", self.id)
                    } else {
                        format!(
                            "Re-queued {requeued} failed deliveries of broadcast #{} (same nonces, so nothing is posted twice).",
                            self.id
                        )
                    };
                    Ok(CreateInteractionResponseMessage::new().content(text))
                }
                DOWNLOAD => {
                    let rows = broadcasts::deliveries(&self.pool, self.id).await?;
                    let csv = deliveries_csv(&rows)?;
                    Ok(CreateInteractionResponseMessage::new()
                        .content(format!(
                            "{} delivery rows of broadcast #{}.",
                            rows.len(),
                            self.id
                        ))
                        .add_file(CreateAttachment::bytes(
                            csv,
                            format!("broadcast-{}.csv", self.id),
                        )))
                }
                _ => Err(UserError::new("Unknown action.").into()),
            }
        })
    }
}
