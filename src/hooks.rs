//! poise hooks that a host bot installs (or takes from [`crate::framework_options`]):
//! command recording for every command, and error replies that never leak
//! internals.

use std::time::Instant;

use chrono::{DateTime, Utc};
use poise::{CreateReply, FrameworkError};

use crate::access::REFUSAL;
use crate::error::{Error, UserError, cause_chain, internal_error_message, new_error_id};
use crate::panel::HasAdminPanel;
use crate::store::command_stats::CommandEvent;
use crate::store::logs::Severity;
use crate::telemetry::oplog;

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
    record(ctx, true).await;
}

/// Pushes the invocation into the recorder (non-blocking).
async fn record<U: HasAdminPanel>(ctx: Context<'_, U>, success: bool) {
    let (executed_at, duration_ms) = match ctx.invocation_data::<InvocationStart>().await {
        Some(start) => (
            start.wall,
            u32::try_from(start.monotonic.elapsed().as_millis()).unwrap_or(u32::MAX),
        ),
        // A failed check stops the invocation before pre_command runs.
        None => (Utc::now(), 0),
    };
    ctx.data().admin_panel().recorder.record(CommandEvent {
        command: ctx.command().qualified_name.to_string(),
        guild_id: ctx.guild_id().map(|id| id.get()),
        user_id: ctx.author().id.get(),
        executed_at,
        success,
        duration_ms,
    });
}

/// The `on_error` handler: user errors verbatim, the developer refusal for
/// `/admin`, internal errors as a short message with an id (cause chain logged).
pub async fn on_error<U: HasAdminPanel>(error: FrameworkError<'_, U, Error>) {
    match error {
        FrameworkError::Command { error, ctx, .. } => {
            record(ctx, false).await;
            match error.downcast_ref::<UserError>() {
                Some(user_error) => reply_ephemeral(ctx, user_error.to_string()).await,
                None => report_internal(ctx, error.as_ref()).await,
            }
        }
        FrameworkError::CommandCheckFailed { error, ctx, .. } => {
            record(ctx, false).await;
            match error {
                None => reply_ephemeral(ctx, REFUSAL.to_owned()).await,
                // A check may explain itself (e.g. a missing permission).
                Some(error) => match error.downcast_ref::<UserError>() {
                    Some(user_error) => reply_ephemeral(ctx, user_error.to_string()).await,
                    None => report_internal(ctx, error.as_ref()).await,
                },
            }
        }
        FrameworkError::ArgumentParse {
            error, input, ctx, ..
        } => {
            record(ctx, false).await;
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
            record(ctx, false).await;
            tracing::warn!(command = %ctx.command().qualified_name, description, "option values did not match the command");
            let message = format!("That value is not valid: {description}. Nothing was changed.");
            reply_ephemeral(ctx, message).await;
        }
        FrameworkError::CommandPanic { payload, ctx, .. } => {
            record(ctx, false).await;
            let panic = std::io::Error::other(payload.unwrap_or_else(|| "panic".into()));
            report_internal(ctx, &panic).await;
        }
        other => {
            if let Err(error) = poise::builtins::on_error(other).await {
                tracing::error!(error = %cause_chain(&error), "failed to handle a framework error");
            }
        }
    }
}

/// Logs the cause chain under a fresh error id and shows the user only the id.
async fn report_internal<U: HasAdminPanel>(
    ctx: Context<'_, U>,
    error: &(dyn std::error::Error + Send + Sync + 'static),
) {
    let error_id = new_error_id();
    let command = ctx.command().qualified_name.to_string();
    let chain = cause_chain(error);
    let panel = ctx.data().admin_panel();
    let message = format!("/{command} failed (error id {error_id}): {chain}");
    let guild_id = ctx.guild_id().map(|id| id.get());
    oplog::record_best_effort(
        &panel.pool,
        Severity::Error,
        "command_error",
        guild_id,
        &message,
    )
    .await;
    reply_ephemeral(ctx, internal_error_message(&error_id)).await;
}

async fn reply_ephemeral<U: HasAdminPanel>(ctx: Context<'_, U>, content: String) {
    let reply = CreateReply::default().content(content).ephemeral(true);
    if let Err(error) = ctx.send(reply).await {
        tracing::warn!(error = %cause_chain(&error), "could not send an error reply");
    }
}
