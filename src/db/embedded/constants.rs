//! The fixed names, limits and timeouts of the embedded cluster, in a leaf of
//! their own so every part of the module reads them without depending on
//! `mod.rs`, which runs those parts.

use std::time::Duration;

/// The programs a cluster needs. They are always taken from one directory so
/// their versions agree.
pub(super) const SERVER_PROGRAMS: [&str; 3] = ["initdb", "pg_ctl", "postgres"];

/// Superuser created by `initdb`; also the role the bot connects as.
pub(super) const SUPERUSER: &str = "postgres";

/// The server never listens on anything but loopback: the password keeps
/// other local users out, and nothing from outside gets to try it.
pub(super) const LISTEN_ADDRESS: &str = "127.0.0.1";

/// How every login proves itself, in `pg_hba.conf` and for stored passwords.
pub(super) const AUTH_METHOD: &str = "scram-sha-256";

/// PBKDF2 rounds in the superuser's SCRAM verifier (PostgreSQL's default).
pub(super) const SCRAM_ITERATIONS: u32 = 4096;

/// The superuser's password in the data directory (mode 0600).
pub(super) const PASSWORD_FILE_NAME: &str = "admin-panel.password";

/// Characters in a generated password (letters and digits).
pub(super) const PASSWORD_LENGTH: usize = 40;

/// Client authentication rules in the data directory.
pub(super) const HBA_FILE_NAME: &str = "pg_hba.conf";

/// Database that every cluster has, used for administrative connections.
pub(super) const MAINTENANCE_DATABASE: &str = "postgres";

/// The server's lock file in the data directory; see `lock_file.rs`.
pub(super) const LOCK_FILE_NAME: &str = "postmaster.pid";

/// SQLSTATE `duplicate_database`.
pub(super) const DUPLICATE_DATABASE: &str = "42P04";

/// Directory inside the data directory for the server's Unix socket, so the
/// cluster never needs write access to `/var/run/postgresql`.
pub(super) const SOCKET_DIR_NAME: &str = "sockets";

/// Server log inside the data directory; quoted in errors when a start fails.
pub(super) const LOG_FILE_NAME: &str = "server.log";

/// A log this large is moved aside to `server.log.old` before a start, so a
/// long-lived bot does not fill the disk with server logs.
pub(super) const LOG_ROTATE_BYTES: u64 = 16 * 1024 * 1024;

/// Lines of the server log quoted in a start error.
pub(super) const LOG_TAIL_LINES: usize = 20;

/// A free port is picked by binding port 0 and releasing it, so another
/// process may grab it before the server binds it; this many ports are tried.
pub(super) const PORT_ATTEMPTS: u32 = 5;

/// How long `pg_ctl` waits for the server to start (crash recovery included)
/// and to stop.
pub(super) const PG_CTL_TIMEOUT_SECS: u64 = 60;

/// How long a server left running by an earlier run may take to answer before
/// it is reported as unusable, when its lock file says it is ready.
pub(super) const RUNNING_SERVER_GRACE: Duration = Duration::from_secs(5);

/// Bound on a single connection attempt to our own server.
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest Unix socket path the server can bind (`sun_path` is 104 bytes on
/// macOS and 108 on Linux, both including the terminating NUL).
pub(super) const MAX_SOCKET_PATH_BYTES: usize = 103;

/// Accounts that run the server when the bot runs as root, in order of
/// preference: `postgres` is what packages create for exactly this purpose.
pub(super) const UNPRIVILEGED_ACCOUNTS: [&str; 2] = ["postgres", "nobody"];

/// Where PostgreSQL installations live when they are not on PATH, as
/// (parent directory, prefix of the versioned entry); each entry's `bin`
/// subdirectory is a candidate. Debian/Ubuntu come first, as the most common
/// host for a bot.
pub(super) const VERSIONED_INSTALL_ROOTS: [(&str, &str); 4] = [
    // Debian, Ubuntu: /usr/lib/postgresql/16/bin
    ("/usr/lib/postgresql", ""),
    // RHEL, Fedora (PGDG packages): /usr/pgsql-16/bin
    ("/usr", "pgsql-"),
    // Homebrew on Apple silicon, then on Intel macOS: .../opt/postgresql@16/bin
    ("/opt/homebrew/opt", "postgresql@"),
    ("/usr/local/opt", "postgresql@"),
];

/// What a user without PostgreSQL can do about it; part of a one-line error.
pub(super) const INSTALL_HINT: &str = "install PostgreSQL (e.g. `apt install postgresql` or `brew install postgresql@16`) or set DATABASE_URL to an existing database";
