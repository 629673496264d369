//! Running programs, connecting, small helpers.

use super::*;
// Running programs, connecting, small helpers

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

pub(super) async fn connect_to(port: u16) -> Result<PgConnection, sqlx::Error> {
    let options = PgConnectOptions::new_without_pgpass()
        .host(LISTEN_ADDRESS)
        .port(port)
        .username(SUPERUSER)
        .database(MAINTENANCE_DATABASE)
        .ssl_mode(PgSslMode::Disable)
        .application_name("admin-panel");
    match tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options)).await {
        Ok(result) => result,
        Err(_) => Err(sqlx::Error::Io(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no answer within {CONNECT_TIMEOUT:?}"),
        ))),
    }
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

pub(super) fn database_error(action: String) -> impl FnOnce(sqlx::Error) -> EmbeddedPostgresError {
    move |source| EmbeddedPostgresError::Database { action, source }
}

pub(super) fn io_error(
    action: &'static str,
    path: &Path,
) -> impl FnOnce(io::Error) -> EmbeddedPostgresError {
    let path = path.to_path_buf();
    move |source| EmbeddedPostgresError::Io {
        action,
        path,
        source,
    }
}
