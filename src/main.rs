//! The reference bot: reads the configuration, then runs until Ctrl-C or SIGTERM.

use std::process::ExitCode;

use admin_panel::config::Config;

/// mimalloc instead of glibc's malloc: a restart's burst of GUILD_CREATEs is
/// mostly serenity allocating and freeing JSON values (a quarter of the
/// bot's CPU in `malloc`/`free` under perf with glibc), and mimalloc gives
/// freed memory back by itself.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("admin-panel: configuration error: {error}");
            return ExitCode::from(2);
        }
    };
    admin_panel::bot::init_tracing(&config.rust_log, true);
    match admin_panel::bot::run(config, shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        // One line, on stderr, whatever the cause: what an operator reads first.
        Err(error) => {
            eprintln!("admin-panel: {error:#}");
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
