//! No secret is ever printed: each secret-bearing variable (`DISCORD_TOKEN`,
//! the password in `DATABASE_URL`, the credentials in `DISCORD_PROXY_URL`,
//! the token in `ALERT_WEBHOOK_URL`) is given a secret, and none of them
//! shows in the binary's stdout or stderr (start-up errors included), in the
//! stored logs, or in the `/admin` views that show logs and health.

use std::process::Stdio;
use std::time::Duration;

use serde_json::json;

use crate::support::binary::{command, work_dir};
use crate::support::bot::{ADMIN_GUILD, DEVELOPER, TOKEN};
use crate::support::db::TestDb;
use crate::support::fake_discord::{Failure, FakeDiscord};
use crate::support::interact::slash;

const PROXY_SECRET: &str = "proxy-secret-8842";
const WEBHOOK_SECRET: &str = "webhook-secret-8842-abcdef";
const DB_SECRET: &str = "db-secret-8842";

/// `url` with `password` as its password, and the password it then has:
/// the test server's own when it has one (a private cluster), else
/// `password` (a trust server ignores it).
fn with_password(url: &str, password: &str) -> (String, String) {
    let (scheme, rest) = url.split_once("://").unwrap();
    match rest.split_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((_, existing)) => (url.to_owned(), existing.to_owned()),
            None => (
                format!("{scheme}://{userinfo}:{password}@{host}"),
                password.to_owned(),
            ),
        },
        None => (
            format!("{scheme}://postgres:{password}@{rest}"),
            password.to_owned(),
        ),
    }
}

fn webhook_url() -> String {
    format!("https://discord.com/api/webhooks/123456789012345678/{WEBHOOK_SECRET}")
}

#[test]
fn a_bad_secret_bearing_variable_is_named_never_printed() {
    let dir = work_dir();
    let developer = DEVELOPER.to_string();
    let nobody_listens = crate::support::http::free_addr();
    let refused_db = format!("postgres://postgres:{DB_SECRET}@{nobody_listens}/postgres");
    let cases = [
        (
            "DISCORD_PROXY_URL",
            format!("ftp://bot:{PROXY_SECRET}@127.0.0.1:1"),
            2,
        ),
        (
            "DATABASE_URL",
            format!("mysql://bot:{DB_SECRET}@127.0.0.1/bot"),
            2,
        ),
        (
            "ALERT_WEBHOOK_URL",
            format!("https://example.com/hooks/{WEBHOOK_SECRET}"),
            2,
        ),
        // Valid, but nothing answers there: the bot stops with the cause.
        ("DATABASE_URL", refused_db, 1),
    ];
    for (variable, value, code) in cases {
        let output = command(
            &dir,
            &[
                ("DISCORD_TOKEN", TOKEN),
                ("DEVELOPER_USER_ID", &developer),
                ("HEALTH_ADDR", "127.0.0.1:0"),
                (variable, &value),
            ],
        )
        .output()
        .unwrap();
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(output.status.code(), Some(code), "{variable}: {printed}");
        for secret in [TOKEN, PROXY_SECRET, DB_SECRET, WEBHOOK_SECRET] {
            assert!(!printed.contains(secret), "{variable}: {printed}");
        }
        if code == 2 {
            assert!(printed.contains(variable), "{printed} names {variable}");
        }
    }
}

#[tokio::test]
async fn no_secret_reaches_output_stored_logs_or_admin_views() {
    let fake = FakeDiscord::start().await;
    let db = TestDb::new().await;
    let dir = work_dir();
    let (database_url, db_password) = with_password(&db.url, DB_SECRET);
    let proxy = fake
        .base_url()
        .replace("http://", &format!("http://bot:{PROXY_SECRET}@"));
    // Registration fails: its error (request URL and all) is logged and stored.
    fake.fail_route(
        "PUT",
        "/api/v10/applications/*/commands",
        Failure::ServerError,
        None,
    );
    let developer = DEVELOPER.to_string();
    let admin_guild = ADMIN_GUILD.to_string();
    let webhook = webhook_url();
    let stdout = std::fs::File::create(dir.join("stdout.log")).unwrap();
    let stderr = std::fs::File::create(dir.join("stderr.log")).unwrap();
    let mut child = command(
        &dir,
        &[
            ("DISCORD_TOKEN", TOKEN),
            ("DEVELOPER_USER_ID", &developer),
            ("DATABASE_URL", &database_url),
            ("DISCORD_PROXY_URL", &proxy),
            ("ALERT_WEBHOOK_URL", &webhook),
            ("ADMIN_GUILD_IDS", &admin_guild),
            ("HEALTH_ADDR", "127.0.0.1:0"),
            ("RUST_LOG", "trace"),
        ],
    )
    .stdout(Stdio::from(stdout))
    .stderr(Stdio::from(stderr))
    .spawn()
    .unwrap();
    fake.wait_for_shards(1, Duration::from_secs(60)).await;
    fake.wait_for_request("the failed registration", Duration::from_secs(30), |r| {
        r.method == "PUT" && r.path.ends_with("/commands")
    })
    .await;

    let mut views = Vec::new();
    for (n, path, options) in [
        (9801, vec!["admin", "health"], vec![]),
        (9803, vec!["admin", "logs"], vec![("limit", json!(500))]),
        (9805, vec!["admin", "stats"], vec![]),
    ] {
        let token = format!("secrets-{n}");
        views.push(
            slash(&fake, n, &token, DEVELOPER, &path, options)
                .await
                .to_string(),
        );
    }
    // SAFETY: kill(2) with a pid we spawned and a valid signal number.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();

    let stored: Vec<String> = sqlx::query_scalar("SELECT message FROM system_logs")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    let outputs = [
        (
            "stdout",
            std::fs::read_to_string(dir.join("stdout.log")).unwrap(),
        ),
        (
            "stderr",
            std::fs::read_to_string(dir.join("stderr.log")).unwrap(),
        ),
        ("system_logs", stored.join("\n")),
        ("the /admin views", views.join("\n")),
    ];
    assert!(outputs[1].1.len() > 10_000, "a trace log was written");
    for (place, text) in &outputs {
        for secret in [TOKEN, PROXY_SECRET, &db_password, WEBHOOK_SECRET] {
            assert!(!text.contains(secret), "a secret reached {place}");
        }
    }
}
