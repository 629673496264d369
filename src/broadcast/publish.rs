//! Publishing a delivered broadcast to the servers that follow an
//! announcement channel (crossposting), for servers that opted in with
//! `/settings broadcast-publish on`. Discord allows about 10 publishes an
//! hour per channel: a refused publish never fails the delivery (the message
//! is in the server's channel); it is recorded with the reason, and not
//! retried, since the limit lasts up to an hour.

use std::time::Duration;

use serenity::all::{ChannelId, HttpError, MessageId};

use super::context::WorkerContext;
use super::pacing::DirectLimiter;
use crate::discord_guard::RouteGroup;
use crate::error::cause_chain;
use crate::store::broadcasts::{self, Claimed};

const PUBLISH_TIMEOUT: Duration = Duration::from_secs(15);
/// Discord's code for a message that was already published (a publish
/// retried after a crash).
const ALREADY_PUBLISHED: isize = 40033;

/// Publishes `message` of `delivery` (one more request under the same
/// governor as the sends) and records the outcome.
pub(super) async fn publish(
    ctx: &WorkerContext,
    id: i64,
    delivery: &Claimed,
    message: u64,
    limiter: &DirectLimiter,
) {
    ctx.pacer.wait_out_pause().await;
    limiter.until_ready().await;
    let request = ctx
        .http
        .crosspost_message(ChannelId::new(delivery.channel_id), MessageId::new(message));
    if ctx.guard.is_revoked() {
        return;
    }
    let refused = match tokio::time::timeout(PUBLISH_TIMEOUT, request).await {
        Ok(Ok(_)) => {
            ctx.guard.observe_success(RouteGroup::Messages);
            None
        }
        Ok(Err(error)) if ctx.guard.observe_error(&error) => return,
        Ok(Err(error)) => refusal(&error),
        Err(_) => {
            ctx.guard.observe_timeout(RouteGroup::Messages);
            Some("timed out".to_owned())
        }
    };
    if let Err(error) =
        broadcasts::record_publish(&ctx.pool, id, delivery.guild_id, refused.as_deref()).await
    {
        tracing::warn!(error = %cause_chain(&error), broadcast = id, guild = delivery.guild_id, "could not record a publish");
    }
}

/// Why Discord did not publish, in words for the report; `None` when it had
/// been published already.
fn refusal(error: &serenity::Error) -> Option<String> {
    match error {
        serenity::Error::Http(HttpError::UnsuccessfulRequest(response)) => {
            let status = response.status_code.as_u16();
            if response.error.code == ALREADY_PUBLISHED {
                None
            } else if status == 429 {
                Some("rate limited by Discord (about 10 publishes an hour per channel)".to_owned())
            } else if response.error.message.is_empty() {
                Some(format!("HTTP {status}"))
            } else {
                Some(format!(
                    "{} {}",
                    response.error.code, response.error.message
                ))
            }
        }
        other => Some(crate::ui::text::truncate(&other.to_string(), 200)),
    }
}
