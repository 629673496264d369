//! The reference bot: reads the configuration, then runs until Ctrl-C or SIGTERM.

use std::process::ExitCode;

use admin_panel::config::Config;
use admin_panel::redact::redact;

/// mimalloc instead of glibc's malloc: a restart's burst of GUILD_CREATEs is
/// mostly serenity allocating and freeing JSON values (a quarter of the
/// bot's CPU in `malloc`/`free` under perf with glibc), and mimalloc gives
/// freed memory back by itself.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .on_thread_park(return_freed_memory)
        .build()
        .expect("the tokio runtime starts");
    runtime.block_on(run())
}

/// A worker thread going idle hands back what it freed, at most once a
/// second. During a restart's burst the shard's thread allocates every
/// parsed GUILD_CREATE and other threads free them; mimalloc returns such
/// pages only when their owning thread next works in the allocator, and an
/// idle thread never does: without this, a four-shard burst of 10,000
/// servers could leave 80 MiB behind (`cargo bench --bench boot_storm`).
fn return_freed_memory() {
    use std::cell::Cell;
    use std::time::{Duration, Instant};
    thread_local! {
        static LAST: Cell<Option<Instant>> = const { Cell::new(None) };
    }
    let now = Instant::now();
    if LAST
        .get()
        .is_some_and(|last| now - last < Duration::from_secs(1))
    {
        return;
    }
    LAST.set(Some(now));
    // SAFETY: mi_collect only frees this thread's own unused pages and takes
    // no pointer.
    unsafe { libmimalloc_sys::mi_collect(false) };
}

async fn run() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            // Printed past the logger: through the redaction all the same.
            eprintln!(
                "admin-panel: configuration error: {}",
                redact(&error.to_string())
            );
            return ExitCode::from(2);
        }
    };
    admin_panel::bot::init_tracing(&config.rust_log, true);
    match admin_panel::bot::run(config, shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        // One line, on stderr, whatever the cause: what an operator reads first.
        Err(error) => {
            eprintln!("admin-panel: {}", redact(&format!("{error:#}")));
            ExitCode::FAILURE
        }
    }
}

/// Ctrl-C or SIGTERM (what systemd and container runtimes send).
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing a SIGTERM handler cannot fail on Unix");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
