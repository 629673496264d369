//! Database access: connecting, migrating, and the self-managed PostgreSQL used
//! when no `DATABASE_URL` is given.

pub mod embedded;

use sqlx::migrate::Migrator;

/// Every migration in `migrations/`, embedded at compile time so a host bot
/// does not need the SQL files at run time.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Whether a process with `pid` exists on this host: a self-managed
/// PostgreSQL's postmaster, or a bot process holding broadcast claims. EPERM
/// means it exists but belongs to someone else, which still counts.
pub fn process_is_alive(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks whether the process exists; nothing is sent.
    let result = unsafe { libc::kill(pid, 0) };
    result == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_reaped_one_is_not() {
        assert!(process_is_alive(std::process::id() as i32));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id() as i32;
        child.wait().unwrap();
        assert!(!process_is_alive(pid));
        assert!(!process_is_alive(0));
    }
}
