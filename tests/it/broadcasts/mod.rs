//! Broadcasts end to end against the fake Discord and a real database: the
//! composer (modal, preview, dry run, validation), what each kind of server
//! gets, the report and Retry failed, scheduling, cancelling, and sharing the
//! work between processes.
//!
//! Servers are named by what they are, not by number: [`READY`] has a
//! channel and accepts everything, [`FORBIDDEN`] answers 403, and so on.

mod approvals;
mod audiences;
mod compose;
mod discord_outage;
mod followups;
mod invalid_requests;
mod lifecycle;
mod outcomes;
mod permission_gate;
mod publish;
mod test_send;

use std::time::Duration;

use crate::support::bot::DEVELOPER;
use crate::support::broadcast::{ALL, button_id, channel, compose, draft_id, seed_guild};
use crate::support::db::TestDb;
use crate::support::fake_discord::{Failure, FakeDiscord};
use crate::support::interact::press;

/// Long enough for a broadcast to a few dozen servers at the default rate.
pub const DELIVERY_WAIT: Duration = Duration::from_secs(30);

/// A server with a broadcast channel that accepts every category.
pub const READY: i64 = 1;
/// Another one, so "exactly one message each" means something.
pub const ALSO_READY: i64 = 2;
/// A server that never set a broadcast channel.
pub const NO_CHANNEL: i64 = 3;
/// A server that accepts only changelogs.
pub const CHANGELOG_ONLY: i64 = 4;
/// Discord answers 403 Missing Permissions (50013) here, once.
pub const FORBIDDEN: i64 = 5;
/// Discord answers 404 Unknown Channel (10003) here, always.
pub const CHANNEL_DELETED: i64 = 6;
/// Discord answers 500 here once, then delivers.
pub const FLAKY: i64 = 7;
/// Discord answers 429 here once, then delivers.
pub const RATE_LIMITED: i64 = 8;
/// A server the bot has left: never targeted.
pub const LEFT: i64 = 9;

/// Every named server, seeded as its name says, with Discord's answers set up.
pub async fn seed_every_kind_of_server(fake: &FakeDiscord, db: &TestDb) {
    for guild in [
        READY,
        ALSO_READY,
        FORBIDDEN,
        CHANNEL_DELETED,
        FLAKY,
        RATE_LIMITED,
        LEFT,
    ] {
        seed_guild(db, guild, true, ALL).await;
    }
    seed_guild(db, NO_CHANNEL, false, ALL).await;
    seed_guild(db, CHANGELOG_ONLY, true, &["changelog"]).await;
    sqlx::query("UPDATE guilds SET left_at = now() WHERE id = $1")
        .bind(LEFT)
        .execute(&db.pool)
        .await
        .unwrap();
    let messages = |guild| format!("/api/v10/channels/{}/messages", channel(guild));
    let status = |status, code, message: &str| Failure::Status {
        status,
        code,
        message: message.into(),
    };
    fake.fail_route(
        "POST",
        &messages(FORBIDDEN),
        status(403, 50013, "Missing Permissions"),
        Some(1),
    );
    fake.fail_route(
        "POST",
        &messages(CHANNEL_DELETED),
        status(404, 10003, "Unknown Channel"),
        None,
    );
    fake.fail_route("POST", &messages(FLAKY), Failure::ServerError, Some(1));
    fake.fail_route(
        "POST",
        &messages(RATE_LIMITED),
        Failure::RateLimited {
            retry_after_secs: 0.5,
            global: false,
        },
        Some(1),
    );
}

/// Composes an announcement titled `title` as the primary developer, presses
/// Send, and waits until the delivery is finished; returns the broadcast id.
pub async fn send_announcement(
    fake: &FakeDiscord,
    db: &TestDb,
    interaction: u64,
    title: &str,
) -> i64 {
    let preview = compose(fake, interaction, "announcement", None, &[("title", title)]).await;
    let id = draft_id(&preview);
    press(
        fake,
        &format!("submit-{interaction}"),
        &format!("send-{interaction}"),
        DEVELOPER,
        &button_id(&preview, "Send"),
        None,
    )
    .await;
    wait_until_sent(db, id).await;
    id
}

pub async fn wait_until_sent(db: &TestDb, id: i64) {
    crate::support::bot::eventually("the broadcast to finish", DELIVERY_WAIT, || async {
        (status(db, id).await == "sent").then_some(())
    })
    .await;
}

pub async fn status(db: &TestDb, id: i64) -> String {
    sqlx::query_scalar("SELECT status FROM broadcasts WHERE id = $1")
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

pub async fn count(db: &TestDb, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

/// The status and error code of one server's delivery.
pub async fn delivery(db: &TestDb, id: i64, guild: i64) -> (String, Option<i32>) {
    sqlx::query_as(
        "SELECT status, error_code FROM broadcast_deliveries WHERE broadcast_id = $1 AND guild_id = $2",
    )
    .bind(id)
    .bind(guild)
    .fetch_one(&db.pool)
    .await
    .unwrap()
}
