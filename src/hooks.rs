//! poise hooks that a host bot installs (or takes from [`crate::framework_options`]):
//! command recording for every command, and error replies that never leak
//! internals.

use std::time::Instant;

use chrono::{DateTime, Utc};
use poise::{CreateReply, FrameworkError};

use crate::access::REFUSAL;
use crate::error::{Error, cause_chain};
use crate::panel::HasAdminPanel;
use crate::reply;
use crate::store::command_stats::CommandEvent;

type Context<'a, U> = poise::Context<'a, U, Error>;

/// When the invocation started, kept in poise's per-invocation data.
struct InvocationStart {
    wall: DateTime<Utc>,
    monotonic: Instant,
}

/// Runs after checks pass, just before the command body.
pub async fn pre_command<U: HasAdminPanel>(ctx: Context<'_, U>) {
    ctx.set_invocation_data(InvocationStart {
        wall: Utc::now(),
        monotonic: Instant::now(),
    })
    .await;
}

/// poise calls this only when the command returned `Ok`.
pub async fn post_command<U: HasAdminPanel>(ctx: Context<'_, U>) {
    record_invocation(ctx, true).await;
}

/// Pushes the invocation into the command recorder (non-blocking).
async fn record_invocation<U: HasAdminPanel>(ctx: Context<'_, U>, success: bool) {
    let (executed_at, duration_ms) = match ctx.invocation_data::<InvocationStart>().await {
        Some(start) => (
            start.wall,
            u32::try_from(start.monotonic.elapsed().as_millis()).unwrap_or(u32::MAX),
        ),
        // A failed check stops the invocation before pre_command runs.
        None => (Utc::now(), 0),
    };
    ctx.data().admin_panel().recorder.enqueue(CommandEvent {
        command: ctx.command().qualified_name.to_string(),
        guild_id: ctx.guild_id().map(|id| id.get()),
        user_id: ctx.author().id.get(),
        executed_at,
        success,
        duration_ms,
    });
}

/// The `on_error` handler: the developer refusal for `/admin`, a clear
/// message for option values the registration never offered, and everything
/// else through the one failure path ([`reply::answer_failure`]).
pub async fn on_error<U: HasAdminPanel>(error: FrameworkError<'_, U, Error>) {
    // poise runs the checks for autocomplete too. A refused autocomplete is
    // no command: nothing is recorded, and Discord accepts only choices
    // there, so nothing is sent either.
    if let Some(ctx) = error.ctx()
        && is_autocomplete(ctx)
    {
        tracing::debug!(command = %ctx.command().qualified_name, "autocomplete refused");
        return;
    }
    match error {
        FrameworkError::Command { error, ctx, .. } => {
            record_invocation(ctx, false).await;
            answer(ctx, error.as_ref()).await;
        }
        FrameworkError::CommandCheckFailed { error, ctx, .. } => {
            record_invocation(ctx, false).await;
            match error {
                None => reply_ephemeral(ctx, REFUSAL.to_owned()).await,
                // A check may explain itself (e.g. a missing permission).
                Some(error) => answer(ctx, error.as_ref()).await,
            }
        }
        FrameworkError::ArgumentParse {
            error, input, ctx, ..
        } => {
            record_invocation(ctx, false).await;
            let message = match input {
                Some(input) => format!("That value is not valid ({input:?}): {error}"),
                None => format!("An option is not valid: {error}"),
            };
            reply_ephemeral(ctx, message).await;
        }
        // An option value the registration never offered (a forged or stale
        // interaction, e.g. a choice out of range): refuse it, change nothing.
        FrameworkError::CommandStructureMismatch {
            description, ctx, ..
        } => {
            let ctx = poise::Context::Application(ctx);
            record_invocation(ctx, false).await;
            tracing::warn!(command = %ctx.command().qualified_name, description, "option values did not match the command");
            let message = format!("That value is not valid: {description}. Nothing was changed.");
            reply_ephemeral(ctx, message).await;
        }
        FrameworkError::CommandPanic { payload, ctx, .. } => {
            record_invocation(ctx, false).await;
            let panic = std::io::Error::other(payload.unwrap_or_else(|| "panic".into()));
            answer(ctx, &panic).await;
        }
        other => {
            if let Err(error) = poise::builtins::on_error(other).await {
                tracing::error!(error = %cause_chain(&error), "failed to handle a framework error");
            }
        }
    }
}

fn is_autocomplete<U>(ctx: Context<'_, U>) -> bool {
    matches!(
        ctx,
        poise::Context::Application(app)
            if app.interaction_type == poise::CommandInteractionType::Autocomplete
    )
}

/// A failed command's answer: replied first, logged second.
async fn answer<U: HasAdminPanel>(
    ctx: Context<'_, U>,
    error: &(dyn std::error::Error + Send + Sync + 'static),
) {
    let what = format!("/{}", ctx.command().qualified_name);
    let guild_id = ctx.guild_id().map(|id| id.get());
    reply::answer_failure(
        ctx.data().admin_panel(),
        error,
        &what,
        guild_id,
        |text| async move {
            let reply = CreateReply::default().content(text).ephemeral(true);
            ctx.send(reply).await.map(|_| ())
        },
    )
    .await;
}

async fn reply_ephemeral<U: HasAdminPanel>(ctx: Context<'_, U>, content: String) {
    let reply = CreateReply::default().content(content).ephemeral(true);
    if let Err(error) = ctx.send(reply).await {
        tracing::warn!(error = %cause_chain(&error), "could not send an error reply");
    }
}
