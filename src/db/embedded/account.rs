//! The data directory and the account that runs the server.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::Stdio;

use super::constants::UNPRIVILEGED_ACCOUNTS;
use super::error::{EmbeddedPostgresError, Result, io_error};

/// pg_ctl embeds the data directory (and so the log and socket paths inside
/// it) in a `/bin/sh` command line within double quotes, where these
/// characters would be interpreted.
pub(super) fn ensure_shell_safe(data_dir: &Path) -> Result<()> {
    match data_dir.to_str() {
        Some(path) if !path.contains(['"', '\\', '$', '`']) => Ok(()),
        _ => Err(EmbeddedPostgresError::UnsupportedPath {
            data_dir: data_dir.to_path_buf(),
        }),
    }
}

/// The major version of the cluster in `data_dir`, or `None` when there is
/// no cluster yet (missing or empty directory).
pub(super) fn existing_cluster_version(data_dir: &Path) -> Result<Option<String>> {
    let mut entries = match fs::read_dir(data_dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(io_error("read", data_dir)(error)),
    };
    let version_file = data_dir.join("PG_VERSION");
    match fs::read_to_string(&version_file) {
        Ok(version) => Ok(Some(version.trim().to_owned())),
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            if entries.next().is_some() {
                Err(EmbeddedPostgresError::NotACluster {
                    data_dir: data_dir.to_path_buf(),
                })
            } else {
                Ok(None)
            }
        }
        Err(error) => Err(io_error("read", &version_file)(error)),
    }
}

/// The Unix account that runs the server processes when the bot is root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct ServerAccount {
    pub(super) name: String,
    pub(super) uid: u32,
    pub(super) gid: u32,
}

impl ServerAccount {
    pub(super) fn chown(&self, path: &Path) -> Result<()> {
        std::os::unix::fs::chown(path, Some(self.uid), Some(self.gid))
            .map_err(io_error("change the owner of", path))
    }
}

/// `None` when not root: the server then simply runs as the bot's own user.
/// As root: the owner of an existing cluster (the account that created it),
/// else the first of [`UNPRIVILEGED_ACCOUNTS`] that exists.
pub(super) fn server_account(
    data_dir: &Path,
    cluster_exists: bool,
) -> Result<Option<ServerAccount>> {
    if !running_as_root() {
        return Ok(None);
    }
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    if cluster_exists {
        let meta = fs::metadata(data_dir).map_err(io_error("inspect", data_dir))?;
        if meta.uid() != 0 {
            let name = passwd_name_of(&passwd, meta.uid())
                .unwrap_or_else(|| format!("uid {}", meta.uid()));
            return Ok(Some(ServerAccount {
                name,
                uid: meta.uid(),
                gid: meta.gid(),
            }));
        }
    }
    UNPRIVILEGED_ACCOUNTS
        .iter()
        .find_map(|name| passwd_account(&passwd, name))
        .map(Some)
        .ok_or(EmbeddedPostgresError::NoUnprivilegedAccount)
}

/// The account `name` in `/etc/passwd` format (`name:x:uid:gid:...`).
pub(super) fn passwd_account(passwd: &str, name: &str) -> Option<ServerAccount> {
    passwd_entries(passwd).find(|account| account.name == name)
}

/// The name of the account with `uid` in `/etc/passwd` format.
pub(super) fn passwd_name_of(passwd: &str, uid: u32) -> Option<String> {
    passwd_entries(passwd)
        .find(|account| account.uid == uid)
        .map(|account| account.name)
}

/// Well-formed entries; comments, blank lines and NIS `+`/`-` lines are skipped.
pub(super) fn passwd_entries(passwd: &str) -> impl Iterator<Item = ServerAccount> + '_ {
    passwd.lines().filter_map(|line| {
        let line = line.trim();
        if line.is_empty() || line.starts_with(['#', '+', '-']) {
            return None;
        }
        let mut fields = line.split(':');
        let name = fields.next()?;
        let _password = fields.next()?;
        let uid = fields.next()?.parse().ok()?;
        let gid = fields.next()?.parse().ok()?;
        Some(ServerAccount {
            name: name.to_owned(),
            uid,
            gid,
        })
    })
}

/// Creates the data directory (mode 0700, as PostgreSQL requires) and any
/// missing parents. As root, everything created here, and an existing but
/// empty data directory, is handed to the server account, which must own the
/// data directory.
pub(super) fn prepare_data_dir(data_dir: &Path, account: Option<&ServerAccount>) -> Result<()> {
    let missing: Vec<&Path> = data_dir
        .ancestors()
        .take_while(|dir| !dir.exists())
        .collect();
    for dir in missing.iter().rev() {
        let mode = if *dir == data_dir { 0o700 } else { 0o755 };
        match fs::DirBuilder::new().mode(mode).create(dir) {
            Ok(()) => {}
            // Created concurrently by someone else: fine.
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
            Err(error) => return Err(io_error("create", dir)(error)),
        }
        if let Some(account) = account {
            account.chown(dir)?;
        }
    }
    let is_empty = fs::read_dir(data_dir)
        .map_err(io_error("read", data_dir))?
        .next()
        .is_none();
    if is_empty {
        if let Some(account) = account {
            account.chown(data_dir)?;
        }
        fs::set_permissions(data_dir, fs::Permissions::from_mode(0o700))
            .map_err(io_error("restrict access to", data_dir))?;
    }
    Ok(())
}

/// Proves, by running `pg_ctl --version` as the account, that it can run the
/// programs and enter the data directory, and names the obstacle if not:
/// otherwise initdb fails with a message that does not say which directory
/// is the problem.
pub(super) fn ensure_reachable(
    data_dir: &Path,
    bin_dir: &Path,
    account: &ServerAccount,
) -> Result<()> {
    let attempt = |working_dir: &Path| {
        std::process::Command::new(bin_dir.join("pg_ctl"))
            .arg("--version")
            .current_dir(working_dir)
            .uid(account.uid)
            .gid(account.gid)
            .stdin(Stdio::null())
            .output()
    };
    if let Err(error) = attempt(Path::new("/")) {
        return Err(EmbeddedPostgresError::DataDirNotReachable {
            account: account.name.clone(),
            data_dir: data_dir.to_path_buf(),
            obstacle: format!(
                "it cannot run {}: {error}",
                bin_dir.join("pg_ctl").display()
            ),
        });
    }
    match attempt(data_dir) {
        Ok(_) => Ok(()),
        Err(error) => {
            let blocked = data_dir
                .ancestors()
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .find(|dir| !fs::metadata(dir).is_ok_and(|meta| may_enter(&meta, account)));
            let obstacle = match blocked {
                Some(dir) => {
                    let mode = fs::metadata(dir).map_or(0, |meta| meta.mode() & 0o7777);
                    format!("{} (mode {mode:o}) does not let it in", dir.display())
                }
                None => format!("entering it fails: {error}"),
            };
            Err(EmbeddedPostgresError::DataDirNotReachable {
                account: account.name.clone(),
                data_dir: data_dir.to_path_buf(),
                obstacle,
            })
        }
    }
}

/// Whether the mode bits let `account` search (enter) a directory. Only a
/// hint for the error message: ACLs and supplementary groups are ignored.
pub(super) fn may_enter(meta: &fs::Metadata, account: &ServerAccount) -> bool {
    let mode = meta.mode();
    if meta.uid() == account.uid {
        mode & 0o100 != 0
    } else if meta.gid() == account.gid {
        mode & 0o010 != 0
    } else {
        mode & 0o001 != 0
    }
}

pub(super) fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_entries_are_found_by_name_and_by_uid() {
        let passwd = "\
# comment line
root:x:0:0:root:/root:/bin/bash

nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
broken-line-without-fields
+nisuser::::::
postgres:x:101:104:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash
";
        let postgres = ServerAccount {
            name: "postgres".into(),
            uid: 101,
            gid: 104,
        };
        assert_eq!(passwd_account(passwd, "postgres"), Some(postgres));
        assert_eq!(passwd_account(passwd, "nobody").map(|a| a.uid), Some(65534));
        assert_eq!(passwd_account(passwd, "nisuser"), None);
        assert_eq!(passwd_account(passwd, "alice"), None);
        assert_eq!(passwd_name_of(passwd, 101).as_deref(), Some("postgres"));
        assert_eq!(passwd_name_of(passwd, 4242), None);
    }

    #[test]
    fn the_preferred_unprivileged_account_is_postgres_then_nobody() {
        let without_postgres = "nobody:x:65534:65534::/:/bin/false\n";
        let preferred = UNPRIVILEGED_ACCOUNTS
            .iter()
            .find_map(|name| passwd_account(without_postgres, name));
        assert_eq!(preferred.map(|a| a.name).as_deref(), Some("nobody"));
    }

    #[test]
    fn paths_that_pg_ctl_would_pass_to_the_shell_unquoted_are_refused() {
        assert!(ensure_shell_safe(Path::new("/srv/bot data/postgres")).is_ok());
        for path in ["/srv/$HOME", "/srv/a\"b", "/srv/`id`", "/srv/back\\slash"] {
            assert!(ensure_shell_safe(Path::new(path)).is_err(), "{path}");
        }
    }
}
