//! The composer's preview and what its buttons do: Send or Schedule (a
//! schedule that passed meanwhile is refused, with the choice to send now),
//! Edit (the form again, with the draft's values), Discard.

use chrono::{DateTime, TimeDelta, Utc};
use serenity::all::{
    ButtonStyle, ChannelId, ChannelType, ComponentInteraction, ComponentInteractionDataKind,
    CreateActionRow, CreateAllowedMentions, CreateButton, CreateInteractionResponse,
    CreateInteractionResponseMessage, CreateMessage, CreateSelectMenu, CreateSelectMenuKind, Http,
    ModalInteraction,
};

use super::actions::{DISCARD, EDIT, EDIT_FORM, SEND, SEND_NOW, SESSION_TIMEOUT, TEST_SEND};
use super::form::{input_of, modal};
use crate::broadcast::draft::Draft;
use crate::broadcast::gate::{self, Verdict};
use crate::controls::Controls;
use crate::error::{Error, UserError};
use crate::panel::AdminPanel;
use crate::permissions::Need;
use crate::store::broadcasts::{self, Audience, ProgressTarget, Queueing};
use crate::ui::broadcast::preview;
use crate::ui::custom_id::View;

/// The preview: the exact embed, the dry run, and the buttons.
pub(super) async fn preview_message(
    panel: &AdminPanel,
    owner: u64,
    id: i64,
    draft: &Draft,
    audience: &Audience,
    scheduled_for: Option<DateTime<Utc>>,
) -> Result<CreateInteractionResponseMessage, Error> {
    let dry_run = broadcasts::dry_run(&panel.pool, draft.category.as_str(), audience).await?;
    let controls = Controls::new(panel, View::Composer, owner, SESSION_TIMEOUT);
    let draft_id = [id as u64];
    let buttons = vec![
        CreateActionRow::Buttons(vec![
            CreateButton::new(controls.id(SEND, &draft_id))
                .label(if scheduled_for.is_some() {
                    "Schedule"
                } else {
                    "Send"
                })
                .style(ButtonStyle::Success),
            CreateButton::new(controls.id(EDIT, &draft_id))
                .label("Edit")
                .style(ButtonStyle::Secondary),
            CreateButton::new(controls.id(DISCARD, &draft_id))
                .label("Discard")
                .style(ButtonStyle::Danger),
        ]),
        CreateActionRow::SelectMenu(
            CreateSelectMenu::new(
                controls.id(TEST_SEND, &draft_id),
                CreateSelectMenuKind::Channel {
                    channel_types: Some(vec![ChannelType::Text, ChannelType::News]),
                    default_channels: None,
                },
            )
            .placeholder("Send test to a channel…"),
        ),
    ];
    Ok(CreateInteractionResponseMessage::new()
        .content(format!("Draft #{id} saved."))
        .embeds(vec![
            draft.embed(),
            preview(&dry_run, draft.category.as_str(), audience, scheduled_for),
        ])
        .components(buttons))
}

/// Send (now) or Schedule (at the draft's time). A schedule that has passed
/// meanwhile is refused, with the choice to send now.
pub(super) async fn send(
    panel: &AdminPanel,
    http: &Http,
    press: &ComponentInteraction,
    draft_id: i64,
    now_instead: bool,
) -> Result<(), Error> {
    let row = draft_row(panel, draft_id).await?;
    if row.approval_requested_by.is_some() {
        // Whatever this process's `BROADCAST_APPROVALS`: a draft that asked
        // for approval goes out only through one.
        return super::conclude(http, press, awaiting_approval(draft_id)).await;
    }
    let now = Utc::now();
    let scheduled_for = row.scheduled_for.filter(|_| !now_instead);
    if scheduled_for.is_none() {
        let dry_run =
            broadcasts::dry_run(&panel.pool, &row.message.category, &row.audience).await?;
        if dry_run.targeted == 0 {
            return Err(UserError::new(format!(
                "Draft #{draft_id}'s audience ({}) matches no server right now: nothing was sent. Discard it and compose again with another audience.",
                crate::ui::audience::describe(&row.audience)
            ))
            .into());
        }
    }
    if let Some(at) = scheduled_for.filter(|at| *at <= now) {
        let controls = Controls::new(panel, View::Composer, press.user.id.get(), SESSION_TIMEOUT);
        let message = CreateInteractionResponseMessage::new()
            .content(format!(
                "The time this broadcast was scheduled for, <t:{}:F>, has passed: nothing was scheduled. Send it now, or Edit it and compose again with a new time.",
                at.timestamp()
            ))
            .components(vec![CreateActionRow::Buttons(vec![
                CreateButton::new(controls.id(SEND_NOW, &[draft_id as u64]))
                    .label("Send now")
                    .style(ButtonStyle::Success),
            ])])
            .ephemeral(true);
        press
            .create_response(http, CreateInteractionResponse::Message(message))
            .await?;
        return Ok(());
    }
    if panel.options.broadcast_approvals {
        return super::approval::request(panel, http, press, draft_id).await;
    }
    let at = scheduled_for.unwrap_or(now);
    let progress = ProgressTarget {
        application_id: press.application_id.get(),
        token: press.token.clone(),
        expires_at: now + TimeDelta::minutes(15),
    };
    let queued = broadcasts::queue(&panel.pool, draft_id, at, &progress).await?;
    let text = if queued == Queueing::NotADraft {
        format!("Draft #{draft_id} is no longer a draft: nothing changed.")
    } else if queued == Queueing::AwaitsApproval {
        awaiting_approval(draft_id)
    } else if scheduled_for.is_some() {
        format!(
            "Broadcast #{draft_id} is scheduled for <t:{0}:F> (<t:{0}:R>). Cancel it with `/admin broadcast cancel id:{draft_id}`.",
            at.timestamp()
        )
    } else {
        format!("Broadcast #{draft_id} is being sent. This message shows its progress.")
    };
    super::conclude(http, press, text).await
}

pub(super) async fn discard(
    panel: &AdminPanel,
    http: &Http,
    press: &ComponentInteraction,
    draft_id: i64,
) -> Result<(), Error> {
    let text = if broadcasts::discard_draft(&panel.pool, draft_id).await? {
        format!("Draft #{draft_id} discarded: nothing was sent.")
    } else {
        format!("Draft #{draft_id} is no longer a draft: nothing changed.")
    };
    let update = CreateInteractionResponseMessage::new()
        .content(text)
        .embeds(vec![])
        .components(vec![]);
    press
        .create_response(http, CreateInteractionResponse::UpdateMessage(update))
        .await?;
    Ok(())
}

/// Reopens the form with the draft's values.
pub(super) async fn edit(
    panel: &AdminPanel,
    http: &Http,
    press: &ComponentInteraction,
    draft_id: i64,
) -> Result<(), Error> {
    let row = draft_row(panel, draft_id).await?;
    let current = Draft::try_from(&row.message)?;
    let controls = Controls::new(panel, View::Composer, press.user.id.get(), SESSION_TIMEOUT);
    let form = modal(
        &controls.id(EDIT_FORM, &[draft_id as u64]),
        current.category,
        &current.to_input(),
    );
    press
        .create_response(http, CreateInteractionResponse::Modal(form))
        .await?;
    Ok(())
}

/// A valid Edit submission replaces the draft and the preview; an invalid
/// one changes nothing (the preview and its buttons stay as they were).
pub(super) async fn save_edit(
    panel: &AdminPanel,
    http: &Http,
    submit: &ModalInteraction,
    draft_id: i64,
) -> Result<(), Error> {
    let row = draft_row(panel, draft_id).await?;
    let category = Draft::try_from(&row.message)?.category;
    let draft = Draft::validate(category, &input_of(submit))?;
    if !broadcasts::update_draft(&panel.pool, draft_id, &draft.to_fields()).await? {
        return Err(UserError::new(format!(
            "Draft #{draft_id} is no longer a draft: nothing changed."
        ))
        .into());
    }
    let message = preview_message(
        panel,
        submit.user.id.get(),
        draft_id,
        &draft,
        &row.audience,
        row.scheduled_for,
    )
    .await?;
    submit
        .create_response(http, CreateInteractionResponse::UpdateMessage(message))
        .await?;
    Ok(())
}

/// "Send test": the exact message, marked as a test in its footer, to the
/// channel picked (the bot must be able to post embeds there). No delivery
/// row, no report, no count: a test is never a server's broadcast.
pub(super) async fn send_test(
    panel: &AdminPanel,
    http: &Http,
    press: &ComponentInteraction,
    draft_id: i64,
) -> Result<(), Error> {
    let row = draft_row(panel, draft_id).await?;
    let draft = Draft::try_from(&row.message)?;
    let ComponentInteractionDataKind::ChannelSelect { values } = &press.data.kind else {
        return Err(UserError::new("Pick a channel from the menu.").into());
    };
    let Some(channel) = values.first().copied() else {
        return Err(UserError::new("Pick a channel from the menu.").into());
    };
    let Some(guild) = press.guild_id else {
        return Err(UserError::new(
            "Test sends go to a server channel: open the preview in a server.",
        )
        .into());
    };
    // What the gateway already said, before any request: a refused one
    // would count towards Discord's invalid-request limit.
    let verdicts = gate::verdicts(
        &panel.pool,
        Need::PostEmbed,
        &[(guild.get(), channel.get())],
    )
    .await?;
    if let Some(reason) = verdicts.get(&guild.get()).and_then(Verdict::reason) {
        return Err(UserError::new(format!(
            "Nothing was sent to <#{channel}>: {reason}. Grant it to my role (or in the channel's permissions) and try again."
        ))
        .into());
    }
    let bot = http.get_current_user().await?.id;
    crate::broadcast::channel::check_broadcast_channel(http, guild, channel, bot).await?;
    let message = CreateMessage::new()
        .embed(draft.test_embed())
        .allowed_mentions(CreateAllowedMentions::new());
    ChannelId::new(channel.get())
        .send_message(http, message)
        .await?;
    crate::telemetry::oplog::write_entry_or_warn(
        &panel.pool,
        crate::store::logs::Severity::Info,
        "broadcast_test",
        Some(guild.get()),
        &format!(
            "Test of draft #{draft_id} sent to channel {channel} by {}",
            press.user.id
        ),
    )
    .await;
    let reply = CreateInteractionResponseMessage::new()
        .content(format!(
            "Test of draft #{draft_id} sent to <#{channel}>, marked as a test. It is not a broadcast: no server got it and no report counts it."
        ))
        .ephemeral(true);
    press
        .create_response(http, CreateInteractionResponse::Message(reply))
        .await?;
    Ok(())
}

/// The draft behind a button, or a clear error when it is gone or no longer
/// a draft (sent, scheduled, discarded meanwhile, maybe from another process).
/// What a Send or Schedule press on a draft waiting for approval is told.
fn awaiting_approval(draft_id: i64) -> String {
    format!(
        "Broadcast #{draft_id} waits for another developer's approval: only an approval sends it (`/admin broadcast pending`). Nothing changed."
    )
}

async fn draft_row(panel: &AdminPanel, id: i64) -> Result<broadcasts::BroadcastRow, Error> {
    let row = broadcasts::get(&panel.pool, id)
        .await?
        .ok_or_else(|| UserError::new(format!("Draft #{id} no longer exists.")))?;
    if row.status != broadcasts::BroadcastStatus::Draft {
        return Err(UserError::new(format!(
            "Draft #{id} is no longer a draft (it is {}): nothing changed.",
            row.status
        ))
        .into());
    }
    Ok(row)
}
