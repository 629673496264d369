//! What every request the delivery worker makes needs: the database, the
//! HTTP client, who holds a claim, the pace, and the token guard. A leaf of
//! its own so the worker's parts (deliveries, follow-ups, publishing) share
//! it without depending on one another.

use std::future::Future;
use std::sync::Arc;

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

/// Room for up to `wanted` requests in the process's invalid-request window
/// (`INVALID_REQUEST_BUDGET`), asked for before a batch is claimed. While
/// there is none, `note(Some(reason))` runs once and the run waits until
/// refusals age out of the window; `note(None)` runs once it goes again.
/// `None` when `shutdown` fires, or the token is refused, while it waits.
pub(super) async fn room_for<Note, Noted>(
    ctx: &WorkerContext,
    wanted: u32,
    shutdown: &CancellationToken,
    note: Note,
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
