//! What every request the delivery worker makes needs: the database, the
//! HTTP client, who holds a claim, the pace, and the token guard. A leaf of
//! its own so the worker's parts (deliveries, follow-ups, publishing) share
//! it without depending on one another.

use std::sync::Arc;

use serenity::all::Http;
use sqlx::PgPool;

use super::pacing::Pacer;
use crate::discord_guard::DiscordGuard;

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
