//! poise hooks that a host bot installs (or takes from [`crate::framework_options`]):
//! command recording for every command (outcome, time to the first response
//! and to completion), and error replies that never leak internals.
//!
//! Timing starts in [`command_check`], the first hook poise runs for an
//! invocation (before the commands' own checks, so refused invocations are
//! timed too). The first response is noted by [`reply_callback`], which poise
//! calls for every `ctx.send`/`ctx.say`, and by [`defer`]; a command that
//! answers some other way is counted as first answering when it completes.

use std::sync::OnceLock;
use std::sync::atomic::Ordering;
use std::time::Instant;

use chrono::{DateTime, Utc};
use poise::{CreateReply, FrameworkError};

use crate::access::{self, REFUSAL};
use crate::error::{Error, UserError, cause_chain};
use crate::panel::HasAdminPanel;
use crate::reply;
use crate::store::command_stats::{CommandEvent, Outcome};

type Context<'a, U> = poise::Context<'a, U, Error>;

/// When the invocation arrived and when it first answered, kept in poise's
/// per-invocation data.
struct InvocationStart {
    wall: DateTime<Utc>,
    monotonic: Instant,
    first_response: OnceLock<Instant>,
}

/// Milliseconds from `start` to `end`, saturating.
pub fn millis_between(start: Instant, end: Instant) -> u32 {
    u32::try_from(end.saturating_duration_since(start).as_millis()).unwrap_or(u32::MAX)
}

/// The framework-wide check (poise's `command_check`): starts the
/// invocation's clock, then, on every command of the bot (the host's own
/// too), refuses a user on the blocklist and answers a command under
/// maintenance with its message instead of running it. A host bot with a
/// `command_check` of its own calls this first.
pub async fn command_check<U: HasAdminPanel>(ctx: Context<'_, U>) -> Result<bool, Error> {
    start_clock(ctx).await;
    let panel = ctx.data().admin_panel();
    if access::is_blocked_user(panel, ctx.author().id) {
        return Err(UserError::new(access::NOT_AVAILABLE).into());
    }
    let command = ctx.command();
    let root = ctx
        .parent_commands()
        .first()
        .map_or(&command.name, |root| &root.name);
    if let Some(message) = panel.maintenance.message_for(root, &command.qualified_name) {
        return Err(UserError::new(message).into());
    }
    Ok(true)
}

/// Runs after checks pass, just before the command body; starts the clock if
/// [`command_check`] is not installed.
pub async fn pre_command<U: HasAdminPanel>(ctx: Context<'_, U>) {
    start_clock(ctx).await;
}

async fn start_clock<U>(ctx: Context<'_, U>) {
    if ctx.invocation_data::<InvocationStart>().await.is_none() {
        ctx.set_invocation_data(InvocationStart {
            wall: Utc::now(),
            monotonic: Instant::now(),
            first_response: OnceLock::new(),
        })
        .await;
    }
}

/// poise's `reply_callback`: notes the first response of the invocation
/// (the moment it is handed to Discord) and leaves the reply as it is.
pub fn reply_callback<U>(ctx: Context<'_, U>, reply: CreateReply) -> CreateReply {
    note_first_response(ctx);
    reply
}

/// Defers the response (ephemeral or not), noted as the first response. Use
/// it instead of `ctx.defer()` so the latency figures see the deferral.
pub async fn defer<U>(ctx: Context<'_, U>, ephemeral: bool) -> Result<(), serenity::Error> {
    note_first_response(ctx);
    match ctx {
        poise::Context::Application(app) => app.defer_response(ephemeral).await,
        poise::Context::Prefix(_) => ctx.defer().await,
    }
}

fn note_first_response<U>(ctx: Context<'_, U>) {
    let (answered, data) = match ctx {
        poise::Context::Application(app) => (
            app.has_sent_initial_response.load(Ordering::SeqCst),
            app.invocation_data,
        ),
        poise::Context::Prefix(prefix) => (false, prefix.invocation_data),
    };
    if answered {
        return;
    }
    // The data is only ever locked for an instant; a miss costs one figure.
    if let Ok(data) = data.try_lock()
        && let Some(start) = data.downcast_ref::<InvocationStart>()
    {
        start.first_response.get_or_init(Instant::now);
    }
}

/// poise calls this only when the command returned `Ok`.
pub async fn post_command<U: HasAdminPanel>(ctx: Context<'_, U>) {
    record_invocation(ctx, Outcome::Ok).await;
}

/// Pushes the invocation into the command recorder (non-blocking).
async fn record_invocation<U: HasAdminPanel>(ctx: Context<'_, U>, outcome: Outcome) {
    let now = Instant::now();
    let (executed_at, first_response_ms, duration_ms) =
        match ctx.invocation_data::<InvocationStart>().await {
            Some(start) => {
                let duration = millis_between(start.monotonic, now);
                let first = start
                    .first_response
                    .get()
                    .map_or(duration, |&at| millis_between(start.monotonic, at));
                (start.wall, first, duration)
            }
            // A host check that refused before ours started the clock.
            None => (Utc::now(), 0, 0),
        };
    ctx.data().admin_panel().recorder.enqueue(CommandEvent {
        command: ctx.command().qualified_name.to_string(),
        guild_id: ctx.guild_id().map(|id| id.get()),
        user_id: ctx.author().id.get(),
        executed_at,
        outcome,
        first_response_ms,
        duration_ms,
    });
}

/// How a failed command ended: the user's to fix, or ours.
fn outcome_of(error: &(dyn std::error::Error + Send + Sync + 'static)) -> Outcome {
    if error.downcast_ref::<UserError>().is_some() {
        Outcome::UserError
    } else {
        Outcome::InternalError
    }
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
            answer(ctx, error.as_ref()).await;
            record_invocation(ctx, outcome_of(error.as_ref())).await;
        }
        FrameworkError::CommandCheckFailed { error, ctx, .. } => match error {
            None => {
                reply_ephemeral(ctx, REFUSAL.to_owned()).await;
                record_invocation(ctx, Outcome::Refused).await;
            }
            // A check may explain itself (e.g. a missing permission); one
            // that failed to decide (the database) is an error of ours.
            Some(error) => {
                answer(ctx, error.as_ref()).await;
                let outcome = match outcome_of(error.as_ref()) {
                    Outcome::UserError => Outcome::Refused,
                    other => other,
                };
                record_invocation(ctx, outcome).await;
            }
        },
        FrameworkError::ArgumentParse {
            error, input, ctx, ..
        } => {
            let message = match input {
                Some(input) => format!("That value is not valid ({input:?}): {error}"),
                None => format!("An option is not valid: {error}"),
            };
            reply_ephemeral(ctx, message).await;
            record_invocation(ctx, Outcome::UserError).await;
        }
        // An option value the registration never offered (a forged or stale
        // interaction, e.g. a choice out of range): refuse it, change nothing.
        FrameworkError::CommandStructureMismatch {
            description, ctx, ..
        } => {
            let ctx = poise::Context::Application(ctx);
            tracing::warn!(command = %ctx.command().qualified_name, description, "option values did not match the command");
            let message = format!("That value is not valid: {description}. Nothing was changed.");
            reply_ephemeral(ctx, message).await;
            record_invocation(ctx, Outcome::UserError).await;
        }
        FrameworkError::CommandPanic { payload, ctx, .. } => {
            let panic = std::io::Error::other(payload.unwrap_or_else(|| "panic".into()));
            answer(ctx, &panic).await;
            record_invocation(ctx, Outcome::InternalError).await;
        }
        other => {
            // Permissions, cooldowns, guild-only and the like: refusals.
            if let Some(ctx) = other.ctx() {
                record_invocation(ctx, Outcome::Refused).await;
            }
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
