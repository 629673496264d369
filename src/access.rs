//! Who may do what. `/admin` and its controls are for developers only: the
//! primary one from `DEVELOPER_USER_ID`, or anyone in the `developers` table.
//! Every `/admin` command passes [`developer_check`]; every button, select menu
//! and modal of the panel passes [`guard_press`] at the moment it arrives, so
//! a control is refused to anyone but the user it was drawn for, and to that
//! user too once they have lost the right to use it.
//!
//! `/settings` and its controls are for members with Manage Server and for the
//! server's managers ([`can_change_settings`]); being a manager of a server
//! opens that server's `/settings` only, never `/admin`.
//!
//! A user on the blocklist ([`is_blocked_user`]) is refused everything: the
//! panel's controls here, and every command, the host bot's own included,
//! in [`crate::hooks::command_check`].

use serenity::all::{
    ComponentInteraction, GuildId, Http, InteractionId, ModalInteraction, Permissions, UserId,
};

use crate::error::Error;
use crate::panel::{AdminPanel, HasAdminPanel};
use crate::reply;
use crate::store::blocklist::BlockKind;
use crate::store::managers;
use crate::ui::custom_id::ControlId;

/// What a non-developer is told, on commands, buttons and modals alike.
pub const REFUSAL: &str = "This command is for the bot's developers.";

/// What anyone pressing someone else's controls is told.
pub const NOT_YOURS: &str = "These controls belong to someone else.";

/// What a blocked user is told, on every command, button and form.
pub const NOT_AVAILABLE: &str = "This bot is not available to you.";

/// What a member without Manage Server is told by `/settings` and its menus.
pub const NEEDS_MANAGE_SERVER: &str =
    "You need the Manage Server permission to change this server's settings.";

/// The primary developer, or anyone in the `developers` table as this process
/// holds it in memory (refreshed on every change, see [`crate::developer_set`]):
/// no database round trip, so the check answers even when the database does not.
pub fn is_developer(panel: &AdminPanel, user: UserId) -> bool {
    user == panel.options.primary_developer || panel.developers.contains(user.get())
}

/// Whether `user` is on the blocklist (as this process holds it, see
/// [`crate::blocked_set`]). A developer never is: developers cannot be
/// blocked, and an entry made by hand does not lock one out.
pub fn is_blocked_user(panel: &AdminPanel, user: UserId) -> bool {
    panel.blocked.contains(BlockKind::User, user.get()) && !is_developer(panel, user)
}

/// The poise check on the `/admin` parent command (it guards every subcommand).
pub async fn developer_check<U: HasAdminPanel>(
    ctx: poise::Context<'_, U, Error>,
) -> Result<bool, Error> {
    Ok(is_developer(ctx.data().admin_panel(), ctx.author().id))
}

/// Whether an autocomplete request comes from a developer. poise 0.7.1 runs
/// the command checks for autocomplete too (`check_permissions_and_cooldown`
/// in its `dispatch/slash.rs`), so [`developer_check`] on `/admin` refuses a
/// stranger's autocomplete before it gets here, and `hooks::on_error` sends
/// nothing for it. Every `/admin` autocomplete asks this as well, so none of
/// them depends on that check being installed: each offers nothing to anyone
/// else on its own.
pub async fn developer_autocompletes<U: HasAdminPanel>(ctx: poise::Context<'_, U, Error>) -> bool {
    is_developer(ctx.data().admin_panel(), ctx.author().id)
}

/// Whether member permissions (as Discord computed them into the
/// interaction) allow changing a server's settings.
pub fn can_manage_server(permissions: Option<Permissions>) -> bool {
    permissions.is_some_and(|p| p.manage_guild() || p.administrator())
}

/// Whether `user` may change server `guild`'s settings: with Manage Server
/// (as Discord computed it into the interaction), or as one of the server's
/// managers (`/settings managers`). The database is asked only without Manage
/// Server, and only about `guild`: a manager of one server is nobody elsewhere.
pub async fn can_change_settings(
    panel: &AdminPanel,
    guild: Option<GuildId>,
    user: UserId,
    permissions: Option<Permissions>,
) -> Result<bool, sqlx::Error> {
    if can_manage_server(permissions) {
        return Ok(true);
    }
    match guild {
        Some(guild) => managers::is_manager(&panel.pool, guild.get(), user.get()).await,
        None => Ok(false),
    }
}

/// What a control needs from the one who presses it, besides being its owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// `/admin` controls: a developer, checked again at every press.
    Developer,
    /// `/settings` controls: Manage Server, as the press reports it, or
    /// being a manager of the server the press comes from.
    ManageServer,
}

/// A press or modal submit, as far as access is concerned.
#[derive(Debug, Clone, Copy)]
pub struct Press<'a> {
    /// The interaction, for the reply.
    pub id: InteractionId,
    /// The interaction's token, valid for 15 minutes.
    pub token: &'a str,
    /// Who pressed or submitted.
    pub user: UserId,
    /// Their permissions in the channel (`None` in direct messages).
    pub permissions: Option<Permissions>,
    /// The server the press comes from (`None` in direct messages).
    pub guild: Option<GuildId>,
}

impl<'a> From<&'a ComponentInteraction> for Press<'a> {
    fn from(press: &'a ComponentInteraction) -> Self {
        Self {
            id: press.id,
            token: &press.token,
            user: press.user.id,
            permissions: press.member.as_ref().and_then(|member| member.permissions),
            guild: press.guild_id,
        }
    }
}

impl<'a> From<&'a ModalInteraction> for Press<'a> {
    fn from(submit: &'a ModalInteraction) -> Self {
        Self {
            id: submit.id,
            token: &submit.token,
            user: submit.user.id,
            permissions: submit.member.as_ref().and_then(|member| member.permissions),
            guild: submit.guild_id,
        }
    }
}

/// Why `press` on controls drawn for `owner` is refused, if it is.
pub async fn refusal(
    panel: &AdminPanel,
    needs: Needs,
    owner: UserId,
    press: Press<'_>,
) -> Result<Option<&'static str>, sqlx::Error> {
    if is_blocked_user(panel, press.user) {
        return Ok(Some(NOT_AVAILABLE));
    }
    if press.user != owner {
        return Ok(Some(NOT_YOURS));
    }
    let allowed = match needs {
        Needs::Developer => is_developer(panel, press.user),
        Needs::ManageServer => {
            can_change_settings(panel, press.guild, press.user, press.permissions).await?
        }
    };
    Ok((!allowed).then_some(match needs {
        Needs::Developer => REFUSAL,
        Needs::ManageServer => NEEDS_MANAGE_SERVER,
    }))
}

/// The one guard every control passes: refuses (ephemerally, changing
/// nothing) anyone but `owner`, and `owner` too without what `needs` asks.
/// Returns `true` when the press was refused and answered.
pub async fn guard_press(
    panel: &AdminPanel,
    http: &Http,
    needs: Needs,
    owner: UserId,
    press: Press<'_>,
) -> Result<bool, Error> {
    let Some(text) = refusal(panel, needs, owner, press).await? else {
        return Ok(false);
    };
    let _ = REFUSED.try_with(|refused| refused.set(true));
    reply::ephemeral(http, press.id, press.token, text).await?;
    Ok(true)
}

/// [`guard_press`] for a control of the panel: its owner is the user its
/// signed id names.
pub async fn guard_control(
    panel: &AdminPanel,
    http: &Http,
    needs: Needs,
    control: &ControlId,
    press: Press<'_>,
) -> Result<bool, Error> {
    let owner = UserId::new(control.owner.max(1));
    guard_press(panel, http, needs, owner, press).await
}

tokio::task_local! {
    /// Set by [`guard_press`] when it refuses, inside [`noting_refusals`].
    static REFUSED: std::cell::Cell<bool>;
}

/// Runs `handling` (a press or submit's handler) and says whether
/// [`guard_press`] refused it on the way, for the command statistics: a
/// refused press is answered and returns `Ok` like an allowed one.
pub async fn noting_refusals<F: std::future::Future>(handling: F) -> (F::Output, bool) {
    REFUSED
        .scope(std::cell::Cell::new(false), async {
            let output = handling.await;
            (output, REFUSED.with(std::cell::Cell::get))
        })
        .await
}
