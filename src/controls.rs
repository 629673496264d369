//! Drawing and answering the panel's controls without memory of the process
//! that drew them: ids are minted here (signed, with their owner and expiry),
//! and the answers every control shares (expired, refused) are sent here.

use chrono::Utc;
use serenity::all::{
    ComponentInteraction, CreateInteractionResponse, CreateInteractionResponseFollowup,
    CreateInteractionResponseMessage, EditInteractionResponse, Http,
};
use std::sync::Arc;
use std::time::Duration;

use crate::panel::AdminPanel;
use crate::ui::custom_id::{ControlId, View};
use crate::ui::pager::disabled_copy;

/// Mints the custom ids of one view drawn for one user.
#[derive(Debug, Clone)]
pub struct Controls<'a> {
    panel: &'a AdminPanel,
    /// The view these controls act on.
    pub view: View,
    /// The only user who may press them.
    pub owner: u64,
    /// When they stop working (Unix seconds).
    pub expires_at: i64,
}

impl<'a> Controls<'a> {
    /// Controls of `view` for `owner`, valid for `lifetime` from now.
    pub fn new(panel: &'a AdminPanel, view: View, owner: u64, lifetime: Duration) -> Self {
        let lifetime = chrono::TimeDelta::from_std(lifetime).unwrap_or(chrono::TimeDelta::MAX);
        Self {
            panel,
            view,
            owner,
            expires_at: (Utc::now() + lifetime).timestamp(),
        }
    }

    /// Controls that expire with the ones of `control` (a redraw after a
    /// press keeps the expiry of the view it belongs to).
    pub fn continuing(panel: &'a AdminPanel, control: &ControlId) -> Self {
        Self {
            panel,
            view: control.view,
            owner: control.owner,
            expires_at: control.expires_at,
        }
    }

    /// A signed custom id for `action` with `args`, at most 100 characters.
    pub fn id(&self, action: char, args: &[u64]) -> String {
        self.panel.control_key.sign(&ControlId {
            view: self.view,
            action,
            owner: self.owner,
            expires_at: self.expires_at,
            args: args.to_vec(),
        })
    }

    /// How long until these controls expire.
    pub fn remaining(&self) -> Duration {
        let seconds = (self.expires_at - Utc::now().timestamp()).max(0);
        Duration::from_secs(seconds as u64)
    }
}

/// Whether a control has expired.
pub fn expired(control: &ControlId) -> bool {
    Utc::now().timestamp() >= control.expires_at
}

/// The answer to a press on expired controls: the message keeps what it
/// shows with every button disabled, and the presser is told what to do.
pub async fn answer_expired(
    http: &Http,
    press: &ComponentInteraction,
    view: View,
) -> Result<(), serenity::Error> {
    let update = CreateInteractionResponseMessage::new()
        .components(disabled_copy(&press.message.components));
    press
        .create_response(http, CreateInteractionResponse::UpdateMessage(update))
        .await?;
    let notice = CreateInteractionResponseFollowup::new()
        .content(expired_text(view))
        .ephemeral(true);
    press.create_followup(http, notice).await?;
    Ok(())
}

/// What a press on expired controls is told.
pub fn expired_text(view: View) -> String {
    format!("These controls expired; run {} again.", view.command())
}

/// Sends `reply` as an ephemeral answer to a slash command and disables its
/// controls once `controls` expire (best effort, see [`disable_when_expired`]).
pub async fn send_expiring<U: Send + Sync + 'static>(
    ctx: poise::Context<'_, U, crate::error::Error>,
    reply: poise::CreateReply,
    controls: &Controls<'_>,
) -> Result<(), crate::error::Error> {
    ctx.send(reply.ephemeral(true)).await?;
    if let poise::Context::Application(app) = ctx {
        disable_when_expired(
            ctx.serenity_context().http.clone(),
            app.interaction.token.clone(),
            controls.remaining(),
        );
    }
    Ok(())
}

/// Disables the controls of an interaction's reply once they expire, if this
/// process still runs then. Best effort: the expiry in each custom id is
/// what refuses a late press; this only makes the message say so in time.
pub fn disable_when_expired(http: Arc<Http>, token: String, after: Duration) {
    tokio::spawn(async move {
        tokio::time::sleep(after).await;
        let Ok(message) = http.get_original_interaction_response(&token).await else {
            return;
        };
        let edit = EditInteractionResponse::new().components(disabled_copy(&message.components));
        if let Err(error) = http
            .edit_original_interaction_response(&token, &edit, vec![])
            .await
        {
            tracing::debug!(error = %crate::error::cause_chain(&error), "could not disable expired controls");
        }
    });
}
