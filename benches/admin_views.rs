//! Server time (query + render) of the admin views at scale: 100,000 guilds
//! with settings and modules. Target: p95 under 25 ms each.
//!
//! `cargo bench --bench admin_views` (DATABASE_URL's server or a private
//! cluster; creates and drops its own database). `BENCH_GUILDS` sets the size.

#[path = "../tests/it/support/db.rs"]
#[allow(dead_code)]
mod db;
#[path = "support/timing.rs"]
mod timing;

use std::time::{Duration, Instant};

use timing::measure;

use admin_panel::admin::pager::PageAt as ListAt;
use admin_panel::admin::servers::ServerList;
use admin_panel::admin::servers::ServerListArgs;
use admin_panel::store::health as health_store;
use admin_panel::store::servers::{self, PageAt, ServerSort};
use admin_panel::telemetry::health_server;
use admin_panel::ui::health::{HealthReport, render as render_health};
use admin_panel::ui::servers::{ListHeader, PAGE_SIZE, render_detail, render_list};
use admin_panel::{AdminPanel, PanelOptions};
use chrono::{TimeDelta, Utc};
use serenity::all::UserId;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::main]
async fn main() {
    let guilds: i64 = std::env::var("BENCH_GUILDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let db = db::TestDb::new().await;
    let pool = db.pool.clone();
    let seeding = Instant::now();
    // language=PostgreSQL
    for sql in [
        "INSERT INTO guilds (id, name, icon_hash, member_count, joined_at, left_at)
         SELECT i, 'Server ' || i, md5(i::text), (random() * 100000)::int, now() - random() * interval '900 days',
                CASE WHEN i % 20 = 0 THEN now() END
           FROM generate_series(1, $1) AS i",
        "INSERT INTO guild_settings (guild_id, language, embed_color, broadcast_channel_id)
         SELECT id, (ARRAY['en','de','fr','es','pt-BR'])[1 + id % 5], (id * 7919) % 16777215, CASE WHEN id % 3 > 0 THEN id + 1 END
           FROM guilds WHERE id <= $1",
        "INSERT INTO cog_settings (guild_id, module, enabled, settings)
         SELECT g.id, m, (g.id + length(m)) % 3 > 0, jsonb_build_object('level', g.id % 10)
           FROM guilds g, unnest(ARRAY['welcome','levels','moderation','music','tickets']) AS m WHERE g.id <= $1",
        "INSERT INTO system_logs (severity, event_type, guild_id, message)
         SELECT 'info', 'config_update', 1 + (i % $1), 'setting changed' FROM generate_series(1, $1 * 2) AS i",
    ] {
        sqlx::query(sql).bind(guilds).execute(&pool).await.expect("seed");
    }
    sqlx::query("ANALYZE").execute(&pool).await.unwrap();
    println!(
        "seeded {guilds} guilds in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );

    measure("/admin servers page 1 (members)", |_| {
        let pool = pool.clone();
        async move {
            let args = ServerListArgs {
                sort: ServerSort::Members,
                search: None,
            };
            let page = ServerList::load(&pool, &args, ListAt::First).await.unwrap();
            let _ = std::hint::black_box(page);
        }
    })
    .await;

    let total = servers::count_active(&pool, None).await.unwrap();
    let middle_page = 5_000.min((total / PAGE_SIZE).max(1) - 1);
    let anchor: i64 = sqlx::query_scalar(
        "SELECT id FROM guilds WHERE left_at IS NULL
          ORDER BY member_count DESC, id DESC OFFSET $1 LIMIT 1",
    )
    .bind(middle_page * PAGE_SIZE - 1)
    .fetch_one(&pool)
    .await
    .unwrap();
    let anchor = anchor as u64;
    measure(
        &format!("/admin servers page {} (next)", middle_page + 1),
        |_| {
            let pool = pool.clone();
            async move {
                let total = servers::count_active(&pool, None).await.unwrap();
                let rows = servers::page(
                    &pool,
                    ServerSort::Members,
                    None,
                    &PageAt::After(anchor),
                    PAGE_SIZE,
                )
                .await
                .unwrap();
                assert_eq!(rows.len(), PAGE_SIZE as usize);
                let header = ListHeader {
                    total,
                    sort: "members",
                    search: None,
                    page: middle_page as usize,
                    pages: 1,
                };
                let _ = std::hint::black_box(render_list(&rows, &header));
            }
        },
    )
    .await;

    measure("/admin servers last page", |_| {
        let pool = pool.clone();
        async move {
            let args = ServerListArgs {
                sort: ServerSort::Name,
                search: None,
            };
            let page = ServerList::load(&pool, &args, ListAt::Last).await.unwrap();
            let _ = std::hint::black_box(page);
        }
    })
    .await;

    measure("/admin servers search \"er 4242\"", |_| {
        let pool = pool.clone();
        async move {
            let args = ServerListArgs {
                sort: ServerSort::Name,
                search: Some("er 4242".into()),
            };
            let page = ServerList::load(&pool, &args, ListAt::First).await.unwrap();
            let _ = std::hint::black_box(page);
        }
    })
    .await;

    measure("/admin server (one server's view)", |i| {
        let pool = pool.clone();
        async move {
            let id = 1 + (i as u64 * 7_919) % guilds as u64;
            let now = Utc::now();
            let detail = servers::detail(&pool, id, now)
                .await
                .unwrap()
                .expect("seeded");
            let _ = std::hint::black_box(render_detail(&detail, &[], now));
        }
    })
    .await;

    // /admin health: its queries and render (the HTTP self-probe is measured below).
    let (panel, background) = AdminPanel::start(pool.clone(), PanelOptions::new(UserId::new(1)))
        .await
        .expect("panel");
    tokio::time::sleep(Duration::from_millis(2500)).await; // two CPU samples
    measure("/admin health (queries + render)", |_| {
        let panel = panel.clone();
        async move {
            let (database, instances) = tokio::join!(
                health_store::database_facts(&panel.pool),
                health_store::running_instances(&panel.pool)
            );
            let report = HealthReport {
                bot_online: true,
                status_detail: String::new(),
                shards: vec![],
                database: Some(database.unwrap()),
                pool_in_use: 1,
                pool_max: 10,
                system: panel.system.snapshot(),
                runtime: String::new(),
                instances: Some(instances.unwrap()),
                tasks: Vec::new(),
                invalid_requests: (
                    panel.discord_guard.invalid_requests().in_window(),
                    panel.discord_guard.invalid_requests().budget(),
                ),
                identifies_left: None,
                this_instance: panel.instance_id,
                maintenance: panel.maintenance.scopes(),
                stale_after: TimeDelta::seconds(90),
                now: Utc::now(),
            };
            let _ = std::hint::black_box(render_health(&report));
        }
    })
    .await;

    let listener = health_server::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    tokio::spawn(health_server::serve(
        listener,
        panel.health_state(),
        stop.clone(),
    ));
    for path in ["/health", "/metrics"] {
        measure(
            &format!("GET {path} (health-check server)"),
            |_| async move {
                let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
                let request =
                    format!("GET {path} HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n");
                stream.write_all(request.as_bytes()).await.unwrap();
                let mut response = Vec::new();
                stream.read_to_end(&mut response).await.unwrap();
            },
        )
        .await;
    }
    stop.cancel();
    background.shutdown().await;
}
