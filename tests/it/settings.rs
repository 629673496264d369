//! `/settings`: validation, permission checks before saving, `config_update`
//! log entries, and what `/settings show` and the stored values say afterwards.

use std::time::Duration;

use crate::support::bot::{TestBot, eventually, test_config};
use crate::support::db::TestDb;
use crate::support::discord::{CHANNEL_MESSAGE_WITH_SOURCE, EPHEMERAL, STRING_SELECT};
use crate::support::fake_discord::FakeDiscord;
use crate::support::fixtures;
use admin_panel::store::permission_snapshots;
use admin_panel::store::settings as store;
use serde_json::{Value, json};

const GUILD: u64 = 710_000_000_000_000_000;
const MANAGER: u64 = 200_000_000_000_000_500;
const TEXT: u64 = 720_000_000_000_000_001;
const VOICE: u64 = 720_000_000_000_000_002;
const NO_EMBEDS: u64 = 720_000_000_000_000_003;
const WAIT: Duration = Duration::from_secs(10);
/// View Channel | Send Messages | Embed Links.
const BOT_PERMISSIONS: u64 = 1024 | 2048 | 16384;

async fn start() -> (FakeDiscord, TestDb, TestBot) {
    let fake = FakeDiscord::start().await;
    let db = TestDb::new().await;
    sqlx::query("INSERT INTO guilds (id, name, joined_at) VALUES ($1, 'Settings Test', now())")
        .bind(GUILD as i64)
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO guild_settings (guild_id) VALUES ($1)")
        .bind(GUILD as i64)
        .execute(&db.pool)
        .await
        .unwrap();
    fake.add_guild(fixtures::partial_guild(GUILD, 0, BOT_PERMISSIONS));
    fake.add_member(GUILD, fixtures::bot_member(GUILD));
    fake.add_channel(fixtures::guild_channel(TEXT, GUILD, 0, json!([])));
    fake.add_channel(fixtures::guild_channel(VOICE, GUILD, 2, json!([])));
    let deny_embeds =
        json!([{ "id": (GUILD + 1).to_string(), "type": 0, "allow": "0", "deny": "16384" }]);
    fake.add_channel(fixtures::guild_channel(NO_EMBEDS, GUILD, 0, deny_embeds));
    let bot = TestBot::start(&fake, test_config(&fake, &db, &[])).await;
    (fake, db, bot)
}

/// Sends the interaction; returns the reply. A deferred reply (type 5) is
/// followed by the real one as a follow-up message, returned in the same shape.
async fn run(fake: &FakeDiscord, interaction: Value) -> Value {
    let token = interaction["token"].as_str().unwrap().to_owned();
    fake.dispatch("INTERACTION_CREATE", interaction).await;
    let callback = fake.wait_for_callback(&token, WAIT).await;
    if callback["type"] != 5 {
        return callback;
    }
    assert_eq!(callback["data"]["flags"], EPHEMERAL, "deferred ephemerally");
    let follow_up = fake
        .wait_for_request("the follow-up", WAIT, |r| {
            r.method == "POST" && r.path.ends_with(&format!("/{token}"))
        })
        .await;
    json!({ "type": CHANNEL_MESSAGE_WITH_SOURCE, "data": follow_up.body.unwrap() })
}

fn settings(path: &str, options: Vec<(&str, Value)>) -> Value {
    let token = format!("settings-{}", rand::random::<u32>());
    fixtures::slash_command(
        rand::random::<u32>() as u64 + 1,
        &token,
        Some(GUILD),
        MANAGER,
        &["settings", path],
        options,
    )
}

fn content(response: &Value) -> String {
    response["data"]["content"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn current(db: &TestDb) -> store::GuildSettings {
    store::get(&db.pool, GUILD).await.unwrap().expect("seeded")
}

async fn config_updates(db: &TestDb) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM system_logs WHERE event_type = 'config_update' AND guild_id = $1",
    )
    .bind(GUILD as i64)
    .fetch_one(&db.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_broadcast_channel_is_saved_only_where_the_bot_can_post_embeds() {
    let (fake, db, bot) = start().await;

    let voice = run(
        &fake,
        fixtures::with_channel_option(settings("broadcast-channel", vec![]), "channel", VOICE, 2),
    )
    .await;
    assert!(
        content(&voice).contains("is not a text or announcement channel"),
        "{}",
        content(&voice)
    );
    let denied = run(
        &fake,
        fixtures::with_channel_option(
            settings("broadcast-channel", vec![]),
            "channel",
            NO_EMBEDS,
            0,
        ),
    )
    .await;
    assert!(
        content(&denied).starts_with("I am missing Embed Links in"),
        "{}",
        content(&denied)
    );
    assert_eq!(
        current(&db).await.broadcast_channel_id,
        None,
        "nothing saved"
    );
    assert_eq!(config_updates(&db).await, 0);

    let saved = run(
        &fake,
        fixtures::with_channel_option(settings("broadcast-channel", vec![]), "channel", TEXT, 0),
    )
    .await;
    assert_eq!(
        content(&saved),
        format!("Saved: the broadcast channel to <#{TEXT}>.")
    );
    assert_eq!(saved["data"]["flags"], EPHEMERAL);
    assert_eq!(current(&db).await.broadcast_channel_id, Some(TEXT));
    assert_eq!(config_updates(&db).await, 1);
    // What the check read is stored as the permission snapshot, for every
    // process (this one may not hold the server's shard).
    let (server, channel) = eventually("the snapshot stored", WAIT, || async {
        let server = permission_snapshots::server(&db.pool, GUILD)
            .await
            .unwrap()?;
        let (channel, _) = permission_snapshots::channel(&db.pool, TEXT)
            .await
            .unwrap()?;
        Some((server, channel))
    })
    .await;
    assert_eq!(server.bot.map(|bot| bot.roles), Some(vec![GUILD + 1]));
    assert_eq!(
        server.roles.get(&(GUILD + 1)).map(|p| p.bits()),
        Some(BOT_PERMISSIONS)
    );
    assert_eq!((channel.guild_id, channel.overwrites.len()), (GUILD, 0));

    let cleared = run(&fake, settings("broadcast-channel", vec![])).await;
    assert!(content(&cleared).contains("to none"));
    assert_eq!(current(&db).await.broadcast_channel_id, None);
    fake.assert_no_spec_violations();
    bot.stop().await;
}

#[tokio::test]
async fn color_language_and_module_changes_are_validated_saved_and_shown() {
    let (fake, db, bot) = start().await;

    let bad = run(&fake, settings("color", vec![("hex", json!("#12345G"))])).await;
    assert!(content(&bad).contains("is not a color"));
    let unknown = run(
        &fake,
        settings(
            "module",
            vec![("name", json!("music")), ("state", json!(0))],
        ),
    )
    .await;
    assert!(
        content(&unknown).starts_with("There is no module `music`. Modules: welcome, levels"),
        "{}",
        content(&unknown)
    );
    // A forged choice outside the registered list (Discord's client would never send it).
    let forged = run(&fake, settings("language", vec![("code", json!(99))])).await;
    assert!(
        content(&forged).starts_with("That value is not valid"),
        "{}",
        content(&forged)
    );
    assert_eq!(
        config_updates(&db).await,
        0,
        "invalid input changes nothing"
    );

    run(&fake, settings("color", vec![("hex", json!("ff8800"))])).await;
    run(&fake, settings("language", vec![("code", json!(1))])).await; // choice 1 = de
    let module = run(
        &fake,
        settings(
            "module",
            vec![("name", json!("Levels")), ("state", json!(0))],
        ),
    )
    .await;
    assert_eq!(content(&module), "Saved: module levels to on.");

    let stored = current(&db).await;
    assert_eq!(
        (stored.embed_color, stored.language.as_str()),
        (0xFF8800, "de")
    );
    assert_eq!(
        store::modules(&db.pool, GUILD).await.unwrap(),
        vec![("levels".to_owned(), true)]
    );
    assert_eq!(config_updates(&db).await, 3);

    let shown = run(&fake, settings("show", vec![])).await;
    let embed = &shown["data"]["embeds"][0];
    assert_eq!(embed["color"], 0xFF8800);
    let text = embed.to_string();
    for expected in [
        "#FF8800",
        "\"de\"",
        "**levels**: on",
        "**welcome**: off",
        "not set (no broadcasts)",
        "\"Published to followers\",\"value\":\"off\"",
    ] {
        assert!(text.contains(expected), "{expected} in {text}");
    }
    fake.assert_no_spec_violations();
    bot.stop().await;
}

#[tokio::test]
async fn members_without_manage_server_are_refused() {
    let (fake, db, bot) = start().await;
    let mut interaction = settings("color", vec![("hex", json!("#000000"))]);
    interaction["member"]["permissions"] = json!("0");

    let refused = run(&fake, interaction).await;

    assert_eq!(
        content(&refused),
        "You need the Manage Server permission to change this server's settings."
    );
    assert_eq!(current(&db).await.embed_color, 0x5865F2);
    bot.stop().await;
}

/// Picks `values` in the categories menu of `message` as `user` with
/// `permissions` (as Discord computes them into the interaction).
async fn pick(
    fake: &FakeDiscord,
    message: &Value,
    user: u64,
    permissions: &str,
    values: &[&str],
) -> Value {
    let menu_id = crate::support::interact::control(message, "Categories this server accepts");
    let token = format!("pick-{}", rand::random::<u32>());
    let mut pick = fixtures::button_press(99, &token, Some(GUILD), user, &menu_id, message.clone());
    pick["member"]["permissions"] = json!(permissions);
    pick["data"] =
        json!({ "custom_id": menu_id, "component_type": STRING_SELECT, "values": values });
    run(fake, pick).await
}

#[tokio::test]
async fn accepted_categories_are_chosen_from_a_menu_that_survives_a_restart() {
    let (fake, db, bot) = start().await;
    let interaction = settings("broadcast-categories", vec![]);
    let token = interaction["token"].as_str().unwrap().to_owned();
    let menu = run(&fake, interaction).await;
    assert_eq!(
        menu["data"]["components"][0]["components"][0]["options"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let message = fake.original_response(&token).unwrap();

    let bot = bot.restart(&fake, test_config(&fake, &db, &[])).await;
    let saved = pick(&fake, &message, MANAGER, "8", &["maintenance"]).await;

    assert_eq!(
        content(&saved),
        "Saved: the accepted broadcasts to maintenance."
    );
    assert_eq!(
        current(&db).await.broadcast_categories,
        vec!["maintenance".to_owned()]
    );
    fake.assert_no_spec_violations();
    bot.stop().await;
}

#[tokio::test]
async fn the_categories_menu_checks_manage_server_again_on_every_pick() {
    let (fake, db, bot) = start().await;
    let interaction = settings("broadcast-categories", vec![]);
    let token = interaction["token"].as_str().unwrap().to_owned();
    run(&fake, interaction).await;
    let message = fake.original_response(&token).unwrap();

    // The manager lost Manage Server since the menu was drawn.
    let demoted = pick(&fake, &message, MANAGER, "0", &["changelog"]).await;
    assert_eq!(content(&demoted), admin_panel::access::NEEDS_MANAGE_SERVER);
    let stranger = pick(&fake, &message, MANAGER + 1, "8", &["changelog"]).await;
    assert_eq!(content(&stranger), admin_panel::access::NOT_YOURS);
    assert_eq!(
        current(&db).await.broadcast_categories.len(),
        3,
        "nothing changed"
    );
    bot.stop().await;
}

#[tokio::test]
async fn a_slow_discord_cannot_push_the_first_response_past_three_seconds() {
    let (fake, db, bot) = start().await;
    fake.fail_route(
        "GET",
        &format!("/api/v10/channels/{TEXT}"),
        crate::support::fake_discord::Failure::Delay(Duration::from_millis(3500)),
        Some(1),
    );

    let saved = run(
        &fake,
        fixtures::with_channel_option(settings("broadcast-channel", vec![]), "channel", TEXT, 0),
    )
    .await;

    assert_eq!(
        content(&saved),
        format!("Saved: the broadcast channel to <#{TEXT}>.")
    );
    assert_eq!(current(&db).await.broadcast_channel_id, Some(TEXT));
    fake.assert_no_spec_violations();
    bot.stop().await;
}

/// `/settings broadcast-publish on` needs an announcement channel as the
/// broadcast channel; off always works.
#[tokio::test]
async fn publishing_is_turned_on_only_for_an_announcement_channel() {
    const ANNOUNCEMENTS: u64 = 720_000_000_000_000_005;
    let (fake, db, bot) = start().await;
    fake.add_channel(fixtures::guild_channel(ANNOUNCEMENTS, GUILD, 5, json!([])));
    // poise sends choice parameters as their index: on = 0.
    let on = || settings("broadcast-publish", vec![("state", json!(0))]);

    let no_channel = run(&fake, on()).await;
    assert!(
        content(&no_channel).contains("has no broadcast channel"),
        "{}",
        content(&no_channel)
    );
    run(
        &fake,
        fixtures::with_channel_option(settings("broadcast-channel", vec![]), "channel", TEXT, 0),
    )
    .await;
    let text_channel = run(&fake, on()).await;
    assert!(
        content(&text_channel).contains("is not an announcement channel"),
        "{}",
        content(&text_channel)
    );
    assert!(!current(&db).await.broadcast_publish, "nothing changed");

    run(
        &fake,
        fixtures::with_channel_option(
            settings("broadcast-channel", vec![]),
            "channel",
            ANNOUNCEMENTS,
            5,
        ),
    )
    .await;
    let saved = run(&fake, on()).await;
    assert!(
        content(&saved).starts_with("Saved: publishing broadcasts"),
        "{}",
        content(&saved)
    );
    assert_eq!(saved["data"]["flags"], EPHEMERAL);
    assert!(current(&db).await.broadcast_publish);
    let off = run(
        &fake,
        settings("broadcast-publish", vec![("state", json!(1))]),
    )
    .await;
    assert!(content(&off).contains("to off"), "{}", content(&off));
    assert!(!current(&db).await.broadcast_publish);
    fake.assert_no_spec_violations();
    bot.stop().await;
}
