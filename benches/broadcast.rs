//! A broadcast to 10,000 guilds through a fake Discord that answers in 50 ms
//! and enforces Discord's global limit of 50 requests/s with 429s. Reports the
//! sustained send rate (target: at least 95% of `BROADCAST_RATE`, zero 429s),
//! the time from pressing Send to the first message, and memory; then the
//! same figures for an edit of every delivered message and for a recall.
//!
//! `cargo bench --bench broadcast` (DATABASE_URL's server; creates and drops
//! its own database). `BENCH_GUILDS` and `BROADCAST_RATE` change the run;
//! `BENCH_FORBIDDEN_PERCENT=2` makes that share of the channels answer 403
//! (permissions lost, no gateway event), and the run reports the invalid
//! responses in the worst 10-minute window and the rate to the rest.
//! `BENCH_LOST_SEND_PERCENT=10` makes that share of the channels lose Send
//! Messages with the gateway saying so (their permission snapshot denies it,
//! and the fake would refuse them): the run reports the requests made to
//! them (goal 0) and the rate to the rest.
//! For comparison, Red-DiscordBot's announcer sends one guild every 0.5 s.

// The test harness's own unit tests do not run under a bench harness, so
// their imports look unused here.
#[path = "support/settings.rs"]
mod settings;
#[path = "../tests/it/support/mod.rs"]
#[allow(unused_imports)]
mod support;

use std::time::{Duration, Instant};

use admin_panel::store::broadcasts::{MessageFields, followups};
use settings::env_number;

use support::binary::{memory_mib, spawn_bot, work_dir};
use support::bot::{ADMIN_GUILD, DEVELOPER};
use support::broadcast::{button_id, channel, compose, draft_id};
use support::db::TestDb;
use support::fake_discord::Failure;
use support::fake_discord::FakeDiscord;
use support::interact::press;

/// Discord's global limit the fake enforces, requests per second.
const GLOBAL_LIMIT: u32 = 50;
const LATENCY: Duration = Duration::from_millis(50);

#[tokio::main]
async fn main() {
    let guilds: i64 = env_number("BENCH_GUILDS", 10_000);
    let rate: u32 = env_number("BROADCAST_RATE", 40);
    let forbidden_percent: i64 = env_number("BENCH_FORBIDDEN_PERCENT", 0);
    let lost_percent: i64 = env_number("BENCH_LOST_SEND_PERCENT", 0);
    let rate_text = rate.to_string();
    // The bot runs as its own process (the reference binary), so its memory
    // is measured apart from the fake's, which keeps every request.
    let fake = FakeDiscord::start().await;
    let db = TestDb::new().await;
    let dir = work_dir();
    let admin_guild = ADMIN_GUILD.to_string();
    let mut bot = spawn_bot(
        &dir,
        &fake,
        &db,
        "bot.log",
        &[
            ("BROADCAST_RATE", &rate_text),
            ("ADMIN_GUILD_IDS", &admin_guild),
            ("SHARD_COUNT", "1"),
            ("RUST_LOG", "warn"),
        ],
    );
    fake.wait_for_shards(1, Duration::from_secs(60)).await;
    // language=PostgreSQL
    for sql in [
        "INSERT INTO guilds (id, name, member_count, joined_at)
         SELECT i, 'Server ' || i, 100, now() FROM generate_series(1, $1) AS i",
        "INSERT INTO guild_settings (guild_id, broadcast_channel_id)
         SELECT i, 900000000000 + i FROM generate_series(1, $1) AS i",
    ] {
        sqlx::query(sql)
            .bind(guilds)
            .execute(&db.pool)
            .await
            .expect("seed");
    }
    assert_eq!(
        channel(1),
        900_000_000_001,
        "the seed uses the shared channel ids"
    );
    // Every n-th server's channel lost the bot's permissions (set before the
    // latency route: the first matching route answers).
    let forbidden = match forbidden_percent {
        0 => Vec::new(),
        percent => fake.refuse_sends_to(
            (1..=guilds)
                .filter(|guild| guild % (100 / percent.clamp(1, 100)) == 0)
                .map(channel),
            LATENCY,
        ),
    };
    // Every n-th server (offset by one from the forbidden ones) lost Send
    // Messages, and the snapshot kept from the gateway says so.
    let lost = match lost_percent {
        0 => Vec::new(),
        percent => {
            let every = 100 / percent.clamp(1, 100);
            seed_snapshots(&db, guilds, every).await;
            fake.refuse_sends_to(
                (1..=guilds)
                    .filter(|guild| (guild + 1) % every == 0)
                    .map(channel),
                LATENCY,
            )
        }
    };
    let deliverable = guilds - forbidden.len() as i64 - lost.len() as i64;
    fake.fail_route(
        "POST",
        "/api/v10/channels/*/messages",
        Failure::Delay(LATENCY),
        None,
    );
    fake.enforce_global_limit(GLOBAL_LIMIT);
    let (rss_before, _) = memory_mib(bot.id());

    let preview = compose(&fake, 9001, "announcement", None, &[("title", "Benchmark")]).await;
    let id = draft_id(&preview);
    let pressed = Instant::now();
    press(
        &fake,
        "submit-9001",
        "press-send",
        DEVELOPER,
        &button_id(&preview, "Send"),
        None,
    )
    .await;

    let mut first_message = None;
    let mut samples = Vec::new();
    while fake.messages_posted() < deliverable as usize {
        let posted = fake.messages_posted();
        if posted > 0 && first_message.is_none() {
            first_message = Some(pressed.elapsed());
        }
        samples.push((pressed.elapsed(), posted));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let all_sent = pressed.elapsed();
    let first = first_message.unwrap_or(all_sent);
    let (rss_after, rss_peak) = memory_mib(bot.id());

    // The steady state: between 10% and 90% of the guilds.
    let at = |share: f64| {
        samples
            .iter()
            .find(|(_, posted)| *posted as f64 >= deliverable as f64 * share)
            .copied()
            .unwrap_or((all_sent, deliverable as usize))
    };
    let (from, from_count) = at(0.1);
    let (to, to_count) = at(0.9);
    let sustained = (to_count - from_count) as f64 / (to - from).as_secs_f64();
    let overall = (deliverable - 1) as f64 / (all_sent - first).as_secs_f64();
    // Refusals in the worst 10 minutes, as Discord counts them.
    let mut refused: Vec<Instant> = fake
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && forbidden.contains(&r.path))
        .map(|r| r.at)
        .collect();
    refused.sort();
    let worst_window = (0..refused.len())
        .map(|i| {
            refused[i..]
                .iter()
                .take_while(|at| at.duration_since(refused[i]) < Duration::from_secs(600))
                .count()
        })
        .max()
        .unwrap_or(0);

    support::bot::eventually("the report", Duration::from_secs(60), || async {
        let status: String = sqlx::query_scalar("SELECT status FROM broadcasts WHERE id = $1")
            .bind(id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
        (status == "sent").then_some(())
    })
    .await;
    let requests_to_lost = fake
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && lost.contains(&r.path))
        .count();
    let (sent, failed): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE status = 'sent'), count(*) FILTER (WHERE status = 'failed')
           FROM broadcast_deliveries WHERE broadcast_id = $1",
    )
    .bind(id)
    .fetch_one(&db.pool)
    .await
    .unwrap();

    println!(
        "broadcast to {guilds} guilds, BROADCAST_RATE {rate}/s, fake: {} ms answers, global limit {GLOBAL_LIMIT}/s",
        LATENCY.as_millis()
    );
    println!(
        "  Send -> first message: {:.0} ms (target < 2000)",
        first.as_secs_f64() * 1000.0
    );
    println!(
        "  sustained (10%..90%): {sustained:.1} sends/s = {:.1}% of BROADCAST_RATE (target >= 95%)",
        sustained / rate as f64 * 100.0
    );
    println!(
        "  first to last message: {overall:.1} sends/s; all sent after {:.1} s",
        all_sent.as_secs_f64()
    );
    println!(
        "  global 429s: {} (target 0); deliveries sent {sent}, failed {failed}",
        fake.global_rate_limited()
    );
    if !forbidden.is_empty() {
        println!(
            "  {} channels answering 403 ({forbidden_percent}%): {} refusals, {worst_window} in the worst 10-minute window (INVALID_REQUEST_BUDGET default 2500, pause at 2000)",
            forbidden.len(),
            refused.len()
        );
    }
    if !lost.is_empty() {
        println!(
            "  {} channels that lost Send Messages, announced ({lost_percent}%): {requests_to_lost} requests to them (goal 0)",
            lost.len()
        );
    }
    println!(
        "  memory: RSS {rss_before:.0} MiB before Send, {rss_after:.0} MiB after, peak {rss_peak:.0} MiB (the bot process alone)"
    );
    println!(
        "  Red-DiscordBot's announcer at 2 sends/s would take {:.0} min",
        guilds as f64 / 2.0 / 60.0
    );

    for what in ["edit", "recall"] {
        for method in ["PATCH", "DELETE"] {
            fake.fail_route(
                method,
                "/api/v10/channels/*/messages/*",
                Failure::Delay(LATENCY),
                None,
            );
        }
        let global_before = fake.global_rate_limited();
        let requested = Instant::now();
        let started = if what == "edit" {
            let message = MessageFields {
                category: "announcement".into(),
                title: "Benchmark (edited)".into(),
                content: None,
                color: None,
                image_url: None,
                footer: None,
            };
            followups::request_edit(&db.pool, id, &message, DEVELOPER, None).await
        } else {
            followups::request_recall(&db.pool, id, DEVELOPER, None).await
        };
        started.expect("database").expect("edit or recall starts");
        let done = |fake: &FakeDiscord| {
            let (edits, deletes) = fake.edits_and_deletes();
            if what == "edit" { edits } else { deletes }
        };
        let mut samples = Vec::new();
        while done(&fake) < sent as usize {
            samples.push((requested.elapsed(), done(&fake)));
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let all_done = requested.elapsed();
        let at = |share: f64| {
            samples
                .iter()
                .find(|(_, n)| *n as f64 >= sent as f64 * share)
                .copied()
                .unwrap_or((all_done, sent as usize))
        };
        let (from, from_count) = at(0.1);
        let (to, to_count) = at(0.9);
        let sustained = (to_count - from_count) as f64 / (to - from).as_secs_f64();
        println!(
            "  {what} of {sent} delivered messages: sustained (10%..90%) {sustained:.1}/s = {:.1}% of BROADCAST_RATE (target >= 95%); all done after {:.1} s; global 429s {} (target 0)",
            sustained / rate as f64 * 100.0,
            all_done.as_secs_f64(),
            fake.global_rate_limited() - global_before
        );
        support::bot::eventually(
            "the follow-up to finish",
            Duration::from_secs(60),
            || async {
                let running: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM broadcast_followups WHERE finished_at IS NULL",
                )
                .fetch_one(&db.pool)
                .await
                .unwrap();
                (running == 0).then_some(())
            },
        )
        .await;
    }
    // SAFETY: kill(2) with a pid we spawned and a valid signal number.
    unsafe { libc::kill(bot.id() as i32, libc::SIGTERM) };
    bot.wait().expect("the bot exits");
}

/// A permission snapshot for every server, as the gateway would have left
/// it: @everyone views, the bot's role (server id + 1) sends with embeds,
/// and in every `every`-th server (offset by one) the broadcast channel
/// denies that role Send Messages.
async fn seed_snapshots(db: &TestDb, guilds: i64, every: i64) {
    const VIEW: i64 = 1 << 10;
    const SEND: i64 = 1 << 11;
    const EMBED: i64 = 1 << 14;
    // language=PostgreSQL
    sqlx::query(
        "UPDATE guilds SET owner_id = 1, everyone_permissions = $1,
                role_permissions = jsonb_build_object((id + 1)::text, $2::int8),
                bot_user_id = $3, bot_role_ids = ARRAY[id + 1]",
    )
    .bind(VIEW)
    .bind(SEND | EMBED)
    .bind(support::fixtures::BOT_USER_ID as i64)
    .execute(&db.pool)
    .await
    .expect("seed the server snapshots");
    // language=PostgreSQL
    sqlx::query(
        "INSERT INTO channel_permissions (channel_id, guild_id, name, kind, overwrites)
         SELECT 900000000000 + i, i, 'news', 0,
                CASE WHEN (i + 1) % $2 = 0 THEN ARRAY[0, i + 1, 0, $3]::int8[] ELSE '{}' END
           FROM generate_series(1, $1) AS i",
    )
    .bind(guilds)
    .bind(every)
    .bind(SEND)
    .execute(&db.pool)
    .await
    .expect("seed the channel snapshots");
}
