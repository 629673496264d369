//! The `admin-panel` binary run as its own process, as a user runs it: for the
//! tests that kill it and the benchmarks that measure its memory alone.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::bot::{DEVELOPER, TOKEN};
use super::db::TestDb;
use super::fake_discord::FakeDiscord;

pub const BINARY: &str = env!("CARGO_BIN_EXE_admin-panel");

/// A fresh working directory without a `.env`, readable by an unprivileged user
/// (the self-managed PostgreSQL runs as one when the tests run as root).
pub fn work_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("admin-panel-bin-{:08x}", rand::random::<u32>()));
    std::fs::create_dir_all(&dir).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    dir
}

/// The binary in `dir` with only `PATH` and `vars` in its environment.
pub fn command(dir: &Path, vars: &[(&str, &str)]) -> Command {
    let mut command = Command::new(BINARY);
    command
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (name, value) in vars {
        command.env(name, value);
    }
    command
}

/// Spawns the binary against `db` and the fake, logging to `log` in `dir`;
/// `extra` adds or overrides variables.
pub fn spawn_bot(
    dir: &Path,
    fake: &FakeDiscord,
    db: &TestDb,
    log: &str,
    extra: &[(&str, &str)],
) -> Child {
    let developer = DEVELOPER.to_string();
    let base_url = fake.base_url();
    let log = std::fs::File::create(dir.join(log)).unwrap();
    let mut vars = vec![
        ("DISCORD_TOKEN", TOKEN),
        ("DEVELOPER_USER_ID", developer.as_str()),
        ("DATABASE_URL", db.url.as_str()),
        ("DISCORD_PROXY_URL", base_url.as_str()),
        ("HEALTH_ADDR", "127.0.0.1:0"),
    ];
    vars.extend_from_slice(extra);
    command(dir, &vars)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// (current, peak) resident memory of process `pid` in MiB.
pub fn memory_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}
