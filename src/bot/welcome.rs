//! The reference bot's welcome module: its greeting is a module setting
//! (`/settings module welcome on message:<text>`), read through the panel's
//! typed API ([`crate::modules`]). The bot connects with the `GUILDS` intent
//! only (no privileged `GUILD_MEMBERS`, so no member-join events), so the
//! greeting's real use here is `/welcome-preview`: the greeting as a new
//! member would read it. A bot with the members intent would send the same
//! [`greeting`] on `GUILD_MEMBER_ADD`, allowing a ping of the new member only.

use poise::CreateReply;
use serenity::all::CreateAllowedMentions;

use crate::error::{Error, UserError};
use crate::panel::AdminPanel;
use crate::store;
use crate::ui::text::truncate;
use crate::validate::defuse_mass_mentions;

/// The module's name in [`super::commands::MODULES`].
pub const MODULE: &str = "welcome";

/// The greeting of a server that set none.
pub const DEFAULT_MESSAGE: &str = "Welcome to {server}, {user}!";

/// The welcome module's settings in a server.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WelcomeSettings {
    /// `{user}` is the new member's mention, `{server}` the server's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The greeting for `user_mention` in `server`, within a message's 2000
/// characters, never pinging @everyone or @here (the server's name is
/// defused too: it is the server's to choose).
pub fn greeting(settings: &WelcomeSettings, user_mention: &str, server: &str) -> String {
    let template = settings.message.as_deref().unwrap_or(DEFAULT_MESSAGE);
    let text = template
        .replace("{server}", &defuse_mass_mentions(server))
        .replace("{user}", user_mention);
    truncate(&defuse_mass_mentions(&text), 1800)
}

type Context<'a> = poise::Context<'a, AdminPanel, Error>;

/// Shows this server's welcome message as a new member would read it.
#[poise::command(slash_command, guild_only, rename = "welcome-preview", ephemeral)]
pub(crate) async fn welcome_preview(ctx: Context<'_>) -> Result<(), Error> {
    let guild_id = ctx
        .guild_id()
        .ok_or_else(|| UserError::new("Use this in a server."))?
        .get();
    let pool = &ctx.data().pool;
    let settings: WelcomeSettings = crate::modules::settings(pool, guild_id, MODULE)
        .await?
        .unwrap_or_default();
    let enabled = store::settings::modules(pool, guild_id)
        .await?
        .into_iter()
        .any(|(module, on)| module == MODULE && on);
    let server = store::guilds::name(pool, guild_id)
        .await?
        .unwrap_or_else(|| "this server".to_owned());
    let state = if enabled {
        "The welcome module is **on** here."
    } else {
        "The welcome module is **off** here (`/settings module welcome on` turns it on)."
    };
    let text = greeting(&settings, &format!("<@{}>", ctx.author().id), &server);
    ctx.send(
        CreateReply::default()
            .content(format!("{state} A new member would read:\n>>> {text}"))
            .allowed_mentions(CreateAllowedMentions::new())
            .ephemeral(true),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_greeting_fills_in_the_member_and_the_server() {
        let custom = WelcomeSettings {
            message: Some("Hi {user}, this is {server}.".into()),
        };
        assert_eq!(greeting(&custom, "<@5>", "Cats"), "Hi <@5>, this is Cats.");
        assert_eq!(
            greeting(&WelcomeSettings::default(), "<@5>", "Cats"),
            "Welcome to Cats, <@5>!"
        );
    }

    #[test]
    fn the_greeting_never_pings_everyone_and_fits_a_message() {
        let sneaky = WelcomeSettings {
            message: Some("{server} @everyone ".repeat(100)),
        };
        let text = greeting(&sneaky, "<@5>", "@here");
        assert!(
            !text.contains("@everyone") && !text.contains("@here"),
            "{text}"
        );
        assert!(text.chars().count() <= 1800);
        let stored = serde_json::to_value(&sneaky).unwrap();
        assert!(stored["message"].is_string());
        assert_eq!(
            serde_json::to_value(WelcomeSettings::default()).unwrap(),
            serde_json::json!({})
        );
    }
}
