//! A second pair of eyes (`BROADCAST_APPROVALS=1`, off by default): the
//! composer's Send or Schedule asks for approval instead of queueing.
//! `/admin broadcast pending` lists what waits, and its menu opens one's
//! review, as does `/admin broadcast review id:<n>`: the exact message and
//! its reach with Approve and Reject (a form asks the reason). The composer,
//! and whoever asked, can never decide their own; every step is a log entry
//! naming who took it.

use chrono::{TimeDelta, Utc};
use serenity::all::{
    ButtonStyle, ComponentInteraction, ComponentInteractionDataKind, CreateActionRow, CreateButton,
    CreateEmbed, CreateInteractionResponse, CreateInteractionResponseMessage, CreateSelectMenu,
    CreateSelectMenuKind, CreateSelectMenuOption, Http, ModalInteraction, User,
};

use super::super::Context;
use super::actions::{APPROVE, REJECT, REJECT_FORM, REVIEW_PICK, SESSION_TIMEOUT};
use super::form::{REASON_FIELD, input_of_field, reason_form};
use crate::broadcast::draft::Draft;
use crate::controls::Controls;
use crate::error::{Error, UserError};
use crate::panel::{AdminPanel, HasAdminPanel};
use crate::store::broadcasts::approvals::{self, Decision};
use crate::store::broadcasts::{self, ProgressTarget};
use crate::store::logs::Severity;
use crate::telemetry::oplog;
use crate::ui::INFO_COLOR;
use crate::ui::custom_id::View;
use crate::ui::text::{discord_time, truncate};

/// The longest rejection reason kept.
const MAX_REASON_CHARS: usize = 500;

/// Broadcasts waiting for a second developer's approval.
#[poise::command(slash_command, ephemeral)]
pub async fn pending<U: HasAdminPanel>(ctx: Context<'_, U>) -> Result<(), Error> {
    let panel = ctx.data().admin_panel();
    let (rows, total) = approvals::awaiting(&panel.pool).await?;
    let lines: Vec<String> = rows
        .iter()
        .map(|row| {
            format!(
                "**#{}** {} · {} · asked by <@{}> {}{}",
                row.id,
                truncate(&row.title, 80),
                row.category,
                row.approval_requested_by,
                discord_time(row.approval_requested_at, 'R'),
                row.scheduled_for
                    .map(|at| format!(" · for {}", discord_time(at, 'f')))
                    .unwrap_or_default()
            )
        })
        .collect();
    let description = if lines.is_empty() {
        if panel.options.broadcast_approvals {
            "Nothing waits for approval.".to_owned()
        } else {
            "Nothing waits for approval (approvals are off: set `BROADCAST_APPROVALS=1`)."
                .to_owned()
        }
    } else {
        crate::ui::text::fit_lines(&lines, crate::ui::limits::EMBED_DESCRIPTION_CHARS)
    };
    let embed = CreateEmbed::new()
        .title(format!("Broadcasts waiting for approval: {total}"))
        .color(INFO_COLOR)
        .description(description)
        .footer(serenity::all::CreateEmbedFooter::new(
            "Review one with /admin broadcast review id:<n> · oldest first",
        ));
    let mut reply = poise::CreateReply::default().embed(embed);
    if !rows.is_empty() {
        let controls = Controls::new(
            panel,
            View::Composer,
            ctx.author().id.get(),
            SESSION_TIMEOUT,
        );
        let options = rows
            .iter()
            .map(|row| {
                CreateSelectMenuOption::new(
                    truncate(&format!("#{} {}", row.id, row.title), 100),
                    row.id.to_string(),
                )
            })
            .collect();
        let menu = CreateSelectMenu::new(
            controls.id(REVIEW_PICK, &[]),
            CreateSelectMenuKind::String { options },
        )
        .placeholder("Review one…");
        reply = reply.components(vec![CreateActionRow::SelectMenu(menu)]);
        return crate::controls::send_expiring(ctx, reply, &controls).await;
    }
    ctx.send(reply).await?;
    Ok(())
}

/// Review a broadcast waiting for approval: Approve or Reject.
#[poise::command(slash_command, ephemeral)]
pub async fn review<U: HasAdminPanel>(
    ctx: Context<'_, U>,
    #[description = "Broadcast number (see /admin broadcast pending)"]
    #[min = 1]
    id: i64,
) -> Result<(), Error> {
    let panel = ctx.data().admin_panel();
    let controls = Controls::new(
        panel,
        View::Composer,
        ctx.author().id.get(),
        SESSION_TIMEOUT,
    );
    let review = review_of(panel, &controls, id).await?;
    let mut reply = poise::CreateReply::default()
        .content(review.text)
        .components(vec![review.buttons]);
    for embed in review.embeds {
        reply = reply.embed(embed);
    }
    crate::controls::send_expiring(ctx, reply, &controls).await
}

/// What a reviewer sees: who asked, the exact message, its reach, and the
/// Approve and Reject buttons.
struct Review {
    text: String,
    embeds: Vec<CreateEmbed>,
    buttons: CreateActionRow,
}

async fn review_of(panel: &AdminPanel, controls: &Controls<'_>, id: i64) -> Result<Review, Error> {
    let row = broadcasts::get(&panel.pool, id)
        .await?
        .filter(|row| {
            row.approval_requested_by.is_some() && row.status == broadcasts::BroadcastStatus::Draft
        })
        .ok_or_else(|| UserError::new(format!("Broadcast #{id} is not waiting for approval.")))?;
    let draft = Draft::try_from(&row.message)?;
    let dry_run = broadcasts::dry_run(&panel.pool, draft.category.as_str(), &row.audience).await?;
    let target = [id as u64];
    let buttons = CreateActionRow::Buttons(vec![
        CreateButton::new(controls.id(APPROVE, &target))
            .label("Approve")
            .style(ButtonStyle::Success),
        CreateButton::new(controls.id(REJECT, &target))
            .label("Reject")
            .style(ButtonStyle::Danger),
    ]);
    Ok(Review {
        text: format!(
            "Broadcast #{id}, composed by <@{}>, asked for approval by <@{}>. Approve sends it exactly as shown.",
            row.created_by,
            row.approval_requested_by.unwrap_or(row.created_by)
        ),
        embeds: vec![
            draft.embed(),
            crate::ui::broadcast::preview(
                &dry_run,
                draft.category.as_str(),
                &row.audience,
                row.scheduled_for,
            ),
        ],
        buttons,
    })
}

/// A broadcast picked in `/admin broadcast pending`: its review, as a new
/// ephemeral message.
pub(super) async fn review_picked(
    panel: &AdminPanel,
    http: &Http,
    press: &ComponentInteraction,
) -> Result<(), Error> {
    let ComponentInteractionDataKind::StringSelect { values } = &press.data.kind else {
        return Err(UserError::new("Pick a broadcast from the menu.").into());
    };
    let id = values
        .first()
        .and_then(|value| value.parse::<i64>().ok())
        .ok_or_else(|| UserError::new("Pick a broadcast from the menu."))?;
    let controls = Controls::new(panel, View::Composer, press.user.id.get(), SESSION_TIMEOUT);
    let review = review_of(panel, &controls, id).await?;
    let message = CreateInteractionResponseMessage::new()
        .content(review.text)
        .embeds(review.embeds)
        .components(vec![review.buttons])
        .ephemeral(true);
    press
        .create_response(http, CreateInteractionResponse::Message(message))
        .await?;
    Ok(())
}

/// Send or Schedule pressed with approvals on: asks for approval.
pub(super) async fn request(
    panel: &AdminPanel,
    http: &Http,
    press: &ComponentInteraction,
    id: i64,
) -> Result<(), Error> {
    let text = if approvals::request(&panel.pool, id, press.user.id.get()).await? {
        log(
            panel,
            "broadcast_approval_requested",
            id,
            &press.user,
            "asked for approval",
        )
        .await;
        format!(
            "Broadcast #{id} waits for another developer's approval (`/admin broadcast pending`). Nothing is sent until then."
        )
    } else {
        format!("Draft #{id} already waits for approval, or is no longer a draft: nothing changed.")
    };
    super::conclude(http, press, text).await
}

/// Approve: queues it, with progress shown in the approver's message.
pub(super) async fn approve(
    panel: &AdminPanel,
    http: &Http,
    press: &ComponentInteraction,
    id: i64,
) -> Result<(), Error> {
    let progress = ProgressTarget {
        application_id: press.application_id.get(),
        token: press.token.clone(),
        expires_at: Utc::now() + TimeDelta::minutes(15),
    };
    let decision = approvals::approve(&panel.pool, id, press.user.id.get(), &progress).await?;
    let text = match decision {
        Decision::Approved { at } => {
            log(panel, "broadcast_approved", id, &press.user, "approved").await;
            if at > Utc::now() + TimeDelta::seconds(5) {
                format!(
                    "Approved: broadcast #{id} is scheduled for {}.",
                    discord_time(at, 'F')
                )
            } else {
                format!("Approved: broadcast #{id} is being sent. This message shows its progress.")
            }
        }
        other => return Err(refusal(id, other)),
    };
    super::conclude(http, press, text).await
}

/// Reject: a form asks why.
pub(super) async fn ask_reason(
    panel: &AdminPanel,
    http: &Http,
    press: &ComponentInteraction,
    id: i64,
) -> Result<(), Error> {
    let controls = Controls::new(panel, View::Composer, press.user.id.get(), SESSION_TIMEOUT);
    let form = reason_form(
        controls.id(REJECT_FORM, &[id as u64]),
        format!("Reject broadcast #{id}"),
        "Why (the composer sees this)",
        MAX_REASON_CHARS,
    );
    press
        .create_response(http, CreateInteractionResponse::Modal(form))
        .await?;
    Ok(())
}

/// The reason submitted: rejects it.
pub(super) async fn reject(
    panel: &AdminPanel,
    http: &Http,
    submit: &ModalInteraction,
    id: i64,
) -> Result<(), Error> {
    let reason = input_of_field(submit, REASON_FIELD).trim().to_owned();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Err(UserError::new(format!(
            "Give a reason of 1 to {MAX_REASON_CHARS} characters: nothing changed."
        ))
        .into());
    }
    let decision = approvals::reject(&panel.pool, id, submit.user.id.get(), &reason).await?;
    if decision != Decision::Rejected {
        return Err(refusal(id, decision));
    }
    log(
        panel,
        "broadcast_rejected",
        id,
        &submit.user,
        &format!("rejected: {}", truncate(&reason, 300)),
    )
    .await;
    let reply = CreateInteractionResponseMessage::new()
        .content(format!(
            "Rejected: broadcast #{id} is a draft again; its composer sees your reason in `/admin broadcast report id:{id}`."
        ))
        .ephemeral(true);
    submit
        .create_response(http, CreateInteractionResponse::Message(reply))
        .await?;
    Ok(())
}

fn refusal(id: i64, decision: Decision) -> Error {
    let text = match decision {
        Decision::OwnBroadcast => format!(
            "You composed broadcast #{id} or asked for its approval: another developer must decide. Nothing changed."
        ),
        _ => format!(
            "Broadcast #{id} no longer waits for approval (decided or withdrawn meanwhile). Nothing changed."
        ),
    };
    UserError::new(text).into()
}

/// The log entry of one step, naming who took it.
async fn log(panel: &AdminPanel, event: &str, id: i64, who: &User, what: &str) {
    let message = format!(
        "Broadcast #{id} {what} by {}",
        super::super::confirm::who(who)
    );
    oplog::write_entry_or_warn(&panel.pool, Severity::Info, event, None, &message).await;
}
