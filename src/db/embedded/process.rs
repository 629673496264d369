//! Running programs, connecting, small helpers.

use std::fs;
use std::io::{self, Read, Seek, SeekFrom};
use std::net::TcpListener;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use sqlx::postgres::{PgConnectOptions, PgConnection, PgSslMode};
use sqlx::{ConnectOptions as _, Connection};
use tokio::io::AsyncWriteExt as _;

use super::account::ServerAccount;
use super::constants::{CONNECT_TIMEOUT, LISTEN_ADDRESS, MAINTENANCE_DATABASE, SUPERUSER};
use super::error::{EmbeddedPostgresError, Result};
use super::password::Password;

/// A command for one of the PostgreSQL programs, run as the server account
/// (if any) and from `/`, so a working directory that account cannot enter
/// (such as root's home) does not matter.
pub(super) fn pg_command(
    bin_dir: &Path,
    program: &str,
    account: Option<&ServerAccount>,
) -> Command {
    let mut command = Command::new(bin_dir.join(program));
    command.current_dir("/").stdin(Stdio::null());
    if let Some(account) = account {
        command.uid(account.uid).gid(account.gid);
    }
    command
}

pub(super) async fn run(command: Command) -> Result<()> {
    let description = describe(&command);
    let output = tokio::process::Command::from(command).output().await;
    check_output(description, output)
}

pub(super) fn run_blocking(mut command: Command) -> Result<()> {
    let description = describe(&command);
    let output = command.output();
    check_output(description, output)
}

pub(super) fn check_output(description: String, output: io::Result<Output>) -> Result<()> {
    let output = output.map_err(|error| EmbeddedPostgresError::CommandFailed {
        command: description.clone(),
        details: error.to_string(),
    })?;
    if output.status.success() {
        return Ok(());
    }
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    Err(EmbeddedPostgresError::CommandFailed {
        command: description,
        details: format!("{}: {}", output.status, printed.trim()),
    })
}

/// `program arg arg` for messages.
pub(super) fn describe(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|part| part.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Connects to our server as the superuser, with `password` or (to check
/// that such logins are refused) without one. Statement logging is off: the
/// bot's own log has no use for our administrative SQL, which includes a
/// password verifier when an old cluster is closed.
pub(super) async fn connect_to(
    port: u16,
    password: Option<&Password>,
) -> Result<PgConnection, sqlx::Error> {
    let mut options = PgConnectOptions::new_without_pgpass()
        .host(LISTEN_ADDRESS)
        .port(port)
        .username(SUPERUSER)
        .database(MAINTENANCE_DATABASE)
        .ssl_mode(PgSslMode::Disable)
        .application_name("admin-panel")
        .disable_statement_logging();
    if let Some(password) = password {
        options = options.password(password.expose());
    }
    match tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options)).await {
        Ok(result) => result,
        Err(_) => Err(sqlx::Error::Io(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no answer within {CONNECT_TIMEOUT:?}"),
        ))),
    }
}

/// Whether the server refused a login (SQLSTATE class 28: wrong or missing
/// password, or no `pg_hba.conf` rule lets it in).
pub(super) fn login_refused(error: &sqlx::Error) -> bool {
    sqlstate(error).is_some_and(|code| code.starts_with("28"))
}

/// Runs `command` (a PostgreSQL program) with `input` on its stdin. Returns
/// the lines it printed that report an error (`ERROR:`, `FATAL:`), which a
/// single-user backend prints without failing.
pub(super) async fn run_with_input(command: Command, input: &str) -> Result<Vec<String>> {
    let description = describe(&command);
    let mut command = tokio::process::Command::from(command);
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let output = async {
        let mut child = command.spawn()?;
        let mut stdin = child.stdin.take().expect("stdin is piped");
        // A program that fails early stops reading; its output says why.
        stdin.write_all(input.as_bytes()).await.ok();
        drop(stdin); // end of input: the program exits
        child.wait_with_output().await
    }
    .await;
    if let Ok(output) = &output
        && output.status.success()
    {
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stderr),
            String::from_utf8_lossy(&output.stdout)
        );
        return Ok(printed
            .lines()
            .filter(|line| line.contains("ERROR:") || line.contains("FATAL:"))
            .map(str::to_owned)
            .collect());
    }
    check_output(description, output).map(|()| Vec::new())
}

/// A port that was free a moment ago (the server may still lose a race for it).
pub(super) fn free_loopback_port() -> io::Result<u16> {
    Ok(TcpListener::bind((LISTEN_ADDRESS, 0))?.local_addr()?.port())
}

pub(super) fn port_was_taken(new_log: &str) -> bool {
    new_log.contains("Address already in use")
}

/// The log from byte `offset` on: what the latest start attempt wrote.
pub(super) fn read_log_from(log_file: &Path, offset: u64) -> String {
    let read = || -> io::Result<String> {
        let mut file = fs::File::open(log_file)?;
        file.seek(SeekFrom::Start(offset))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    };
    read().unwrap_or_else(|error| format!("(the log could not be read: {error})"))
}

pub(super) fn last_lines(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(count)..].join("\n")
}

pub(super) fn is_plain_identifier(name: &str) -> bool {
    (1..=63).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

pub(super) fn sqlstate(error: &sqlx::Error) -> Option<String> {
    Some(error.as_database_error()?.code()?.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_must_be_plain_identifiers() {
        assert!(is_plain_identifier("admin_panel"));
        assert!(is_plain_identifier("adminpanel_test_0123abcd"));
        assert!(!is_plain_identifier(""));
        assert!(!is_plain_identifier("drop\"; --"));
        assert!(!is_plain_identifier(&"x".repeat(64)));
    }

    #[test]
    fn a_port_taken_by_someone_else_is_recognised_in_the_log() {
        let log = "LOG:  could not bind IPv4 address \"127.0.0.1\": Address already in use\n\
                   HINT:  Is another postmaster already running on port 41234?\n\
                   WARNING:  could not create listen socket for \"127.0.0.1\"\n\
                   FATAL:  could not create any TCP/IP sockets\n";
        assert!(port_was_taken(log));
        assert!(!port_was_taken(
            "FATAL:  data directory \"/x\" has wrong ownership\n"
        ));
    }

    #[test]
    fn only_the_last_log_lines_are_quoted() {
        assert_eq!(last_lines("a\nb\nc\n", 2), "b\nc");
        assert_eq!(last_lines("a", 5), "a");
    }
}
