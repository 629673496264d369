//! The worker's side of edits and recalls: every delivered message of a
//! running follow-up is edited in place (`PATCH`) or deleted (`DELETE`), at
//! the same governed pace as deliveries (`BROADCAST_RATE` across processes,
//! a 429 pausing every send of the process), from targets claimed under a
//! lease, so a restart resumes where a killed process stopped.

use std::time::Duration;

use futures_util::StreamExt;
use serenity::all::{ChannelId, CreateAllowedMentions, CreateEmbed, EditMessage, MessageId};
use tokio_util::sync::CancellationToken;

use chrono::{TimeDelta, Utc};
use serenity::all::EditInteractionResponse;

use super::claims::{self, LEASE_SECS, claimed_in_batches};
use super::classify::{classify_noting, timed_out_noting};
use super::context::{WorkerContext, room_to_claim};
use super::draft::Draft;
use super::gate;
use super::pacing::{Answer, Pace};
use crate::discord_guard::RouteGroup;
use crate::error::cause_chain;
use crate::permissions::Need;
use crate::store::broadcasts::followups::{self, Followup, Target, TargetOutcome};
use crate::store::broadcasts::{self, FollowupKind, Outcome};
use crate::store::logs::Severity;
use crate::telemetry::oplog;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// Discord's codes for a message or channel that no longer exists.
const UNKNOWN_MESSAGE: i32 = 10008;
const UNKNOWN_CHANNEL: i32 = 10003;

/// Edits or deletes every target of `followup` this process can claim
/// now, then finishes it if nothing is pending.
pub(super) async fn follow_up(
    ctx: &WorkerContext,
    followup: &Followup,
    shutdown: &CancellationToken,
    pace: &Pace,
) -> Result<(), sqlx::Error> {
    let embed = match followup.kind {
        FollowupKind::Recall => None,
        FollowupKind::Edit => {
            let Some(broadcast) = broadcasts::get(&ctx.pool, followup.broadcast_id).await? else {
                return Ok(());
            };
            match Draft::try_from(&broadcast.message) {
                Ok(draft) => Some(draft.embed()),
                Err(error) => {
                    tracing::error!(broadcast = followup.broadcast_id, error = %error, "cannot edit to a message this version cannot read");
                    return Ok(());
                }
            }
        }
    };
    let per_process = pace.per_process;
    let claim_error = std::sync::Mutex::new(None);
    // Whether the follow-up says it holds back: a pause noted by an earlier
    // run is cleared by this one's first claim once it no longer holds.
    let outage_noted = &std::sync::atomic::AtomicBool::new(followup.paused_reason.is_some());
    let claims = claimed_in_batches(
        shutdown,
        &claim_error,
        move || async move {
            if ctx.guard.is_revoked() {
                return Ok(Vec::new());
            }
            // Room in the invalid-request window before anything is
            // claimed: a pause never holds a lease.
            let note = |reason: Option<String>| async move {
                if let Err(error) =
                    followups::set_paused(&ctx.pool, followup.id, reason.as_deref()).await
                {
                    tracing::warn!(error = %cause_chain(&error), followup = followup.id, "could not note a pause");
                }
                if reason.is_some() {
                    show_followup_progress(ctx, followup, false).await;
                }
            };
            let Some(mut room) =
                room_to_claim(ctx, per_process, shutdown, outage_noted, note).await
            else {
                return Ok(Vec::new());
            };
            let batch = i64::from(room.len());
            let claimed = followups::claim_targets(
                &ctx.pool,
                followup.id,
                ctx.instance_id,
                batch,
                LEASE_SECS,
            )
            .await?;
            let claimed = held_back(ctx, followup, claimed).await?;
            Ok(claimed
                .into_iter()
                .filter_map(|t| room.take().map(|slot| (t, slot)))
                .collect())
        },
        move || show_followup_progress(ctx, followup, false),
    );
    ctx.pacer.at_pace(claims, pace)
            .for_each_concurrent(Some(per_process as usize * 2), |(target, slot)| {
                let embed = embed.clone();
                async move {
                    // Held until the answers are counted: a request in
                    // flight counts as a refusal in the window till then.
                    let _slot = slot;
                    let Some(outcome) = apply(ctx, followup, &target, embed).await else {
                        // Not applied, not recorded: released when the worker stops.
                        return;
                    };
                    if let TargetOutcome::Retry { after_secs, rate_limited: true, .. } = &outcome {
                        ctx.pacer.pause_for(*after_secs).await;
                    }
                    if let TargetOutcome::Failed { code, .. } = &outcome
                        && let Err(error) = gate::note_refusal(&ctx.pool, *code, target.channel_id).await
                    {
                        tracing::warn!(error = %cause_chain(&error), channel = target.channel_id, "could not mark a channel refused");
                    }
                    if let Err(error) = followups::record_target(&ctx.pool, followup.id, target.guild_id, &outcome).await {
                        tracing::warn!(error = %cause_chain(&error), followup = followup.id, guild = target.guild_id, "could not record an edit or delete; its lease will expire and it will be retried");
                    }
                }
            })
            .await;
    claims::claim_error(claim_error)?;
    if followups::finish_if_done(&ctx.pool, followup.id).await? {
        followup_finished(ctx, followup).await;
        show_followup_progress(ctx, followup, true).await;
    }
    Ok(())
}

/// Edits the message that started the follow-up (while its token is
/// valid) with its progress, or with its final figures once `finished`.
async fn show_followup_progress(ctx: &WorkerContext, followup: &Followup, finished: bool) {
    let (Some(token), Some(expires)) =
        (&followup.progress_token, followup.progress_token_expires_at)
    else {
        return;
    };
    if expires <= Utc::now() + TimeDelta::seconds(5) {
        return;
    }
    let Ok(reports) = broadcasts::followup_reports(&ctx.pool, followup.broadcast_id).await else {
        return;
    };
    let Some(report) = reports.iter().find(|r| r.id == followup.id) else {
        return;
    };
    let edit = EditInteractionResponse::new()
        .embeds(vec![crate::ui::followups::progress(
            followup.broadcast_id,
            report,
            finished,
        )])
        .components(vec![]);
    if ctx.guard.is_revoked() {
        return;
    }
    let edited = ctx
        .http
        .edit_original_interaction_response(token, &edit, vec![])
        .await;
    if edited.is_ok() {
        ctx.guard.observe_success(RouteGroup::Interactions);
    }
    if let Err(error) = edited {
        ctx.guard.observe_error(&error);
        tracing::debug!(error = %cause_chain(&error), followup = followup.id, "could not edit the follow-up's progress message");
    }
}

/// Edits the message to `embed`, or deletes it when there is none;
/// `None` when the bot token is refused (the target stays claimed,
/// unrecorded, until the worker stops and puts it back in the queue).
async fn apply(
    ctx: &WorkerContext,
    followup: &Followup,
    target: &Target,
    embed: Option<CreateEmbed>,
) -> Option<TargetOutcome> {
    if ctx.guard.is_revoked() {
        return None;
    }
    let channel = ChannelId::new(target.channel_id);
    let message = MessageId::new(target.message_id);
    let deleting = embed.is_none();
    if !deleting && target.attempts > 1 && edited_since(ctx, target, followup).await {
        return Some(TargetOutcome::Done);
    }
    if ctx.guard.is_revoked() {
        return None;
    }
    let request = async {
        match embed {
            Some(embed) => {
                let edit = EditMessage::new()
                    .embed(embed)
                    .allowed_mentions(CreateAllowedMentions::new());
                channel
                    .edit_message(&ctx.http, message, edit)
                    .await
                    .map(|_| ())
            }
            None => channel.delete_message(&ctx.http, message).await,
        }
    };
    let outcome = match tokio::time::timeout(REQUEST_TIMEOUT, request).await {
        Ok(Ok(())) => {
            ctx.guard.observe_success(RouteGroup::Messages);
            ctx.pacer.note(Answer::Answered);
            return Some(TargetOutcome::Done);
        }
        Ok(Err(error)) if ctx.guard.observe_error(&error) => return None,
        Ok(Err(error)) => classify_noting(&ctx.pacer, &error, target.attempts),
        Err(_) => {
            ctx.guard.observe_timeout(RouteGroup::Messages);
            timed_out_noting(&ctx.pacer, target.attempts)
        }
    };
    Some(target_outcome(outcome, deleting, target.attempts))
}

/// Whether an earlier attempt at this edit landed though its outcome was
/// never recorded (the process was killed, or the answer timed out): only
/// the bot can edit its own message, and one edit of a broadcast runs at a
/// time, so an edit since the request is this one. Keeps an edit to once
/// per message; when the message cannot be read, the edit is simply
/// applied again (same content).
async fn edited_since(ctx: &WorkerContext, target: &Target, followup: &Followup) -> bool {
    let read =
        ChannelId::new(target.channel_id).message(&ctx.http, MessageId::new(target.message_id));
    match tokio::time::timeout(REQUEST_TIMEOUT, read).await {
        Ok(Ok(message)) => message
            .edited_timestamp
            .is_some_and(|at| at.unix_timestamp() >= followup.requested_at.timestamp()),
        Ok(Err(error)) => {
            ctx.guard.observe_error(&error);
            false
        }
        Err(_) => false,
    }
}

/// The closing log entry, written by the one process that finished it.
async fn followup_finished(ctx: &WorkerContext, followup: &Followup) {
    let Ok(reports) = broadcasts::followup_reports(&ctx.pool, followup.broadcast_id).await else {
        return;
    };
    let Some(report) = reports.iter().find(|r| r.id == followup.id) else {
        return;
    };
    let (event, verb) = match followup.kind {
        FollowupKind::Edit => ("broadcast_edited", "edited"),
        FollowupKind::Recall => ("broadcast_recalled", "deleted"),
    };
    let message = format!(
        "Broadcast #{} {}: {} messages {verb}, {} already gone, {} failed (requested by {})",
        followup.broadcast_id, verb, report.done, report.gone, report.failed, report.requested_by
    );
    let severity = if report.failed > 0 {
        Severity::Warning
    } else {
        Severity::Info
    };
    oplog::write_entry_or_warn(&ctx.pool, severity, event, None, &message).await;
}

/// Sorts an edit or delete that did not succeed: a message or channel that no
/// longer exists is "gone", not a failure. A delete retried after an attempt
/// whose outcome was never recorded (a crash, a timeout) that finds the
/// message gone counts as deleted: that attempt most likely deleted it.
fn target_outcome(outcome: Outcome, deleting: bool, attempts: i32) -> TargetOutcome {
    match outcome {
        Outcome::Sent { .. } => TargetOutcome::Done,
        Outcome::Retry {
            after_secs,
            rate_limited,
            code,
            message,
            counted,
        } => TargetOutcome::Retry {
            after_secs,
            rate_limited,
            code,
            message,
            counted,
        },
        Outcome::Failed {
            code: Some(UNKNOWN_MESSAGE),
            ..
        } if deleting && attempts > 1 => TargetOutcome::Done,
        Outcome::Failed {
            code: Some(code @ (UNKNOWN_MESSAGE | UNKNOWN_CHANNEL)),
            message,
        } => TargetOutcome::Gone { code, message },
        Outcome::Failed { code, message } => TargetOutcome::Failed { code, message },
        Outcome::NotSent { missing, message } => TargetOutcome::NotSent { missing, message },
        Outcome::ChannelDeleted => TargetOutcome::Gone {
            code: UNKNOWN_CHANNEL,
            message: "the channel was deleted".to_owned(),
        },
    }
}

/// Records, without a request, the claimed targets the permission snapshot
/// rules out (editing or deleting the bot's own message needs View
/// Channel); returns the rest.
async fn held_back(
    ctx: &WorkerContext,
    followup: &Followup,
    claimed: Vec<Target>,
) -> Result<Vec<Target>, sqlx::Error> {
    let (go, held) = gate::hold_back(&ctx.pool, Need::SeeChannel, claimed, |t| {
        (t.guild_id, t.channel_id)
    })
    .await?;
    for (target, verdict) in held {
        let outcome = target_outcome(verdict.outcome(), false, target.attempts);
        followups::record_target(&ctx.pool, followup.id, target.guild_id, &outcome).await?;
    }
    Ok(go)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(code: i32) -> Outcome {
        Outcome::Failed {
            code: Some(code),
            message: "x".into(),
        }
    }

    #[test]
    fn a_message_deleted_by_the_server_is_gone_not_failed() {
        assert!(matches!(
            target_outcome(failed(UNKNOWN_MESSAGE), false, 1),
            TargetOutcome::Gone { code: 10008, .. }
        ));
        assert!(matches!(
            target_outcome(failed(UNKNOWN_CHANNEL), true, 1),
            TargetOutcome::Gone { code: 10003, .. }
        ));
    }

    #[test]
    fn a_retried_delete_that_finds_the_message_gone_counts_as_deleted() {
        assert_eq!(
            target_outcome(failed(UNKNOWN_MESSAGE), true, 2),
            TargetOutcome::Done
        );
        // An edit cannot tell: the message is gone.
        assert!(matches!(
            target_outcome(failed(UNKNOWN_MESSAGE), false, 2),
            TargetOutcome::Gone { .. }
        ));
    }

    #[test]
    fn missing_permissions_fail_with_their_code() {
        assert!(matches!(
            target_outcome(failed(50013), true, 1),
            TargetOutcome::Failed {
                code: Some(50013),
                ..
            }
        ));
    }
}
