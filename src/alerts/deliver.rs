//! Sending one alert: to the alert channel (`/admin alerts channel`) and to
//! `ALERT_WEBHOOK_URL`, with no mention unless `ALERT_MENTION_ROLE` names one
//! role (then that role only). Each send is an `alert_sent` log entry; the
//! webhook's URL and token never reach a log (errors pass through
//! [`crate::redact`], which knows the token).

use serenity::all::{
    ChannelId, CreateAllowedMentions, CreateEmbed, CreateMessage, ExecuteWebhook, RoleId, WebhookId,
};

use super::AlertState;
use crate::discord_guard::TOKEN_REFUSED;
use crate::error::cause_chain;
use crate::redact::redact;
use crate::store::alerts as store;
use crate::store::logs::Severity;
use crate::telemetry::oplog;

/// How one alert went, per destination (`None`: not configured).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The channel it went to, or why it did not.
    pub channel: Option<(u64, Result<(), String>)>,
    /// The webhook's answer, when one is configured.
    pub webhook: Option<Result<(), String>>,
}

impl Delivery {
    /// Arrived somewhere.
    pub fn delivered(&self) -> bool {
        matches!(&self.channel, Some((_, Ok(())))) || matches!(&self.webhook, Some(Ok(())))
    }

    /// For the log and for `/admin alerts test`: one line per destination.
    pub fn describe(&self) -> String {
        let outcome = |result: &Result<(), String>| match result {
            Ok(()) => "delivered".to_owned(),
            Err(error) => format!("failed: {error}"),
        };
        let channel = match &self.channel {
            Some((id, result)) => format!("channel <#{id}>: {}", outcome(result)),
            None => "channel: not set (/admin alerts channel)".to_owned(),
        };
        let webhook = match &self.webhook {
            Some(result) => format!("webhook: {}", outcome(result)),
            None => "webhook: not set (ALERT_WEBHOOK_URL)".to_owned(),
        };
        format!("{channel}\n{webhook}")
    }
}

/// Whether alerts have anywhere to go (a channel set, or a webhook).
pub async fn has_destination(state: &AlertState) -> Result<bool, sqlx::Error> {
    Ok(state.config.webhook.is_some() || store::channel(&state.pool).await?.is_some())
}

/// Mentions nobody, or exactly the configured role.
fn mentions(role: Option<u64>) -> (Option<String>, CreateAllowedMentions) {
    match role {
        Some(role) => (
            Some(format!("<@&{role}>")),
            CreateAllowedMentions::new().roles(vec![RoleId::new(role)]),
        ),
        None => (None, CreateAllowedMentions::new()),
    }
}

fn failure(error: &serenity::Error) -> String {
    redact(&cause_chain(error)).chars().take(300).collect()
}

/// Sends `embed` everywhere alerts go and logs the outcome under `key`.
pub async fn deliver(state: &AlertState, key: &str, embed: CreateEmbed) -> Delivery {
    let (content, allowed) = mentions(state.config.mention_role);
    // While the database does not answer, the channel it last named.
    let configured = match store::channel(&state.pool).await {
        Ok(found) => {
            let channel = found.map(|(_, channel)| channel);
            *state.last_channel.lock().unwrap_or_else(|e| e.into_inner()) = channel;
            Ok(channel)
        }
        Err(error) => match *state.last_channel.lock().unwrap_or_else(|e| e.into_inner()) {
            Some(channel) => Ok(Some(channel)),
            None => Err(error),
        },
    };
    let channel = match configured {
        Ok(Some(_)) if state.guard.is_revoked() => Some((0, Err(TOKEN_REFUSED.to_owned()))),
        Ok(Some(channel)) => {
            let mut message = CreateMessage::new()
                .embed(embed.clone())
                .allowed_mentions(allowed.clone());
            if let Some(content) = &content {
                message = message.content(content);
            }
            let sent = ChannelId::new(channel)
                .send_message(&state.http, message)
                .await;
            state.guard.observe(&sent);
            Some((channel, sent.map(|_| ()).map_err(|e| failure(&e))))
        }
        Ok(None) => None,
        Err(error) => Some((0, Err(format!("reading the alert channel: {error}")))),
    };
    let webhook = match &state.config.webhook {
        Some(webhook) => {
            let mut body = ExecuteWebhook::new().embed(embed).allowed_mentions(allowed);
            if let Some(content) = content {
                body = body.content(content);
            }
            let token = webhook.token();
            let executed = state
                .http
                .execute_webhook(
                    WebhookId::new(webhook.id),
                    None,
                    token.expose(),
                    true,
                    Vec::new(),
                    &body,
                )
                .await;
            Some(executed.map(|_| ()).map_err(|e| failure(&e)))
        }
        None => None,
    };
    let delivery = Delivery { channel, webhook };
    // A failed alert is a warning, not an error: an error entry would feed
    // the error-burst alert, which could not be delivered either.
    let (severity, event_type) = if delivery.delivered() {
        (Severity::Info, "alert_sent")
    } else {
        (Severity::Warning, "alert_failed")
    };
    let message = redact(&format!(
        "alert {key}: {}",
        delivery.describe().replace('\n', "; ")
    ))
    .into_owned();
    oplog::write_entry_or_warn(&state.pool, severity, event_type, None, &message).await;
    delivery
}
