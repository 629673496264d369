//! The delivery worker, one per bot process. It wakes on NOTIFY (Send pressed)
//! and polls every two seconds (scheduled broadcasts, missed notifications,
//! retries that came due). Deliveries are claimed with `FOR UPDATE SKIP
//! LOCKED` and a lease, so processes share a broadcast and a dead process
//! loses nothing; each message carries a nonce derived from (broadcast,
//! server) with `enforce_nonce`, so a re-send after a crash posts nothing new.
//! Sends are paced by our own governor (`BROADCAST_RATE` per second across
//! the running processes), since serenity does not hold Discord's global
//! limit for messages to many different channels.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use futures_util::StreamExt;
use serenity::all::{
    ChannelId, CreateAllowedMentions, CreateEmbed, CreateMessage, EditInteractionResponse, Http,
    Nonce,
};
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio_util::sync::CancellationToken;

use super::claims::{self, LEASE_SECS, claimed_in_batches};
use super::classify::{classify_noting, timed_out_noting};
use super::context::{WorkerContext, room_to_claim};
use super::draft::{Draft, nonce};
use super::gate;
use super::pacing::{Answer, Pace, Pacer};
use super::{followup, publish};
use crate::discord_guard::{DiscordGuard, RouteGroup};
use crate::error::cause_chain;
use crate::permissions::Need;
use crate::store::broadcasts::{self, CHANNEL, Claimed, Counts, Outcome};
use crate::store::logs::Severity;
use crate::store::settings;
use crate::telemetry::metrics::DeliveryCounters;
use crate::telemetry::oplog;
use crate::ui::broadcast as view;

/// How often the worker looks for due work without a notification.
pub const POLL_INTERVAL: Duration = Duration::from_secs(2);
const SEND_TIMEOUT: Duration = Duration::from_secs(15);
/// Discord error code for a channel that no longer exists.
const UNKNOWN_CHANNEL: i32 = 10003;

/// What the worker needs; cheap to clone (clones share the 429 pause).
#[derive(Clone)]
pub struct BroadcastWorker {
    ctx: WorkerContext,
    host: String,
    /// What `/metrics` reports of this process's deliveries.
    counters: Arc<DeliveryCounters>,
}

impl BroadcastWorker {
    pub fn new(pool: PgPool, http: Arc<Http>, instance_id: i64, host: String, rate: u32) -> Self {
        Self {
            ctx: WorkerContext {
                pool,
                http,
                instance_id,
                pacer: Pacer::new(rate),
                guard: Arc::default(),
            },
            host,
            counters: Arc::default(),
        }
    }

    /// Reports Discord's answers to `guard` and stops sending when it says
    /// the bot token was refused.
    pub fn guarded_by(mut self, guard: Arc<DiscordGuard>) -> Self {
        self.ctx.guard = guard;
        self
    }

    /// Counts this worker's deliveries into `counters` (those `/metrics` shows).
    pub fn counting_into(mut self, counters: Arc<DeliveryCounters>) -> Self {
        self.counters = counters;
        self
    }

    /// One pass of the worker, as its loop runs it after each wake-up:
    /// starts what is due, sends every delivery it can claim now, and
    /// finishes what is done. A test hook (`test-support` only): tests
    /// drain the queue step by step instead of waiting for the poll.
    #[cfg(feature = "test-support")]
    #[doc(hidden)]
    pub async fn deliver_once(&self) -> Result<(), sqlx::Error> {
        self.cycle(&CancellationToken::new()).await
    }

    /// Runs until `shutdown`, or until the bot token is refused. Errors are
    /// logged and retried on the next poll. Whatever it still holds when it
    /// stops goes back to the queue.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut listener = match PgListener::connect_with(&self.ctx.pool).await {
            Ok(mut listener) => match listener.listen(CHANNEL).await {
                Ok(()) => Some(listener),
                Err(error) => {
                    tracing::warn!(error = %cause_chain(&error), "cannot LISTEN for broadcasts; polling only");
                    None
                }
            },
            Err(error) => {
                tracing::warn!(error = %cause_chain(&error), "cannot LISTEN for broadcasts; polling only");
                None
            }
        };
        claims::release_crashed(&self.ctx.pool, &self.host, self.ctx.instance_id).await;
        loop {
            if let Err(error) = self.cycle(&shutdown).await {
                tracing::warn!(error = %cause_chain(&error), "broadcast delivery cycle failed; retrying");
            }
            let woken = async {
                match listener.as_mut() {
                    Some(listener) => {
                        if listener.recv().await.is_err() {
                            tokio::time::sleep(POLL_INTERVAL).await;
                        }
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = woken => {}
                () = tokio::time::sleep(POLL_INTERVAL) => {}
                () = shutdown.cancelled() => break,
                () = self.ctx.guard.revoked().cancelled() => break,
            }
        }
        claims::release_own(&self.ctx.pool, self.ctx.instance_id).await;
        if self.ctx.guard.is_revoked() {
            tracing::warn!(
                "the broadcast worker stopped: the bot token was refused; every broadcast resumes from the queue with a valid token"
            );
            // Stopped on purpose: not a task to restart.
            shutdown.cancelled().await;
        }
    }

    /// Starts what is due and works on everything being sent.
    async fn cycle(&self, shutdown: &CancellationToken) -> Result<(), sqlx::Error> {
        for id in broadcasts::due(&self.ctx.pool, Utc::now()).await? {
            if let Some(skipped) = broadcasts::start(&self.ctx.pool, id).await? {
                DeliveryCounters::add(&self.counters.skipped, skipped);
                tracing::info!(broadcast = id, skipped, "broadcast delivery started");
            }
        }
        // Deliveries and follow-ups (edits, recalls) run side by side under
        // one governor: a recall is not held back until a large broadcast
        // being sent meanwhile has gone out, and together they keep to this
        // process's share of `BROADCAST_RATE`.
        let sending = broadcasts::sending(&self.ctx.pool).await?;
        let running = broadcasts::followups::running(&self.ctx.pool).await?;
        if sending.is_empty() && running.is_empty() {
            // The idle poll every 2 s asks nothing more of the database.
            return Ok(());
        }
        let pace = self.ctx.pacer.governor(&self.ctx.pool).await?;
        let deliveries = async {
            for id in sending {
                if shutdown.is_cancelled() {
                    break;
                }
                self.deliver(id, shutdown, &pace).await?;
                if let Some(counts) = broadcasts::finish_if_done(&self.ctx.pool, id).await? {
                    self.finished(id, counts).await;
                }
            }
            Ok::<(), sqlx::Error>(())
        };
        let followups = async {
            for followup in running {
                if shutdown.is_cancelled() {
                    break;
                }
                followup::follow_up(&self.ctx, &followup, shutdown, &pace).await?;
            }
            Ok::<(), sqlx::Error>(())
        };
        let (delivered, followed_up) = tokio::join!(deliveries, followups);
        delivered.and(followed_up)
    }

    /// Sends every delivery of `id` this process can claim now, at `pace`.
    async fn deliver(
        &self,
        id: i64,
        shutdown: &CancellationToken,
        pace: &Pace,
    ) -> Result<(), sqlx::Error> {
        let Some(broadcast) = broadcasts::get(&self.ctx.pool, id).await? else {
            return Ok(());
        };
        let draft = match Draft::try_from(&broadcast.message) {
            Ok(draft) => draft,
            Err(error) => {
                tracing::error!(broadcast = id, error = %error, "cannot deliver a broadcast this version cannot read");
                return Ok(());
            }
        };
        let embed = draft.embed();
        let (per_process, limiter) = (pace.per_process, &pace.limiter);
        // Claims are paced, not sends: deliveries leave the claim stream one
        // at a time at the governor's pace (after any 429 pause), and the
        // next batch is claimed once the last one has passed the governor,
        // not once all its sends have finished. A send serenity holds back
        // (a 429 it waits out before retrying) then takes one of the
        // concurrent slots and never idles the governor; and at most a
        // second's worth of sends is claimed ahead, so other processes find
        // work to share.
        let claim_error = std::sync::Mutex::new(None);
        // Whether the broadcast says it holds back: a pause noted by an
        // earlier run is cleared by this one's first claim once it no
        // longer holds.
        let outage_noted = &std::sync::atomic::AtomicBool::new(broadcast.paused_reason.is_some());
        let (broadcast, embed_ref) = (&broadcast, &embed);
        let claims = claimed_in_batches(
            shutdown,
            &claim_error,
            move || async move {
                if self.ctx.guard.is_revoked() {
                    return Ok(Vec::new());
                }
                // Room in the invalid-request window before anything is
                // claimed: a pause never holds a lease.
                let note = |reason: Option<String>| async move {
                    if let Err(error) =
                        broadcasts::set_paused(&self.ctx.pool, id, reason.as_deref()).await
                    {
                        tracing::warn!(error = %cause_chain(&error), broadcast = id, "could not note a pause");
                    }
                    if reason.is_some() {
                        self.show_progress(broadcast, embed_ref, None, reason.as_deref())
                            .await;
                    }
                };
                let Some(mut room) =
                    room_to_claim(&self.ctx, per_process, shutdown, outage_noted, note).await
                else {
                    return Ok(Vec::new());
                };
                let batch = i64::from(room.len());
                let claimed =
                    broadcasts::claim(&self.ctx.pool, id, self.ctx.instance_id, batch, LEASE_SECS)
                        .await?;
                let claimed = self.held_back(id, claimed).await?;
                Ok(claimed
                    .into_iter()
                    .filter_map(|d| room.take().map(|slot| (d, slot)))
                    .collect())
            },
            move || self.show_progress(broadcast, embed_ref, None, None),
        );
        self.ctx.pacer.at_pace(claims, pace)
            .for_each_concurrent(Some(per_process as usize * 2), |(delivery, slot)| {
                let embed = &embed;
                async move {
                    // Held until the answers are counted: a request in
                    // flight counts as a refusal in the window till then.
                    let _slot = slot;
                    let Some(outcome) = self.send(id, &delivery, embed.clone()).await else {
                        // Not sent, not recorded: released when the worker stops.
                        return;
                    };
                    if let (Outcome::Sent { message_id }, true) = (&outcome, delivery.publish) {
                        publish::publish(&self.ctx, id, &delivery, *message_id, limiter).await;
                    }
                    if let Outcome::Retry { after_secs, rate_limited: true, .. } = &outcome {
                        self.ctx.pacer.pause_for(*after_secs).await;
                    }
                    if let Err(error) = self.settle(id, &delivery, &outcome).await {
                        tracing::warn!(error = %cause_chain(&error), broadcast = id, guild = delivery.guild_id, "could not record a delivery; its lease will expire and it will be retried");
                    }
                }
            })
            .await;
        claims::claim_error(claim_error)
    }

    /// Records, without a request, the claimed deliveries the permission
    /// snapshot rules out (a deleted channel, a missing permission, a 403
    /// since the last event about the channel); returns the rest.
    async fn held_back(&self, id: i64, claimed: Vec<Claimed>) -> Result<Vec<Claimed>, sqlx::Error> {
        let (go, held) = gate::hold_back(&self.ctx.pool, Need::PostEmbed, claimed, |d| {
            (d.guild_id, d.channel_id)
        })
        .await?;
        for (delivery, verdict) in held {
            self.settle(id, &delivery, &verdict.outcome()).await?;
        }
        Ok(go)
    }

    /// Sends one delivery; `None` when the bot token is refused (before or
    /// by this request): the delivery stays claimed, unrecorded, until the
    /// worker stops and puts it back in the queue.
    async fn send(&self, id: i64, delivery: &Claimed, embed: CreateEmbed) -> Option<Outcome> {
        if self.ctx.guard.is_revoked() {
            return None;
        }
        let message = CreateMessage::new()
            .embed(embed)
            .allowed_mentions(CreateAllowedMentions::new())
            .nonce(Nonce::String(nonce(id, delivery.guild_id)))
            .enforce_nonce(true);
        let channel = ChannelId::new(delivery.channel_id);
        let outcome =
            match tokio::time::timeout(SEND_TIMEOUT, channel.send_message(&self.ctx.http, message))
                .await
            {
                Ok(Ok(message)) => {
                    self.ctx.guard.observe_success(RouteGroup::Messages);
                    self.ctx.pacer.note(Answer::Answered);
                    Outcome::Sent {
                        message_id: message.id.get(),
                    }
                }
                Ok(Err(error)) if self.ctx.guard.observe_error(&error) => return None,
                Ok(Err(error)) => classify_noting(&self.ctx.pacer, &error, delivery.attempts),
                Err(_) => {
                    self.ctx.guard.observe_timeout(RouteGroup::Messages);
                    timed_out_noting(&self.ctx.pacer, delivery.attempts)
                }
            };
        Some(outcome)
    }

    /// Stores the outcome; an Unknown Channel also clears the server's setting.
    async fn settle(
        &self,
        id: i64,
        delivery: &Claimed,
        outcome: &Outcome,
    ) -> Result<(), sqlx::Error> {
        broadcasts::record_attempt(&self.ctx.pool, id, delivery.guild_id, outcome).await?;
        match outcome {
            Outcome::Sent { .. } => DeliveryCounters::add(&self.counters.sent, 1),
            Outcome::Failed { .. } | Outcome::NotSent { .. } => {
                DeliveryCounters::add(&self.counters.failed, 1);
            }
            Outcome::Retry { .. } | Outcome::ChannelDeleted => {}
        }
        if let Outcome::Failed { code, .. } = outcome {
            gate::note_refusal(&self.ctx.pool, *code, delivery.channel_id).await?;
        }
        let deleted = match outcome {
            Outcome::Failed {
                code: Some(UNKNOWN_CHANNEL),
                ..
            } => Some("Discord error 10003"),
            Outcome::ChannelDeleted => Some("the gateway said so"),
            _ => None,
        };
        if let Some(how) = deleted
            && settings::clear_unknown_channel(
                &self.ctx.pool,
                delivery.guild_id,
                delivery.channel_id,
            )
            .await?
        {
            let message = format!(
                "The broadcast channel <#{}> no longer exists ({how}, during broadcast #{id}); the server's broadcast channel setting was cleared",
                delivery.channel_id
            );
            oplog::write_entry_or_warn(
                &self.ctx.pool,
                Severity::Warning,
                "config_update",
                Some(delivery.guild_id),
                &message,
            )
            .await;
        }
        Ok(())
    }

    /// The final log entries and report, written by the one process that
    /// marked the broadcast sent.
    async fn finished(&self, id: i64, counts: Counts) {
        let Ok(Some(broadcast)) = broadcasts::get(&self.ctx.pool, id).await else {
            return;
        };
        let summary = format!(
            "Broadcast #{id} \"{}\" finished: {} targeted, {} sent, {} skipped, {} failed ({})",
            crate::ui::text::truncate(&broadcast.message.title, 100),
            counts.targeted,
            counts.sent,
            counts.skipped,
            counts.failed,
            view::rate_text(&counts)
        );
        oplog::write_entry_or_warn(
            &self.ctx.pool,
            Severity::Info,
            "broadcast_sent",
            None,
            &summary,
        )
        .await;
        if counts.failed > 0 {
            oplog::write_entry_or_warn(
                &self.ctx.pool,
                Severity::Warning,
                "broadcast_failed",
                None,
                &summary,
            )
            .await;
        }
        if let Ok(draft) = Draft::try_from(&broadcast.message) {
            self.show_progress(&broadcast, &draft.embed(), Some(counts), None)
                .await;
        }
        if let Err(error) = broadcasts::clear_progress_token(&self.ctx.pool, id).await {
            tracing::warn!(error = %cause_chain(&error), broadcast = id, "could not forget the progress token; retention will");
        }
    }

    /// Edits the developer's message (while its token is valid) with progress,
    /// or with the report once `finished`.
    pub(super) async fn show_progress(
        &self,
        broadcast: &broadcasts::BroadcastRow,
        embed: &CreateEmbed,
        finished: Option<Counts>,
        paused: Option<&str>,
    ) {
        let (Some(token), Some(expires)) = (
            &broadcast.progress_token,
            broadcast.progress_token_expires_at,
        ) else {
            return;
        };
        if expires <= Utc::now() + TimeDelta::seconds(5) {
            return;
        }
        let counts = match finished {
            Some(counts) => counts,
            None => match broadcasts::counts(&self.ctx.pool, broadcast.id).await {
                Ok(counts) => counts,
                Err(_) => return,
            },
        };
        let edit = EditInteractionResponse::new()
            .embeds(vec![
                embed.clone(),
                view::progress(broadcast.id, &counts, finished.is_some(), paused),
            ])
            .components(vec![]);
        if self.ctx.guard.is_revoked() {
            return;
        }
        let edited = self
            .ctx
            .http
            .edit_original_interaction_response(token, &edit, vec![])
            .await;
        if edited.is_ok() {
            self.ctx.guard.observe_success(RouteGroup::Interactions);
        }
        if let Err(error) = edited {
            self.ctx.guard.observe_error(&error);
            tracing::debug!(error = %cause_chain(&error), broadcast = broadcast.id, "could not edit the broadcast progress message");
        }
    }
}
