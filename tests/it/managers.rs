//! Server managers (`/settings managers`) and module settings (the typed API,
//! `/settings module ... message:`, `/welcome-preview`, `/admin server`):
//! who may change what, `config_update` entries naming who did it, limits.

use std::time::Duration;

use crate::support::bot::{ADMIN_GUILD, DEVELOPER, TestBot, test_config};
use crate::support::db::TestDb;
use crate::support::discord::{
    CHANNEL_MESSAGE_WITH_SOURCE, EPHEMERAL, STRING_SELECT, UPDATE_MESSAGE,
};
use crate::support::fake_discord::FakeDiscord;
use crate::support::fixtures;
use crate::support::interact::slash;
use admin_panel::access::{NEEDS_MANAGE_SERVER, REFUSAL};
use admin_panel::modules::{self, MAX_SETTINGS_BYTES, SettingsError};
use admin_panel::settings::managers::NEEDS_MANAGE_SERVER_FOR_MANAGERS;
use serde_json::{Value, json};

const GUILD: u64 = 711_000_000_000_000_000;
const OTHER_GUILD: u64 = 711_000_000_000_000_999;
/// Holds Manage Server (and nothing else).
const OWNER: u64 = 210_000_000_000_000_001;
/// Becomes a manager; never holds Manage Server.
const HELPER: u64 = 210_000_000_000_000_002;
const STRANGER: u64 = 210_000_000_000_000_003;
const A_BOT: u64 = 210_000_000_000_000_004;
const MANAGE_GUILD: &str = "32";
const NO_PERMISSIONS: &str = "0";
const WAIT: Duration = Duration::from_secs(10);

async fn start() -> (FakeDiscord, TestDb, TestBot) {
    let fake = FakeDiscord::start().await;
    let db = TestDb::new().await;
    seed_guild(&db).await;
    let admin_guild = ADMIN_GUILD.to_string();
    let config = test_config(&fake, &db, &[("ADMIN_GUILD_IDS", admin_guild.as_str())]);
    let bot = TestBot::start(&fake, config).await;
    (fake, db, bot)
}

async fn seed_guild(db: &TestDb) {
    sqlx::query("INSERT INTO guilds (id, name, joined_at) VALUES ($1, 'Managers Test', now())")
        .bind(GUILD as i64)
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO guild_settings (guild_id) VALUES ($1)")
        .bind(GUILD as i64)
        .execute(&db.pool)
        .await
        .unwrap();
}

/// `/settings <path...>` in `guild` by `user` holding `permissions`.
fn settings_in(
    guild: u64,
    user: u64,
    permissions: &str,
    path: &[&str],
    options: Vec<(&str, Value)>,
) -> Value {
    let token = format!("managers-{}", rand::random::<u32>());
    let mut full = vec!["settings"];
    full.extend_from_slice(path);
    let mut interaction = fixtures::slash_command(
        rand::random::<u32>() as u64 + 1,
        &token,
        Some(guild),
        user,
        &full,
        options,
    );
    interaction["member"]["permissions"] = json!(permissions);
    interaction
}

fn settings(user: u64, permissions: &str, path: &[&str], options: Vec<(&str, Value)>) -> Value {
    settings_in(GUILD, user, permissions, path, options)
}

/// `/settings managers add|remove user:<target>` by `user`.
fn managers(user: u64, permissions: &str, action: &str, target: u64, bot: bool) -> Value {
    let interaction = settings(user, permissions, &["managers", action], vec![]);
    fixtures::with_user_option(interaction, "user", target, bot)
}

/// Sends the interaction; returns the first response (or, after a deferral,
/// the follow-up in the same shape). Every reply here must be ephemeral.
async fn run(fake: &FakeDiscord, interaction: Value) -> Value {
    let token = interaction["token"].as_str().unwrap().to_owned();
    let guild: u64 = interaction["guild_id"].as_str().unwrap().parse().unwrap();
    fake.dispatch_for_guild(guild, "INTERACTION_CREATE", interaction);
    let callback = fake.wait_for_callback(&token, WAIT).await;
    // An update of the (ephemeral) message a menu sits on keeps its flags.
    if callback["type"] != UPDATE_MESSAGE {
        assert_eq!(
            callback["data"]["flags"], EPHEMERAL,
            "ephemeral: {callback}"
        );
    }
    if callback["type"] != 5 {
        return callback;
    }
    let follow_up = fake
        .wait_for_request("the follow-up", WAIT, |r| {
            r.method == "POST" && r.path.ends_with(&format!("/{token}"))
        })
        .await;
    json!({ "type": CHANNEL_MESSAGE_WITH_SOURCE, "data": follow_up.body.unwrap() })
}

fn content(response: &Value) -> String {
    response["data"]["content"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn manager_ids(db: &TestDb) -> Vec<i64> {
    sqlx::query_scalar("SELECT user_id FROM dashboard_users WHERE guild_id = $1 ORDER BY user_id")
        .bind(GUILD as i64)
        .fetch_all(&db.pool)
        .await
        .unwrap()
}

async fn config_updates(db: &TestDb) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT message FROM system_logs WHERE event_type = 'config_update' AND guild_id = $1
          ORDER BY id",
    )
    .bind(GUILD as i64)
    .fetch_all(&db.pool)
    .await
    .unwrap()
}

async fn embed_color(db: &TestDb) -> i32 {
    admin_panel::store::settings::get(&db.pool, GUILD)
        .await
        .unwrap()
        .unwrap()
        .embed_color
}

fn color(user: u64, permissions: &str, hex: &str) -> Value {
    settings(user, permissions, &["color"], vec![("hex", json!(hex))])
}

#[tokio::test]
async fn a_manager_changes_settings_without_manage_server_but_not_the_managers() {
    let (fake, db, bot) = start().await;

    // A stranger without Manage Server is refused everything, and nothing changes.
    for refused in [
        color(STRANGER, NO_PERMISSIONS, "#000000"),
        settings(STRANGER, NO_PERMISSIONS, &["managers", "list"], vec![]),
        managers(STRANGER, NO_PERMISSIONS, "add", STRANGER, false),
    ] {
        assert_eq!(content(&run(&fake, refused).await), NEEDS_MANAGE_SERVER);
    }
    assert_eq!(manager_ids(&db).await, Vec::<i64>::new());
    assert_eq!(embed_color(&db).await, 0x5865F2);
    assert!(config_updates(&db).await.is_empty());

    let added = run(&fake, managers(OWNER, MANAGE_GUILD, "add", HELPER, false)).await;
    assert!(
        content(&added).starts_with(&format!("Added <@{HELPER}> as a manager")),
        "{}",
        content(&added)
    );
    let again = run(&fake, managers(OWNER, MANAGE_GUILD, "add", HELPER, false)).await;
    assert_eq!(
        content(&again),
        format!("<@{HELPER}> is already a manager of this server.")
    );
    assert_eq!(manager_ids(&db).await, vec![HELPER as i64]);
    let log = config_updates(&db).await;
    assert_eq!(log.len(), 1, "{log:?}");
    assert!(
        log[0].contains(&format!(
            "({OWNER}) added user{HELPER} ({HELPER}) as a manager"
        )),
        "{log:?}"
    );

    // The manager changes a setting without Manage Server; the entry names them.
    let saved = run(&fake, color(HELPER, NO_PERMISSIONS, "#112233")).await;
    assert_eq!(content(&saved), "Saved: the embed color to #112233.");
    assert_eq!(embed_color(&db).await, 0x112233);
    let log = config_updates(&db).await;
    assert!(
        log[1].contains(&format!("({HELPER}) changed the embed color")),
        "{log:?}"
    );

    // ...lists the managers, but cannot add or remove any.
    let list = run(
        &fake,
        settings(HELPER, NO_PERMISSIONS, &["managers", "list"], vec![]),
    )
    .await;
    let embed = &list["data"]["embeds"][0];
    assert_eq!(embed["title"], "Managers: 1 of at most 25");
    let description = embed["description"].as_str().unwrap();
    assert!(
        description.starts_with(&format!("<@{HELPER}> (editor), added by <@{OWNER}> <t:")),
        "{description}"
    );
    for attempt in [
        managers(HELPER, NO_PERMISSIONS, "add", STRANGER, false),
        managers(HELPER, NO_PERMISSIONS, "remove", HELPER, false),
    ] {
        assert_eq!(
            content(&run(&fake, attempt).await),
            NEEDS_MANAGE_SERVER_FOR_MANAGERS
        );
    }
    assert_eq!(manager_ids(&db).await, vec![HELPER as i64]);

    // Being a manager here opens neither another server's /settings nor /admin.
    let elsewhere = settings_in(
        OTHER_GUILD,
        HELPER,
        NO_PERMISSIONS,
        &["color"],
        vec![("hex", json!("#445566"))],
    );
    assert_eq!(content(&run(&fake, elsewhere).await), NEEDS_MANAGE_SERVER);
    let admin = slash(
        &fake,
        4242,
        "helper-admin",
        HELPER,
        &["admin", "stats"],
        vec![],
    )
    .await;
    assert_eq!(admin["data"]["content"], REFUSAL);

    // Removing someone who is not a manager says so; removing the manager works.
    let not_one = run(
        &fake,
        managers(OWNER, MANAGE_GUILD, "remove", STRANGER, false),
    )
    .await;
    assert_eq!(
        content(&not_one),
        format!("<@{STRANGER}> is not a manager of this server. Nothing was changed.")
    );
    let removed = run(
        &fake,
        managers(OWNER, MANAGE_GUILD, "remove", HELPER, false),
    )
    .await;
    assert!(content(&removed).starts_with(&format!("Removed <@{HELPER}>")));
    assert_eq!(manager_ids(&db).await, Vec::<i64>::new());
    let log = config_updates(&db).await;
    assert_eq!(log.len(), 3, "{log:?}");
    assert!(
        log[2].contains(&format!(
            "({OWNER}) removed user{HELPER} ({HELPER}) as a manager"
        )),
        "{log:?}"
    );
    let after = run(&fake, color(HELPER, NO_PERMISSIONS, "#000000")).await;
    assert_eq!(content(&after), NEEDS_MANAGE_SERVER);
    assert_eq!(embed_color(&db).await, 0x112233);
    fake.assert_no_spec_violations();
    bot.stop().await;
}

#[tokio::test]
async fn bots_and_a_twenty_sixth_manager_are_refused() {
    let (fake, db, bot) = start().await;
    // /settings is shown to every member (managers must see it) and answers
    // only those allowed; `managers` is a subcommand group; `module` takes a
    // message of at most 1000 characters.
    let global = crate::support::bot::eventually("the global registration", WAIT, || async {
        Some(fake.registered_commands(None)).filter(|c| !c.is_empty())
    })
    .await;
    let registered = global.iter().find(|c| c["name"] == "settings").unwrap();
    assert!(
        registered["default_member_permissions"].is_null(),
        "{registered}"
    );
    let option = |parent: &Value, name: &str| {
        parent["options"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["name"] == name)
            .unwrap_or_else(|| panic!("no option {name} in {parent}"))
            .clone()
    };
    let group = option(registered, "managers");
    assert_eq!(group["type"], 2);
    for action in ["add", "remove"] {
        assert_eq!(option(&option(&group, action), "user")["type"], 6);
    }
    option(&group, "list");
    let message = option(&option(registered, "module"), "message");
    assert_eq!(
        (message["max_length"].clone(), message["required"].clone()),
        (json!(1000), json!(false))
    );
    assert!(global.iter().any(|c| c["name"] == "welcome-preview"));

    let a_bot = run(&fake, managers(OWNER, MANAGE_GUILD, "add", A_BOT, true)).await;
    assert_eq!(
        content(&a_bot),
        format!("<@{A_BOT}> is a bot: bots cannot be managers. Nothing was changed.")
    );
    sqlx::query(
        "INSERT INTO dashboard_users (guild_id, user_id, added_by)
         SELECT $1, 300000000000000000 + n, $2 FROM generate_series(1, 25) n",
    )
    .bind(GUILD as i64)
    .bind(OWNER as i64)
    .execute(&db.pool)
    .await
    .unwrap();

    let full = run(&fake, managers(OWNER, MANAGE_GUILD, "add", HELPER, false)).await;
    assert!(
        content(&full).starts_with("This server already has 25 managers, the most it can have."),
        "{}",
        content(&full)
    );
    assert_eq!(manager_ids(&db).await.len(), 25);
    assert!(config_updates(&db).await.is_empty());
    let list = run(
        &fake,
        settings(OWNER, MANAGE_GUILD, &["managers", "list"], vec![]),
    )
    .await;
    let embed = &list["data"]["embeds"][0];
    assert_eq!(embed["title"], "Managers: 25 of at most 25");
    assert_eq!(embed["description"].as_str().unwrap().lines().count(), 25);
    fake.assert_no_spec_violations();
    bot.stop().await;
}

#[tokio::test]
async fn a_manager_can_pick_from_the_categories_menu() {
    let (fake, db, bot) = start().await;
    run(&fake, managers(OWNER, MANAGE_GUILD, "add", HELPER, false)).await;
    let opened = settings(HELPER, NO_PERMISSIONS, &["broadcast-categories"], vec![]);
    let token = opened["token"].as_str().unwrap().to_owned();
    run(&fake, opened).await;
    let message = fake.original_response(&token).unwrap();

    let menu_id = crate::support::interact::control(&message, "Categories this server accepts");
    let mut pick =
        fixtures::button_press(99, "managers-pick", Some(GUILD), HELPER, &menu_id, message);
    pick["member"]["permissions"] = json!(NO_PERMISSIONS);
    pick["data"] =
        json!({ "custom_id": menu_id, "component_type": STRING_SELECT, "values": ["changelog"] });
    let saved = run(&fake, pick).await;

    assert_eq!(
        content(&saved),
        "Saved: the accepted broadcasts to changelog."
    );
    let stored = admin_panel::store::settings::get(&db.pool, GUILD)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.broadcast_categories, vec!["changelog".to_owned()]);
    fake.assert_no_spec_violations();
    bot.stop().await;
}

fn welcome(user: u64, permissions: &str, module: &str, message: &str) -> Value {
    settings(
        user,
        permissions,
        &["module"],
        vec![
            ("name", json!(module)),
            ("state", json!(0)),
            ("message", json!(message)),
        ],
    )
}

#[tokio::test]
async fn the_welcome_message_is_validated_stored_previewed_and_shown_to_developers() {
    let (fake, db, bot) = start().await;
    run(&fake, managers(OWNER, MANAGE_GUILD, "add", HELPER, false)).await;

    let long = run(
        &fake,
        welcome(HELPER, NO_PERMISSIONS, "welcome", &"x".repeat(1001)),
    )
    .await;
    assert_eq!(
        content(&long),
        "The message has 1001 characters; at most 1000 are allowed. Nothing was changed."
    );
    let levels = run(&fake, welcome(HELPER, NO_PERMISSIONS, "levels", "hi")).await;
    assert_eq!(
        content(&levels),
        "Module levels takes no message. Nothing was changed."
    );
    let stranger = run(&fake, welcome(STRANGER, NO_PERMISSIONS, "welcome", "hi")).await;
    assert_eq!(content(&stranger), NEEDS_MANAGE_SERVER);
    assert_eq!(
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM cog_settings")
            .fetch_one(&db.pool)
            .await
            .unwrap(),
        0,
        "nothing stored"
    );
    assert_eq!(
        config_updates(&db).await.len(),
        1,
        "only the manager's addition"
    );

    let saved = run(
        &fake,
        welcome(
            HELPER,
            NO_PERMISSIONS,
            "welcome",
            "Hi {user}, welcome to {server}! @everyone",
        ),
    )
    .await;
    assert!(
        content(&saved).starts_with("Saved: module welcome to on with the message “Hi {user}"),
        "{}",
        content(&saved)
    );
    #[derive(serde::Deserialize)]
    struct Welcome {
        message: String,
    }
    let stored: Welcome = modules::settings(&db.pool, GUILD, "welcome")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.message, "Hi {user}, welcome to {server}! @\u{200B}everyone",
        "stored defused"
    );
    let log = config_updates(&db).await;
    assert!(
        log[1].contains(&format!(
            "({HELPER}) changed module welcome to on with the message"
        )),
        "{log:?}"
    );
    // Toggling keeps the message.
    let off = settings(
        HELPER,
        NO_PERMISSIONS,
        &["module"],
        vec![("name", json!("welcome")), ("state", json!(1))],
    );
    assert_eq!(
        content(&run(&fake, off).await),
        "Saved: module welcome to off."
    );
    let kept: Welcome = modules::settings(&db.pool, GUILD, "welcome")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.message, stored.message);

    // The reference bot's welcome module uses it.
    let mut preview = fixtures::slash_command(
        77,
        "welcome-preview",
        Some(GUILD),
        STRANGER,
        &["welcome-preview"],
        vec![],
    );
    preview["member"]["permissions"] = json!(NO_PERMISSIONS);
    let shown = run(&fake, preview).await;
    assert_eq!(
        content(&shown),
        format!(
            "The welcome module is **off** here (`/settings module welcome on` turns it on). \
             A new member would read:\n>>> Hi <@{STRANGER}>, welcome to Managers Test! @\u{200B}everyone"
        )
    );
    assert_eq!(shown["data"]["allowed_mentions"]["parse"], json!([]));

    // /admin server shows the managers and each module's settings.
    let server = slash(
        &fake,
        4343,
        "admin-server",
        DEVELOPER,
        &["admin", "server"],
        vec![("guild", json!(GUILD.to_string()))],
    )
    .await;
    assert_eq!(server["data"]["flags"], EPHEMERAL);
    let fields = server["data"]["embeds"][0]["fields"]
        .as_array()
        .unwrap()
        .clone();
    let field = |name: &str| {
        fields
            .iter()
            .find(|field| field["name"] == name)
            .unwrap_or_else(|| panic!("no field {name}"))["value"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(field("Modules"), "**welcome**: off");
    assert_eq!(
        field("Module settings"),
        "**welcome** `{\"message\":\"Hi {user}, welcome to {server}! @\u{200B}everyone\"}`"
    );
    assert!(
        field("Managers").starts_with(&format!("<@{HELPER}> (editor), added by <@{OWNER}>")),
        "{}",
        field("Managers")
    );
    fake.assert_no_spec_violations();
    bot.stop().await;
}

#[derive(Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
struct Levels {
    announce: bool,
    xp_per_message: u32,
    note: String,
}

#[tokio::test]
async fn module_settings_are_typed_json_and_oversize_ones_are_refused() {
    let db = TestDb::new().await;
    seed_guild(&db).await;
    let pool = &db.pool;
    let guild = serenity::all::GuildId::new(GUILD);

    let none: Option<Levels> = modules::settings(pool, guild, "levels").await.unwrap();
    assert_eq!(none, None);
    let levels = Levels {
        announce: true,
        xp_per_message: 5,
        note: "hello".into(),
    };
    modules::set_settings(pool, guild, "levels", &levels)
        .await
        .unwrap();
    let read: Option<Levels> = modules::settings(pool, guild, "levels").await.unwrap();
    assert_eq!(read.as_ref(), Some(&levels));
    let updated = modules::update_settings(pool, guild, "levels", |l: &mut Levels| {
        l.xp_per_message += 1
    })
    .await
    .unwrap();
    assert_eq!(updated.xp_per_message, 6);

    // Oversize settings are refused and leave the stored ones as they were.
    let huge = Levels {
        note: "n".repeat(MAX_SETTINGS_BYTES),
        ..Levels::default()
    };
    let refused = modules::set_settings(pool, guild, "levels", &huge).await;
    assert!(
        matches!(refused, Err(SettingsError::TooLarge { size }) if size > MAX_SETTINGS_BYTES),
        "{refused:?}"
    );
    let growing = modules::update_settings(pool, guild, "levels", |l: &mut Levels| {
        l.note = "n".repeat(MAX_SETTINGS_BYTES)
    })
    .await;
    assert!(
        matches!(growing, Err(SettingsError::TooLarge { .. })),
        "{growing:?}"
    );
    let kept: Levels = modules::settings(pool, guild, "levels")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.xp_per_message, 6);
    assert_eq!(kept.note, "hello");

    assert!(matches!(
        modules::set_settings(pool, guild, "levels", &vec![1, 2]).await,
        Err(SettingsError::NotAnObject)
    ));
    assert!(matches!(
        modules::set_settings(pool, 42u64, "levels", &levels).await,
        Err(SettingsError::UnknownServer(42))
    ));
    assert!(matches!(
        modules::set_settings(pool, guild, "Bad Name", &levels).await,
        Err(SettingsError::InvalidModule(_))
    ));
    assert!(matches!(
        modules::settings::<String>(pool, guild, "levels").await,
        Err(SettingsError::Json(_))
    ));
    // The database refuses what bypasses the library, too.
    let bypass = sqlx::query(
        "UPDATE cog_settings SET settings = jsonb_build_object('k', repeat('x', 9000))",
    )
    .execute(pool)
    .await;
    assert!(bypass.is_err(), "the schema caps settings as well");
    // Toggling a module keeps its settings.
    admin_panel::store::settings::apply(
        pool,
        GUILD,
        &admin_panel::store::settings::Change::Module {
            name: "levels".into(),
            enabled: true,
        },
    )
    .await
    .unwrap();
    let still: Levels = modules::settings(pool, guild, "levels")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(still.note, "hello");
}
