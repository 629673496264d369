//! `/admin alerts channel|mute|unmute|test|list`: where alerts go, silencing
//! a key for a while, proving delivery works, and what is active. The
//! alerts themselves come from the background evaluator ([`crate::alerts`]).

use std::time::Duration;

use chrono::Utc;
use poise::CreateReply;
use serenity::all::PartialChannel;

use super::Context;
use crate::alerts::conditions::valid_key;
use crate::alerts::deliver;
use crate::broadcast::channel::check_broadcast_channel;
use crate::error::{Error, UserError};
use crate::panel::HasAdminPanel;
use crate::store::alerts as store;
use crate::store::logs::Severity;
use crate::telemetry::oplog;
use crate::ui::alerts::{AlertMessage, AlertOverview, Phase, render_alert, render_overview};

/// The shortest and longest mute.
const MUTE_RANGE: (Duration, Duration) =
    (Duration::from_secs(60), Duration::from_secs(30 * 24 * 3600));

/// Alerts to the developers: where they go, mutes, a test, what is active.
#[poise::command(
    slash_command,
    subcommands("channel", "mute", "unmute", "test", "list"),
    subcommand_required
)]
pub async fn alerts<U: HasAdminPanel>(_ctx: Context<'_, U>) -> Result<(), Error> {
    Ok(())
}

async fn reply<U: HasAdminPanel>(ctx: Context<'_, U>, text: String) -> Result<(), Error> {
    ctx.send(CreateReply::default().content(text).ephemeral(true))
        .await?;
    Ok(())
}

/// Where alerts go: a channel of this server where the bot can post embeds.
#[poise::command(slash_command, ephemeral)]
pub async fn channel<U: HasAdminPanel>(
    ctx: Context<'_, U>,
    #[description = "A text or announcement channel of this server"]
    #[channel_types("Text", "News")]
    channel: PartialChannel,
) -> Result<(), Error> {
    let panel = ctx.data().admin_panel();
    let Some(guild_id) = ctx.guild_id() else {
        return Err(UserError::new("Run this in the server that has the alert channel.").into());
    };
    let bot_id = ctx.framework().bot_id();
    check_broadcast_channel(ctx.http(), guild_id, channel.id, bot_id).await?;
    store::set_channel(
        &panel.pool,
        guild_id.get(),
        channel.id.get(),
        ctx.author().id.get(),
    )
    .await?;
    oplog::write_entry(
        &panel.pool,
        Severity::Info,
        "config_update",
        Some(guild_id.get()),
        &format!(
            "{} ({}) set the alert channel to {}",
            ctx.author().name,
            ctx.author().id,
            channel.id
        ),
    )
    .await?;
    reply(
        ctx,
        format!(
            "Alerts go to <#{}> now. `/admin alerts test` checks that they arrive.",
            channel.id
        ),
    )
    .await
}

/// A key as typed: trimmed, lower case, and one the alerts can have.
fn parse_key(raw: &str) -> Result<String, UserError> {
    let key = raw.trim().to_ascii_lowercase();
    if valid_key(&key) {
        Ok(key)
    } else {
        Err(UserError::new(
            "That is not an alert key: use the key from an alert's footer or `/admin alerts list`, e.g. `errors:command_error` or `health:memory`. Nothing changed.",
        ))
    }
}

/// `30m`, `2h`, `1d`, `1h 30m`, within `MUTE_RANGE`.
pub fn parse_mute_duration(raw: &str) -> Result<Duration, UserError> {
    match humantime::parse_duration(raw.trim()) {
        Ok(duration) if duration >= MUTE_RANGE.0 && duration <= MUTE_RANGE.1 => Ok(duration),
        _ => Err(UserError::new(format!(
            "`{}` is not a duration from 1 minute to 30 days; write e.g. `30m`, `2h`, `1d` or `1h 30m`. Nothing changed.",
            raw.chars().take(40).collect::<String>()
        ))),
    }
}

/// Silences one alert key for a while (it is still tracked and listed).
#[poise::command(slash_command, ephemeral)]
pub async fn mute<U: HasAdminPanel>(
    ctx: Context<'_, U>,
    #[description = "The alert key, e.g. errors:command_error"] key: String,
    #[rename = "for"]
    #[description = "How long: 30m, 2h, 1d"]
    duration: String,
) -> Result<(), Error> {
    let panel = ctx.data().admin_panel();
    let key = parse_key(&key)?;
    let duration = parse_mute_duration(&duration)?;
    let until = Utc::now()
        + chrono::TimeDelta::from_std(duration).map_err(|_| UserError::new("Too long."))?;
    store::mute(&panel.pool, &key, until, ctx.author().id.get()).await?;
    oplog::write_entry(
        &panel.pool,
        Severity::Info,
        "alert_muted",
        None,
        &format!(
            "{} ({}) muted alert {key} until {}",
            ctx.author().name,
            ctx.author().id,
            until.to_rfc3339()
        ),
    )
    .await?;
    reply(
        ctx,
        format!(
            "`{key}` is muted until <t:{}:f>: no message for it until then.",
            until.timestamp()
        ),
    )
    .await
}

/// Ends a mute at once.
#[poise::command(slash_command, ephemeral)]
pub async fn unmute<U: HasAdminPanel>(
    ctx: Context<'_, U>,
    #[description = "The muted alert key"] key: String,
) -> Result<(), Error> {
    let panel = ctx.data().admin_panel();
    let key = parse_key(&key)?;
    if !store::unmute(&panel.pool, &key).await? {
        return Err(UserError::new(format!("`{key}` is not muted.")).into());
    }
    oplog::write_entry(
        &panel.pool,
        Severity::Info,
        "alert_unmuted",
        None,
        &format!(
            "{} ({}) unmuted alert {key}",
            ctx.author().name,
            ctx.author().id
        ),
    )
    .await?;
    reply(ctx, format!("`{key}` is no longer muted.")).await
}

/// Sends a test alert to the alert channel and webhook, and says whether it arrived.
#[poise::command(slash_command, ephemeral)]
pub async fn test<U: HasAdminPanel>(ctx: Context<'_, U>) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    let panel = ctx.data().admin_panel();
    let evaluator = panel.alert_evaluator(ctx.serenity_context().http.clone());
    let state = evaluator.state();
    if !deliver::has_destination(state).await? {
        return Err(UserError::new(
            "Alerts have nowhere to go: set a channel with `/admin alerts channel` or ALERT_WEBHOOK_URL.",
        )
        .into());
    }
    let now = Utc::now();
    let message = AlertMessage {
        key: "test".to_owned(),
        title: "Test alert".to_owned(),
        detail: format!(
            "Sent by <@{}> with `/admin alerts test`. Real alerts arrive here the same way.",
            ctx.author().id
        ),
        phase: Phase::Test,
        since: now,
        now,
    };
    let delivery = deliver::deliver(state, "test", render_alert(&message)).await;
    let verdict = if delivery.delivered() {
        "The test alert arrived:"
    } else {
        "The test alert did not arrive anywhere:"
    };
    reply(ctx, format!("{verdict}\n{}", delivery.describe())).await
}

/// Active and recent alerts, muted keys, and where alerts go.
#[poise::command(slash_command, ephemeral)]
pub async fn list<U: HasAdminPanel>(ctx: Context<'_, U>) -> Result<(), Error> {
    let panel = ctx.data().admin_panel();
    let (alerts, mutes, channel, (sent, suppressed)) = tokio::try_join!(
        store::overview(&panel.pool, 50),
        store::mutes(&panel.pool),
        store::channel(&panel.pool),
        store::budget(&panel.pool),
    )?;
    let overview = AlertOverview {
        alerts,
        mutes,
        channel: channel.map(|(_, channel)| channel),
        webhook: panel.options.alerts.webhook.is_some(),
        sent_this_hour: sent,
        suppressed_this_hour: suppressed,
        max_per_hour: panel.options.alerts.max_per_hour,
        now: Utc::now(),
    };
    ctx.send(
        CreateReply::default()
            .embed(render_overview(&overview))
            .ephemeral(true),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mute_durations_parse_and_are_bounded() {
        assert_eq!(
            parse_mute_duration("30m").unwrap(),
            Duration::from_secs(1800)
        );
        assert_eq!(
            parse_mute_duration(" 2h ").unwrap(),
            Duration::from_secs(7200)
        );
        assert_eq!(
            parse_mute_duration("1d").unwrap(),
            Duration::from_secs(86_400)
        );
        assert_eq!(
            parse_mute_duration("1h 30m").unwrap(),
            Duration::from_secs(5400)
        );
        for bad in ["", "10s", "31d", "soon", "-1h"] {
            assert!(parse_mute_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn keys_are_normalized_or_refused() {
        assert_eq!(
            parse_key(" Errors:Command_Error ").unwrap(),
            "errors:command_error"
        );
        assert!(parse_key("errors command").is_err());
    }
}
