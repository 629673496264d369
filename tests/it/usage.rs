//! `/admin usage` and `/admin modules` against a real database and the fake
//! Discord: the data each chart plots, zero-filled days, the command filter,
//! module adoption over active servers only, and the PNGs themselves.

use crate::support::bot::{DEVELOPER, start_with_admin_guild};
use crate::support::db::TestDb;
use crate::support::discord::EPHEMERAL;
use crate::support::interact::{attachments, slash};
use admin_panel::admin::{modules, usage};
use admin_panel::store::command_stats::{self, CommandEvent, Outcome};
use admin_panel::store::modules as adoption_store;
use admin_panel::ui::charts;
use chrono::{NaiveDate, TimeDelta, Utc};
use serde_json::json;

fn event(command: &str, day: NaiveDate, user: u64) -> CommandEvent {
    CommandEvent {
        command: command.to_owned(),
        guild_id: Some(1),
        user_id: user,
        executed_at: day.and_hms_opt(12, 0, 0).unwrap().and_utc(),
        outcome: Outcome::Ok,
        first_response_ms: 5,
        duration_ms: 5,
    }
}

/// today: 3× ping, 1× help; 2 days ago: 2× ping; 9 days ago: 5× help.
async fn seed_events(db: &TestDb, today: NaiveDate) {
    let ago = |days| today - TimeDelta::days(days);
    let mut events = vec![];
    events.extend((0..3).map(|u| event("ping", today, u)));
    events.push(event("help", today, 9));
    events.extend((0..2).map(|u| event("ping", ago(2), u)));
    events.extend((0..5).map(|u| event("help", ago(9), u)));
    command_stats::insert_batch(&db.pool, &events)
        .await
        .unwrap();
}

fn png_size(png_bytes: &[u8]) -> (u32, u32) {
    let reader = png::Decoder::new(std::io::Cursor::new(png_bytes))
        .read_info()
        .expect("a valid PNG");
    (reader.info().width, reader.info().height)
}

#[tokio::test]
async fn the_series_is_one_zero_filled_entry_per_day_and_the_filter_filters() {
    let db = TestDb::new().await;
    let today = Utc::now().date_naive();
    seed_events(&db, today).await;

    let week = usage::gather(&db.pool, 7, None, today).await.unwrap();
    let week_days = week.series();
    assert_eq!(week_days.len(), 7, "one entry per day of the period");
    assert_eq!(week_days[0].0, today - TimeDelta::days(6));
    assert_eq!(week_days[6], (today, 4));
    assert_eq!(week_days[4], (today - TimeDelta::days(2), 2));
    let zero_days = week_days.iter().filter(|(_, uses)| *uses == 0).count();
    assert_eq!(zero_days, 5, "days without commands are present with 0");
    assert_eq!(
        week.total(),
        6,
        "the help runs 9 days ago are outside the week"
    );
    assert_eq!(week.peak(), Some((today, 4)));
    let top: Vec<(&str, i64)> = week
        .top
        .iter()
        .map(|c| (c.command.as_str(), c.uses))
        .collect();
    assert_eq!(top, [("ping", 5), ("help", 1)]);

    let help = usage::gather(&db.pool, 30, Some("help".into()), today)
        .await
        .unwrap();
    let help_days = help.series();
    assert_eq!(help_days.len(), 30);
    assert_eq!(help.total(), 6);
    assert_eq!(help_days[29], (today, 1));
    assert_eq!(help_days[20], (today - TimeDelta::days(9), 5));
    let only: Vec<&str> = help.top.iter().map(|c| c.command.as_str()).collect();
    assert_eq!(only, ["help"], "a filtered view shows only its command");

    let png_bytes = help.chart().unwrap();
    assert_eq!(png_size(&png_bytes), (charts::WIDTH, charts::HEIGHT));
}

#[tokio::test]
async fn admin_usage_answers_with_the_chart_attached_and_refuses_a_forged_period() {
    let (fake, db, bot) = start_with_admin_guild(&[]).await;
    let today = Utc::now().date_naive();
    seed_events(&db, today).await;

    let answer = slash(
        &fake,
        7001,
        "usage",
        DEVELOPER,
        &["admin", "usage"],
        vec![("days", json!(7))],
    )
    .await;
    assert_eq!(answer["data"]["flags"], EPHEMERAL, "ephemeral");
    let embed = &answer["data"]["embeds"][0];
    assert_eq!(embed["title"], "Commands per day, last 7 days");
    assert_eq!(embed["image"]["url"], "attachment://usage.png");
    let description = embed["description"].as_str().unwrap();
    assert!(description.contains("**Total:** 6"), "{description}");
    assert!(
        description.contains("**Daily average:** 0.9"),
        "{description}"
    );
    let top = embed["fields"][0]["value"].as_str().unwrap();
    assert!(top.starts_with("1. `/ping` 5 (83.3%)"), "{top}");
    let files = attachments(&fake, "usage");
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].0, "usage.png");
    assert_eq!(png_size(&files[0].1), (charts::WIDTH, charts::HEIGHT));

    let filtered = slash(
        &fake,
        7002,
        "usage-ping",
        DEVELOPER,
        &["admin", "usage"],
        vec![("command", json!("/ping"))],
    )
    .await;
    let embed = &filtered["data"]["embeds"][0];
    assert_eq!(embed["title"], "/ping per day, last 30 days");
    assert!(
        embed["description"]
            .as_str()
            .unwrap()
            .contains("**Total:** 5")
    );

    let forged = slash(
        &fake,
        7003,
        "usage-forged",
        DEVELOPER,
        &["admin", "usage"],
        vec![("days", json!(91))],
    )
    .await;
    assert_eq!(forged["data"]["flags"], EPHEMERAL);
    assert_eq!(
        forged["data"]["content"],
        "`days` must be from 1 to 90 (got 91)."
    );
    fake.assert_no_spec_violations();
    bot.stop().await;
}

async fn seed_guild(db: &TestDb, id: i64, active: bool) {
    sqlx::query("INSERT INTO guilds (id, name, joined_at, left_at) VALUES ($1, 'g', now(), CASE WHEN $2 THEN NULL ELSE now() END)")
        .bind(id)
        .bind(active)
        .execute(&db.pool)
        .await
        .unwrap();
}

async fn set_module(db: &TestDb, guild: i64, module: &str, enabled: bool) {
    sqlx::query(
        "INSERT INTO cog_settings (guild_id, module, enabled) VALUES ($1, $2, $3)
         ON CONFLICT (guild_id, module) DO UPDATE SET enabled = EXCLUDED.enabled",
    )
    .bind(guild)
    .bind(module)
    .bind(enabled)
    .execute(&db.pool)
    .await
    .unwrap();
}

async fn counts(db: &TestDb) -> Vec<(String, i64)> {
    adoption_store::adoption(&db.pool)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.enabled_guilds > 0)
        .map(|a| (a.module, a.enabled_guilds))
        .collect()
}

#[tokio::test]
async fn module_adoption_counts_only_active_servers_and_follows_every_change() {
    let db = TestDb::new().await;
    for id in 1..=4 {
        seed_guild(&db, id, true).await;
    }
    seed_guild(&db, 5, false).await;
    for guild in [1, 2, 3, 5] {
        set_module(&db, guild, "music", true).await;
    }
    set_module(&db, 4, "music", false).await;
    set_module(&db, 1, "welcome", true).await;
    set_module(&db, 5, "welcome", true).await;
    let s = |m: &str, n| (m.to_owned(), n);
    assert_eq!(
        counts(&db).await,
        [s("music", 3), s("welcome", 1)],
        "the server that left does not count"
    );

    set_module(&db, 4, "music", true).await;
    set_module(&db, 1, "welcome", false).await;
    sqlx::query("UPDATE guilds SET left_at = now() WHERE id = 2")
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE guilds SET left_at = NULL WHERE id = 5")
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE guilds SET name = 'renamed' WHERE id = 3")
        .execute(&db.pool)
        .await
        .unwrap();
    assert_eq!(counts(&db).await, [s("music", 4), s("welcome", 1)]);
    sqlx::query("DELETE FROM guilds WHERE id = 1")
        .execute(&db.pool)
        .await
        .unwrap();
    assert_eq!(counts(&db).await, [s("music", 3), s("welcome", 1)]);

    let declared = vec!["music".to_owned(), "starboard".to_owned()];
    let (view, active) = modules::gather(&db.pool, &declared).await.unwrap();
    assert_eq!(active, 3, "servers 3, 4 and 5 are active");
    assert_eq!(view[0].module, "music");
    assert_eq!(view[0].percent, 100.0);
    assert_eq!(
        view.last().unwrap().module,
        "starboard",
        "declared but unused modules show as 0"
    );

    // Drift (e.g. from racing transactions) is healed by the recount.
    sqlx::query("UPDATE module_adoption SET enabled_guilds = 42")
        .execute(&db.pool)
        .await
        .unwrap();
    assert_eq!(adoption_store::recount(&db.pool).await.unwrap(), 2);
    assert_eq!(counts(&db).await, [s("music", 3), s("welcome", 1)]);
}

#[tokio::test]
async fn admin_modules_answers_with_counts_and_a_chart() {
    let (fake, db, bot) = start_with_admin_guild(&[]).await;
    for id in 1..=4 {
        seed_guild(&db, id, true).await;
        sqlx::query("INSERT INTO guild_settings (guild_id) VALUES ($1)")
            .bind(id)
            .execute(&db.pool)
            .await
            .unwrap();
    }
    set_module(&db, 1, "moderation", true).await;
    let answer = slash(
        &fake,
        7101,
        "modules",
        DEVELOPER,
        &["admin", "modules"],
        vec![],
    )
    .await;
    let embed = &answer["data"]["embeds"][0];
    assert_eq!(embed["title"], "Module adoption");
    let description = embed["description"].as_str().unwrap();
    assert!(
        description.starts_with("`moderation` 1 servers (25.0%)"),
        "{description}"
    );
    let files = attachments(&fake, "modules");
    assert_eq!(files[0].0, "modules.png");
    assert_eq!(png_size(&files[0].1), (charts::WIDTH, charts::HEIGHT));
    fake.assert_no_spec_violations();
    bot.stop().await;
}

/// Bulk statements (an import, a mass toggle, servers leaving together) keep
/// the adoption counts exact: the triggers work per statement.
#[tokio::test]
async fn module_adoption_stays_exact_through_bulk_statements() {
    let db = TestDb::new().await;
    // language=PostgreSQL
    for sql in [
        "INSERT INTO guilds (id, name, joined_at) SELECT i, 'g', now() FROM generate_series(1, 2000) AS i",
        "INSERT INTO cog_settings (guild_id, module, enabled)
         SELECT g, m, (g + length(m)) % 3 > 0
           FROM generate_series(1, 2000) AS g, unnest(ARRAY['music', 'levels', 'welcome']) AS m",
        "UPDATE guilds SET left_at = now() WHERE id % 10 = 0",
        "UPDATE cog_settings SET enabled = NOT enabled WHERE guild_id % 7 = 0",
        "UPDATE guilds SET left_at = NULL WHERE id % 20 = 0",
        "DELETE FROM cog_settings WHERE guild_id % 11 = 0 AND module = 'levels'",
        "DELETE FROM guilds WHERE id <= 30",
    ] {
        sqlx::query(sql).execute(&db.pool).await.expect(sql);
        let real: Vec<(String, i64)> = sqlx::query_as(
            "SELECT c.module, count(*) FROM cog_settings c
               JOIN guilds g ON g.id = c.guild_id AND g.left_at IS NULL
              WHERE c.enabled GROUP BY c.module ORDER BY count(*) DESC, c.module",
        )
        .fetch_all(&db.pool)
        .await
        .unwrap();
        assert_eq!(counts(&db).await, real, "after: {sql}");
    }
}
