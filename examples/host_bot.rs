//! The admin panel inside someone else's poise bot: their own data type, their
//! own command next to the panel's, the panel's hooks and background tasks.
//!
//! ```sh
//! DISCORD_TOKEN=... DEVELOPER_USER_ID=... ADMIN_GUILD_ID=... \
//! DATABASE_URL=postgres://... cargo run --example host_bot
//! ```

use admin_panel::{AdminPanel, Error, HasAdminPanel, PanelOptions, registration};
use poise::serenity_prelude as serenity;

/// The host bot's own state, with the panel in it.
struct Data {
    panel: AdminPanel,
    greeting: String,
}

impl HasAdminPanel for Data {
    fn admin_panel(&self) -> &AdminPanel {
        &self.panel
    }
}

/// Says hello: the host bot's own command, recorded in `/admin stats` like any other.
#[poise::command(slash_command)]
async fn hello(ctx: poise::Context<'_, Data, Error>) -> Result<(), Error> {
    ctx.say(&ctx.data().greeting).await?;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let var = |name: &str| std::env::var(name).map_err(|_| anyhow::anyhow!("{name} is not set"));
    let developer = serenity::UserId::new(var("DEVELOPER_USER_ID")?.parse()?);
    let admin_guild = serenity::GuildId::new(var("ADMIN_GUILD_ID")?.parse()?);
    let pool = sqlx::PgPool::connect(&var("DATABASE_URL")?).await?;

    // Applies the panel's migrations and starts its background tasks.
    let (panel, mut background) = AdminPanel::start(pool, PanelOptions::new(developer)).await?;
    let data = Data {
        panel: panel.clone(),
        greeting: "Hello!".to_owned(),
    };

    // The panel's commands and hooks, plus the host's own command.
    let mut options = admin_panel::framework_options::<Data>();
    options.commands.push(hello());
    // `/admin` only in the developers' own server; everything else globally.
    let plan = registration::plan(&options.commands, &[admin_guild]);
    let framework = poise::Framework::builder()
        .options(options)
        .setup(move |ctx, _ready, _framework| {
            Box::pin(async move {
                let guard = data.panel.discord_guard.clone();
                registration::spawn_apply(ctx.http.clone(), plan, guard);
                Ok(data)
            })
        })
        .build();

    let mut client =
        serenity::ClientBuilder::new(var("DISCORD_TOKEN")?, serenity::GatewayIntents::GUILDS)
            .framework(framework)
            .await?;
    background.spawn_broadcast_worker(&panel, client.http.clone());
    let shards = client.shard_manager.clone();
    tokio::select! {
        result = client.start() => result?,
        _ = tokio::signal::ctrl_c() => shards.shutdown_all().await,
        // Discord refused the bot token (reset or revoked): the panel's
        // senders have stopped; stop the bot rather than keep being refused.
        () = panel.discord_guard.revoked().cancelled() => shards.shutdown_all().await,
    }
    // Writes what the panel buffered (command stats, log entries).
    background.shutdown().await;
    Ok(())
}
