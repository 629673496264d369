//! What every request the delivery worker makes needs: the database, the
//! HTTP client, who holds a claim, the pace, and the token guard. A leaf of
//! its own so the worker's parts (deliveries, follow-ups, publishing) share
//! it without depending on one another.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serenity::all::Http;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::pacing::Pacer;
use crate::discord_guard::DiscordGuard;
use crate::discord_guard::invalid_requests::Reservation;
use crate::ui::broadcast::invalid_request_pause;

/// Shared by the worker and the parts it runs; cheap to clone (clones share
/// the 429 pause).
#[derive(Clone)]
pub(super) struct WorkerContext {
    pub(super) pool: PgPool,
    pub(super) http: Arc<Http>,
    /// This process's `bot_instances` id (who holds a claim).
    pub(super) instance_id: i64,
    /// `BROADCAST_RATE` across processes and the pause after a 429.
    pub(super) pacer: Pacer,
    /// What Discord's answers say of the whole bot: once the bot token is
    /// refused, nothing more is sent.
    pub(super) guard: Arc<DiscordGuard>,
}

/// What a run's progress message says while Discord does not answer.
pub const DISCORD_NOT_ANSWERING: &str = "Discord is not answering; retrying";

/// Room to claim up to `per_process` rows now, asked for before each batch
/// of a run. While Discord is down as a whole, one row at a time at the
/// pacer's probing pace (about one a second, backing off); while the
/// invalid-request window is near its budget, none until it has room (see
/// [`room_for`]). `note(Some(reason))` tells the run's progress message why
/// it holds back, `note(None)` that it goes again; `outage_noted` remembers
/// across batches whether the run has said Discord is not answering. `None`
/// when `shutdown` fires, or the token is refused, while it waits.
pub(super) async fn room_to_claim<Note, Noted>(
    ctx: &WorkerContext,
    per_process: u32,
    shutdown: &CancellationToken,
    outage_noted: &AtomicBool,
    note: Note,
) -> Option<Reservation>
where
    Note: Fn(Option<String>) -> Noted,
    Noted: Future<Output = ()>,
{
    let probing = tokio::select! {
        probing = ctx.pacer.probe_turn() => probing,
        () = shutdown.cancelled() => return None,
        () = ctx.guard.revoked().cancelled() => return None,
    };
    if probing != outage_noted.swap(probing, Ordering::Relaxed) {
        note(probing.then(|| DISCORD_NOT_ANSWERING.to_owned())).await;
    }
    room_for(ctx, if probing { 1 } else { per_process }, shutdown, &note).await
}

/// Room for up to `wanted` requests in the process's invalid-request window
/// (`INVALID_REQUEST_BUDGET`), asked for before a batch is claimed. While
/// there is none, `note(Some(reason))` runs once and the run waits until
/// refusals age out of the window; `note(None)` runs once it goes again.
/// `None` when `shutdown` fires, or the token is refused, while it waits.
async fn room_for<Note, Noted>(
    ctx: &WorkerContext,
    wanted: u32,
    shutdown: &CancellationToken,
    note: &Note,
) -> Option<Reservation>
where
    Note: Fn(Option<String>) -> Noted,
    Noted: Future<Output = ()>,
{
    let window = ctx.guard.invalid_requests();
    if let Some(room) = window.try_reserve(wanted) {
        return Some(room);
    }
    let refused = window.paused().unwrap_or_else(|| window.in_window());
    tracing::warn!(
        refused,
        budget = window.budget(),
        "broadcast deliveries paused: Discord refused {refused} requests in the last 10 minutes (INVALID_REQUEST_BUDGET {})",
        window.budget()
    );
    note(Some(invalid_request_pause(refused))).await;
    let room = tokio::select! {
        room = window.reserve(wanted) => Some(room),
        () = shutdown.cancelled() => None,
        () = ctx.guard.revoked().cancelled() => None,
    };
    note(None).await;
    if room.is_some() {
        tracing::info!("broadcast deliveries resume: the invalid-request window has room again");
    }
    room
}
