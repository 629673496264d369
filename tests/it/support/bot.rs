//! Runs the real reference bot in-process against a [`FakeDiscord`] and a test
//! database, the way `main.rs` runs it against Discord: through the
//! `DISCORD_PROXY_URL` seam, or with the production transport
//! ([`TestBot::start_with_client`]).

use std::collections::HashMap;
use std::time::Duration;

use admin_panel::config::Config;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::db::TestDb;
use super::fake_discord::FakeDiscord;

/// The guild `/admin` is registered in for tests that use [`start_with_admin_guild`].
pub const ADMIN_GUILD: u64 = 700_000_000_000_000_001;

/// A fake Discord, a fresh database and a bot with `/admin` in [`ADMIN_GUILD`];
/// `extra` adds or overrides variables.
pub async fn start_with_admin_guild(extra: &[(&str, &str)]) -> (FakeDiscord, TestDb, TestBot) {
    let fake = FakeDiscord::start().await;
    let db = TestDb::new().await;
    let admin_guild = ADMIN_GUILD.to_string();
    let mut vars = vec![("ADMIN_GUILD_IDS", admin_guild.as_str())];
    vars.extend_from_slice(extra);
    let bot = TestBot::start(&fake, test_config(&fake, &db, &vars)).await;
    (fake, db, bot)
}

/// A fake Discord and a bot with `/admin` in [`ADMIN_GUILD`] on `db`, which
/// the test seeded first (what the bot reads at start).
pub async fn start_on(db: &TestDb) -> (FakeDiscord, TestBot) {
    let fake = FakeDiscord::start().await;
    let admin_guild = ADMIN_GUILD.to_string();
    let config = test_config(&fake, db, &[("ADMIN_GUILD_IDS", admin_guild.as_str())]);
    let bot = TestBot::start(&fake, config).await;
    (fake, bot)
}

/// The primary developer every test bot is configured with.
pub const DEVELOPER: u64 = 200_000_000_000_000_001;
/// A token that passes config validation; the fake accepts any token.
pub const TOKEN: &str = "MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs";

pub struct TestBot {
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<anyhow::Result<()>>>,
}

/// The variables every test bot gets; `extra` overrides or adds.
pub fn test_config(fake: &FakeDiscord, db: &TestDb, extra: &[(&str, &str)]) -> Config {
    let mut vars: HashMap<String, String> = HashMap::from([
        ("DISCORD_TOKEN".to_owned(), TOKEN.to_owned()),
        ("DEVELOPER_USER_ID".to_owned(), DEVELOPER.to_string()),
        ("DATABASE_URL".to_owned(), db.url.clone()),
        ("DISCORD_PROXY_URL".to_owned(), fake.base_url()),
        ("HEALTH_ADDR".to_owned(), "127.0.0.1:0".to_owned()),
        ("SHARD_COUNT".to_owned(), "1".to_owned()),
    ]);
    for (name, value) in extra {
        vars.insert((*name).to_owned(), (*value).to_owned());
    }
    Config::from_lookup(|name| vars.get(name).cloned()).expect("test configuration is valid")
}

/// [`test_config`] without `DISCORD_PROXY_URL`: the bot talks to
/// `https://discord.com` with serenity's rate limiter on, as in production.
pub fn production_config(fake: &FakeDiscord, db: &TestDb, extra: &[(&str, &str)]) -> Config {
    let mut config = test_config(fake, db, extra);
    config.discord_proxy_url = None;
    config
}

impl TestBot {
    /// Starts the bot and waits until its shards are connected to the fake.
    pub async fn start(fake: &FakeDiscord, config: Config) -> TestBot {
        Self::start_inner(fake, config, None).await
    }

    /// Starts the bot with `client` as serenity's HTTP client (see
    /// [`FakeDiscord::production_client`]) and waits like [`Self::start`].
    pub async fn start_with_client(
        fake: &FakeDiscord,
        config: Config,
        client: reqwest::Client,
    ) -> TestBot {
        Self::start_inner(fake, config, Some(client)).await
    }

    async fn start_inner(
        fake: &FakeDiscord,
        config: Config,
        client: Option<reqwest::Client>,
    ) -> TestBot {
        admin_panel::bot::init_tracing(
            "info,admin_panel=debug,serenity=warn,poise=warn,sqlx=warn",
            false,
        );
        // This process's own shards: another process on the same fake may
        // have connected first, and its shards are not this one's.
        let shards: Vec<[u16; 2]> = match &config.sharding {
            admin_panel::config::Sharding::Range { ids, count } => {
                ids.clone().map(|id| [id as u16, *count as u16]).collect()
            }
            admin_panel::config::Sharding::All { count } => {
                (0..*count).map(|id| [id as u16, *count as u16]).collect()
            }
            admin_panel::config::Sharding::Recommended => vec![[0, 1]],
        };
        let database_url = config.database_url.clone();
        let (shutdown, signal) = oneshot::channel::<()>();
        let handle = tokio::spawn(admin_panel::bot::run_with_client(
            config,
            client,
            async move {
                let _ = signal.await;
            },
        ));
        // Shards of one bucket start 5.5 s apart, after the migrations: on
        // a loaded machine that can take a while.
        fake.wait_for_these_shards(&shards, Duration::from_secs(60))
            .await;
        // READY is handled (servers that left while offline marked) before a
        // shard is listed for its process: a test that seeds servers after
        // start must not race that.
        if let Some(url) = &database_url {
            wait_for_ready_handled(url, &shards).await;
        }
        TestBot {
            shutdown: Some(shutdown),
            handle: Some(handle),
        }
    }

    /// Sends the shutdown signal and waits for the bot to finish (flushes included).
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        let handle = self.handle.take().expect("stop is called once");
        tokio::time::timeout(Duration::from_secs(30), handle)
            .await
            .expect("the bot stops within 30 s")
            .expect("the bot task does not panic")
            .expect("the bot stops without error");
    }
}

impl Drop for TestBot {
    fn drop(&mut self) {
        if let Some(handle) = &self.handle {
            handle.abort();
        }
    }
}

/// Polls `check` until it returns `Some` or `timeout` passes.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl TestBot {
    /// Stops this bot and starts a new process of it on the same database and
    /// the same fake Discord, as a deploy does; returns the new one. Nothing
    /// of the first process's memory survives, only what it wrote.
    pub async fn restart(self, fake: &FakeDiscord, config: Config) -> TestBot {
        self.stop().await;
        // The fake forgets the old process's gateway connections at once.
        fake.disconnect_gateway();
        fake.allow_gateway();
        TestBot::start(fake, config).await
    }
}

/// Waits until the running bot processes on the database at `url` list
/// every one of `shards` (each is listed once its READY is handled).
async fn wait_for_ready_handled(url: &str, shards: &[[u16; 2]]) {
    let ids: Vec<i32> = shards.iter().map(|[id, _]| i32::from(*id)).collect();
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .expect("the test database");
    eventually("READY to be handled", Duration::from_secs(20), || async {
        let listed: i64 = sqlx::query_scalar(
            "SELECT count(DISTINCT s) FROM bot_instances, unnest(shard_ids) AS s
              WHERE stopped_at IS NULL AND s = ANY ($1)",
        )
        .bind(&ids)
        .fetch_one(&pool)
        .await
        .unwrap();
        (listed as usize >= ids.len()).then_some(())
    })
    .await;
    pool.close().await;
}
