//! `/admin blocklist add|remove|list`: servers the bot leaves at once and
//! again whenever they add it back, and users whose commands, buttons and
//! forms it refuses (here and in the host bot's own commands, see
//! [`crate::hooks::command_check`]). Developers cannot be blocked. Every
//! process holds the list in memory, told of each change by NOTIFY
//! ([`crate::blocked_set`]); each change is a log entry naming who made it.

use serenity::all::{CreateInteractionResponseMessage, UserId};

use super::Context;
use super::guild_option::parse_snowflake;
use super::leave::{ANSWER_WITHIN, checked_reason};
use super::pager::{self, ListView, Page, PageAt};
use crate::access::is_developer;
use crate::error::{Error, UserError};
use crate::events::blocked::Leaver;
use crate::panel::{AdminPanel, HasAdminPanel};
use crate::store::blocklist::{self, BlockKind};
use crate::store::guilds;
use crate::store::logs::Severity;
use crate::telemetry::oplog;
use crate::ui::blocklist::render_page;
use crate::ui::custom_id::View;

const PAGE_SIZE: i64 = 10;

/// The bot-wide blocklist of servers and users.
#[poise::command(
    slash_command,
    subcommands("add", "remove", "list"),
    subcommand_required
)]
pub async fn blocklist<U: HasAdminPanel>(_ctx: Context<'_, U>) -> Result<(), Error> {
    Ok(())
}

/// Blocks a server (the bot leaves it, and again whenever it is added) or a user.
#[poise::command(slash_command, ephemeral)]
pub async fn add<U: HasAdminPanel>(
    ctx: Context<'_, U>,
    #[description = "server or user"] kind: BlockKind,
    #[description = "The server's or user's id"]
    #[max_length = 30]
    id: String,
    #[description = "Why (shown in the list)"]
    #[max_length = 500]
    reason: String,
) -> Result<(), Error> {
    let panel = ctx.data().admin_panel();
    let id = parse_snowflake(&id, kind.as_str())?;
    let reason = checked_reason(&reason)?;
    if kind == BlockKind::User && is_developer(panel, UserId::new(id)) {
        return Err(UserError::new(format!(
            "<@{id}> is a developer: developers cannot be blocked. Nothing changed."
        ))
        .into());
    }
    let by = ctx.author();
    if !blocklist::add(&panel.pool, kind, id, &reason, by.id.get()).await? {
        return Err(UserError::new(format!(
            "{} is on the blocklist already: nothing changed.",
            named(kind, id)
        ))
        .into());
    }
    // Every process hears of it by NOTIFY; this one need not wait for that.
    panel.blocked.reload(&panel.pool).await?;
    let who = format!("{} ({})", by.name, by.id);
    let message = format!("{who} blocked {}: {reason}", named(kind, id));
    oplog::write_entry(
        &panel.pool,
        Severity::Info,
        "blocklist_added",
        None,
        &message,
    )
    .await?;
    let outcome = match kind {
        BlockKind::User => {
            format!("Blocked <@{id}>: the bot now refuses their commands, buttons and forms.")
        }
        BlockKind::Server => block_server(ctx, id, &format!("blocked by {who}: {reason}")).await?,
    };
    // The command is ephemeral: so is what it says.
    ctx.say(outcome).await?;
    Ok(())
}

/// Leaves a newly blocked server if the bot is in it; says what happened.
async fn block_server<U: HasAdminPanel>(
    ctx: Context<'_, U>,
    id: u64,
    why: &str,
) -> Result<String, Error> {
    let panel = ctx.data().admin_panel();
    let Some(name) = guilds::active_name(&panel.pool, id).await? else {
        return Ok(format!(
            "Blocked server `{id}`: the bot is not in it, and leaves at once if it is ever added."
        ));
    };
    let leaver = Leaver {
        pool: panel.pool.clone(),
        http: ctx.serenity_context().http.clone(),
        guard: panel.discord_guard.clone(),
        blocked: panel.blocked.clone(),
    };
    let (leaving_name, why) = (name.clone(), why.to_owned());
    let leaving = tokio::spawn(async move { leaver.leave(id, &leaving_name, &why).await });
    let shown = crate::ui::text::bold_name(&name, 100);
    Ok(match tokio::time::timeout(ANSWER_WITHIN, leaving).await {
        Ok(Ok(true)) => format!(
            "Blocked server {shown} (`{id}`): the bot left it, and leaves again whenever it is added."
        ),
        Ok(_) => format!(
            "Blocked server {shown} (`{id}`), but Discord did not let the bot leave (see the log); it leaves whenever the server sends its next GUILD_CREATE."
        ),
        Err(_) => format!(
            "Blocked server {shown} (`{id}`): the bot leaves it as soon as Discord answers."
        ),
    })
}

/// Takes a server or user off the blocklist.
#[poise::command(slash_command, ephemeral)]
pub async fn remove<U: HasAdminPanel>(
    ctx: Context<'_, U>,
    #[description = "server or user"] kind: BlockKind,
    #[description = "The server's or user's id"]
    #[max_length = 30]
    id: String,
) -> Result<(), Error> {
    let panel = ctx.data().admin_panel();
    let id = parse_snowflake(&id, kind.as_str())?;
    if !blocklist::remove(&panel.pool, kind, id).await? {
        return Err(UserError::new(format!(
            "{} is not on the blocklist: nothing changed.",
            named(kind, id)
        ))
        .into());
    }
    panel.blocked.reload(&panel.pool).await?;
    let by = ctx.author();
    let message = format!("{} ({}) unblocked {}", by.name, by.id, named(kind, id));
    oplog::write_entry(
        &panel.pool,
        Severity::Info,
        "blocklist_removed",
        None,
        &message,
    )
    .await?;
    let outcome = match kind {
        BlockKind::User => format!("Unblocked <@{id}>: the bot answers them again."),
        BlockKind::Server => format!(
            "Unblocked server `{id}`: the bot stays if it is added again (it does not rejoin by itself)."
        ),
    };
    // The command is ephemeral: so is what it says.
    ctx.say(outcome).await?;
    Ok(())
}

/// Every blocked server and user, newest first, with who added them and why.
#[poise::command(slash_command, ephemeral)]
pub async fn list<U: HasAdminPanel>(ctx: Context<'_, U>) -> Result<(), Error> {
    pager::show::<Blocklist, U>(ctx, ()).await
}

fn named(kind: BlockKind, id: u64) -> String {
    match kind {
        BlockKind::Server => format!("Server `{id}`"),
        BlockKind::User => format!("User <@{id}>"),
    }
}

/// The blocklist, paged by offset (it holds hundreds, not millions).
pub struct Blocklist;

impl ListView for Blocklist {
    const VIEW: View = View::Blocklist;
    type Args = ();

    async fn page(panel: &AdminPanel, _args: &(), at: PageAt) -> Result<Page, Error> {
        let total = blocklist::count(&panel.pool).await?;
        let (index, pages) = pager::by_offset(total, PAGE_SIZE, at);
        let entries = blocklist::page(&panel.pool, index as i64 * PAGE_SIZE, PAGE_SIZE).await?;
        Ok(Page {
            embed: render_page(&entries, total, index, pages),
            items: Vec::new(),
            index,
            count: pages,
            first_key: 0,
            last_key: 0,
        })
    }

    async fn open(
        _panel: &AdminPanel,
        _args: &(),
        _value: &str,
        _owner: u64,
    ) -> Result<CreateInteractionResponseMessage, Error> {
        Err(UserError::new("Nothing to open here.").into())
    }
}
