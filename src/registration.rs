//! Registers the slash commands, for the reference bot and host bots alike.
//! `/admin` goes only to the admin guilds (`ADMIN_GUILD_IDS`), so it is
//! invisible everywhere else; without them it is global, hidden behind the
//! Administrator permission (the developer check still gates every use).

use serenity::all::{Command, CreateCommand, GuildId, Http, Permissions};

use crate::error::{Error, cause_chain};

/// Which commands go where.
#[derive(Debug, Clone)]
pub struct Registration {
    /// Every command but `/admin` (and `/admin` too when no admin server is set).
    pub global: Vec<CreateCommand>,
    /// `ADMIN_GUILD_IDS`: the servers that get `/admin`.
    pub admin_guilds: Vec<GuildId>,
    /// Registered in each of `admin_guilds` (empty when `/admin` is global).
    pub per_admin_guild: Vec<CreateCommand>,
}

/// Splits `/admin` from the host bot's other commands.
pub fn plan<U, E>(commands: &[poise::Command<U, E>], admin_guild_ids: &[GuildId]) -> Registration {
    let mut global = Vec::new();
    let mut admin = Vec::new();
    for command in commands {
        let Some(slash) = command.create_as_slash_command() else {
            continue;
        };
        if command.name == "admin" {
            admin.push(slash);
        } else {
            global.push(slash);
        }
    }
    if admin_guild_ids.is_empty() {
        global.extend(
            admin
                .into_iter()
                .map(|command| command.default_member_permissions(Permissions::ADMINISTRATOR)),
        );
        admin = Vec::new();
    }
    Registration {
        global,
        admin_guilds: admin_guild_ids.to_vec(),
        per_admin_guild: admin,
    }
}

/// Registers `registration` with Discord: global commands, then `/admin` in each admin server.
pub async fn apply(http: &Http, registration: Registration) -> Result<(), Error> {
    if registration.admin_guilds.is_empty() {
        tracing::warn!(
            "ADMIN_GUILD_IDS is empty: /admin is registered globally, shown only to server \
             administrators and usable only by developers. Set ADMIN_GUILD_IDS to your own server."
        );
    }
    Command::set_global_commands(http, registration.global).await?;
    for guild in &registration.admin_guilds {
        guild
            .set_commands(http, registration.per_admin_guild.clone())
            .await?;
    }
    Ok(())
}

/// Registration runs in the background so a slow Discord never delays start-up;
/// a failure is logged (the bot keeps working with the previous registration),
/// except a refused bot token, which `guard` logs and acts on.
pub fn spawn_apply(
    http: std::sync::Arc<Http>,
    registration: Registration,
    guard: std::sync::Arc<crate::discord_guard::DiscordGuard>,
) {
    tokio::spawn(async move {
        match apply(&http, registration).await {
            Ok(()) => tracing::info!("slash commands registered"),
            Err(error) if guard.observe_any(error.as_ref()) => {}
            Err(error) => {
                tracing::error!(error = %cause_chain(error.as_ref()), "slash command registration failed");
            }
        }
    });
}
