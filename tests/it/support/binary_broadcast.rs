//! A broadcast delivered by the reference binary run as its own process, for
//! the tests that stop that process midway (a kill, a revoked token) and
//! start another: servers with a broadcast channel each, a broadcast due
//! now, and waits on what the fake received and the database recorded.

use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use super::bot::DEVELOPER;
use super::db::TestDb;
use super::fake_discord::{Failure, FakeDiscord};

/// `guilds` servers numbered from 1, server `g`'s channel at `channels + g`.
#[derive(Debug, Clone, Copy)]
pub struct BinaryBroadcast {
    pub guilds: i64,
    pub channels: u64,
}

impl BinaryBroadcast {
    pub fn channel(&self, guild: i64) -> u64 {
        self.channels + guild as u64
    }

    /// The servers (in the fake and the database), sends answered after
    /// 50 ms so some are in flight whenever the process stops, and a
    /// broadcast of `category` due now; its id.
    pub async fn seed(&self, fake: &FakeDiscord, db: &TestDb, category: &str) -> i64 {
        fake.join_guilds(1..=self.guilds as u64);
        sqlx::query(
            "INSERT INTO guilds (id, name, member_count, joined_at)
             SELECT g, 'Guild ' || g, 10, now() FROM generate_series(1, $1::int8) AS g",
        )
        .bind(self.guilds)
        .execute(&db.pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO guild_settings (guild_id, broadcast_channel_id)
             SELECT g, $2 + g FROM generate_series(1, $1::int8) AS g",
        )
        .bind(self.guilds)
        .bind(self.channels as i64)
        .execute(&db.pool)
        .await
        .unwrap();
        fake.fail_route(
            "POST",
            "/api/v10/channels/*/messages",
            Failure::Delay(Duration::from_millis(50)),
            None,
        );
        sqlx::query_scalar(
            "INSERT INTO broadcasts (category, title, content, created_by, status, scheduled_for)
             VALUES ($1, 'Planned maintenance', 'Back in ten minutes.', $2, 'scheduled', now())
             RETURNING id",
        )
        .bind(category)
        .bind(DEVELOPER as i64)
        .fetch_one(&db.pool)
        .await
        .unwrap()
    }

    /// Messages the fake holds in the servers' channels.
    pub fn messages_posted(&self, fake: &FakeDiscord) -> usize {
        (1..=self.guilds)
            .map(|guild| fake.messages_in(self.channel(guild)).len())
            .sum()
    }

    /// Waits until `n` messages are posted (60 s at most).
    pub async fn wait_for_messages(&self, fake: &FakeDiscord, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.messages_posted(fake) < n {
            assert!(Instant::now() < deadline, "never got to {n} sends");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until broadcast `id` is sent, then stops `bot` with SIGTERM;
    /// on a timeout, panics with the tail of `log` (in `dir`).
    pub async fn finish(&self, db: &TestDb, id: i64, mut bot: Child, dir: &Path, log: &str) {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let status: String = sqlx::query_scalar("SELECT status FROM broadcasts WHERE id = $1")
                .bind(id)
                .fetch_one(&db.pool)
                .await
                .unwrap();
            if status == "sent" {
                break;
            }
            if Instant::now() > deadline {
                let _ = bot.kill();
                let text = std::fs::read_to_string(dir.join(log)).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                let tail = lines[lines.len().saturating_sub(20)..].join("\n");
                panic!("still {status}; log tail:\n{tail}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // SAFETY: kill(2) with a pid we spawned and a valid signal number.
        unsafe { libc::kill(bot.id() as i32, libc::SIGTERM) };
        bot.wait().unwrap();
    }

    /// Asserts every server has exactly one message.
    pub fn assert_one_message_each(&self, fake: &FakeDiscord) {
        for guild in 1..=self.guilds {
            let posted = fake.messages_in(self.channel(guild)).len();
            assert_eq!(posted, 1, "guild {guild} has exactly one message");
        }
    }
}
