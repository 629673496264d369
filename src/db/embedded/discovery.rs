//! Finding the PostgreSQL programs.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use super::constants::{SERVER_PROGRAMS, VERSIONED_INSTALL_ROOTS};
use super::error::{EmbeddedPostgresError, Result};

/// The only candidate when the caller names the directory.
pub(super) fn explicit_bin_dir(dir: &Path) -> Result<Vec<PathBuf>> {
    if has_server_programs(dir, is_executable) {
        Ok(vec![dir.to_path_buf()])
    } else {
        Err(EmbeddedPostgresError::BinariesNotFound {
            searched: dir.display().to_string(),
        })
    }
}

/// Every directory on this machine that holds all the server programs, in
/// order of preference.
pub(super) fn discover_bin_dirs() -> Result<Vec<PathBuf>> {
    let path_var = std::env::var_os("PATH");
    let installed = VERSIONED_INSTALL_ROOTS
        .iter()
        .flat_map(|(root, prefix)| versioned_bin_dirs(Path::new(root), prefix))
        .collect();
    let candidates = candidate_bin_dirs(path_var.as_deref(), pg_config_bindir(), installed);
    let complete: Vec<PathBuf> = candidates
        .into_iter()
        .filter(|dir| has_server_programs(dir, is_executable))
        .collect();
    if complete.is_empty() {
        let roots: Vec<String> = VERSIONED_INSTALL_ROOTS
            .iter()
            .map(|(root, prefix)| format!("{root}/{prefix}*/bin"))
            .collect();
        return Err(EmbeddedPostgresError::BinariesNotFound {
            searched: format!("PATH, `pg_config --bindir`, {}", roots.join(", ")),
        });
    }
    Ok(complete)
}

/// Orders the places to look: PATH first (the user's explicit choice), then
/// what `pg_config` reports, then installation directories, newest first.
/// Relative PATH entries are skipped (they depend on the working directory)
/// and each directory appears once.
pub(super) fn candidate_bin_dirs(
    path_var: Option<&OsStr>,
    pg_config_bindir: Option<PathBuf>,
    installed: Vec<PathBuf>,
) -> Vec<PathBuf> {
    let on_path = path_var
        .map(|path| std::env::split_paths(path).collect::<Vec<_>>())
        .unwrap_or_default();
    let mut candidates: Vec<PathBuf> = Vec::new();
    for dir in on_path.into_iter().chain(pg_config_bindir).chain(installed) {
        if dir.is_absolute() && !candidates.contains(&dir) {
            candidates.push(dir);
        }
    }
    candidates
}

/// Whether `dir` holds every server program; they must come from one
/// installation, so a directory with only some of them does not count.
pub(super) fn has_server_programs(dir: &Path, is_program: impl Fn(&Path) -> bool) -> bool {
    SERVER_PROGRAMS
        .iter()
        .all(|program| is_program(&dir.join(program)))
}

pub(super) fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// `pg_config --bindir`, when a `pg_config` is on PATH (it may belong to a
/// client-only package, hence only a candidate).
pub(super) fn pg_config_bindir() -> Option<PathBuf> {
    let output = std::process::Command::new("pg_config")
        .arg("--bindir")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let dir = String::from_utf8(output.stdout).ok()?;
    let dir = PathBuf::from(dir.trim());
    (output.status.success() && dir.is_absolute()).then_some(dir)
}

/// `root/<prefix><version>/bin` for every versioned installation under
/// `root`, newest version first.
pub(super) fn versioned_bin_dirs(root: &Path, prefix: &str) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(root) else {
        return Vec::new();
    };
    let names: Vec<String> = entries
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .collect();
    newest_first(&names, prefix)
        .into_iter()
        .map(|name| root.join(name).join("bin"))
        .collect()
}

/// The names that are `prefix` followed by a version (`16`, `9.6`), sorted
/// by version, newest first; other names are dropped.
pub(super) fn newest_first<'a>(names: &'a [String], prefix: &str) -> Vec<&'a str> {
    let mut versioned: Vec<(Vec<u32>, &str)> = names
        .iter()
        .filter_map(|name| Some((parse_version(name.strip_prefix(prefix)?)?, name.as_str())))
        .collect();
    versioned.sort_by(|a, b| b.0.cmp(&a.0));
    versioned.into_iter().map(|(_, name)| name).collect()
}

/// `"9.6"` -> `[9, 6]`; `None` unless the text is dot-separated numbers.
pub(super) fn parse_version(text: &str) -> Option<Vec<u32>> {
    text.split('.').map(|part| part.parse().ok()).collect()
}

/// Picks the programs for this data directory: for an existing cluster, the
/// first installation of the cluster's major version (another major version
/// cannot open it); for a new one, simply the first.
pub(super) fn choose_bin_dir(
    candidates: &[PathBuf],
    data_dir: &Path,
    cluster_version: Option<&str>,
) -> Result<PathBuf> {
    let Some(cluster_version) = cluster_version else {
        return Ok(candidates[0].clone());
    };
    for dir in candidates {
        if installed_major_version(dir).as_deref() == Some(cluster_version) {
            return Ok(dir.clone());
        }
    }
    Err(EmbeddedPostgresError::VersionMismatch {
        data_dir: data_dir.to_path_buf(),
        cluster_version: cluster_version.to_owned(),
        installed: installed_major_version(&candidates[0])
            .unwrap_or_else(|| "(unknown)".to_owned()),
        bin_dir: candidates[0].clone(),
    })
}

/// Major version of the `postgres` in `dir` (`--version` works even as root).
pub(super) fn installed_major_version(dir: &Path) -> Option<String> {
    let output = std::process::Command::new(dir.join("postgres"))
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .ok()?;
    major_version(&String::from_utf8_lossy(&output.stdout))
}

/// The major version in `postgres --version` output, spelled like the
/// cluster's `PG_VERSION` file: `16` from 16.4, `9.6` from 9.6.24.
pub(super) fn major_version(version_output: &str) -> Option<String> {
    let (_, after) = version_output.split_once("(PostgreSQL) ")?;
    let number: String = after
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let mut parts = number.split('.').filter(|part| !part.is_empty());
    let first = parts.next()?;
    if first.parse::<u32>().ok()? >= 10 {
        Some(first.to_owned())
    } else {
        Some(format!("{first}.{}", parts.next()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(dirs: &[&str]) -> Vec<PathBuf> {
        dirs.iter().map(PathBuf::from).collect()
    }

    #[test]
    fn path_entries_come_before_pg_config_which_comes_before_installations() {
        let candidates = candidate_bin_dirs(
            Some(OsStr::new("/usr/local/bin:relative/bin:/usr/bin")),
            Some(PathBuf::from("/usr/lib/postgresql/16/bin")),
            paths(&["/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin"]),
        );
        assert_eq!(
            candidates,
            paths(&[
                "/usr/local/bin",
                "/usr/bin",
                "/usr/lib/postgresql/16/bin",
                "/usr/lib/postgresql/15/bin",
            ]),
            "relative PATH entries are skipped and duplicates appear once"
        );
    }

    #[test]
    fn discovery_works_without_path_or_pg_config() {
        let candidates = candidate_bin_dirs(None, None, paths(&["/usr/pgsql-16/bin"]));
        assert_eq!(candidates, paths(&["/usr/pgsql-16/bin"]));
    }

    #[test]
    fn a_directory_counts_only_with_all_three_programs() {
        let only_psql_and_pg_ctl = |path: &Path| {
            path.file_name()
                .is_some_and(|name| name == "pg_ctl" || name == "psql")
        };
        assert!(!has_server_programs(
            Path::new("/usr/bin"),
            only_psql_and_pg_ctl
        ));
        assert!(has_server_programs(Path::new("/opt/pg/bin"), |_| true));
    }

    #[test]
    fn installations_are_ordered_newest_version_first() {
        let names: Vec<String> = ["9.6", "10", "16", "15", "README", "16beta"]
            .map(String::from)
            .to_vec();
        assert_eq!(newest_first(&names, ""), ["16", "15", "10", "9.6"]);

        let homebrew: Vec<String> = ["postgresql@14", "openssl@3", "postgresql@16", "postgresql"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            newest_first(&homebrew, "postgresql@"),
            ["postgresql@16", "postgresql@14"]
        );
    }

    #[test]
    fn versioned_bin_dirs_reads_the_installation_root() {
        let root = std::env::temp_dir().join(format!(
            "admin-panel-bindirs-{:016x}",
            rand::random::<u64>()
        ));
        for version in ["13", "17", "9.5"] {
            fs::create_dir_all(root.join(version).join("bin")).unwrap();
        }
        fs::write(root.join("notes.txt"), "").unwrap();
        let found = versioned_bin_dirs(&root, "");
        fs::remove_dir_all(&root).unwrap();
        assert_eq!(
            found,
            vec![
                root.join("17/bin"),
                root.join("13/bin"),
                root.join("9.5/bin")
            ]
        );
        assert!(versioned_bin_dirs(Path::new("/nonexistent/postgresql"), "").is_empty());
    }

    #[test]
    fn major_versions_are_spelled_like_pg_version_files() {
        let debian = "postgres (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)\n";
        assert_eq!(major_version(debian).as_deref(), Some("15"));
        assert_eq!(
            major_version("postgres (PostgreSQL) 9.6.24").as_deref(),
            Some("9.6")
        );
        assert_eq!(
            major_version("postgres (PostgreSQL) 18beta1").as_deref(),
            Some("18")
        );
        assert_eq!(major_version("command not found"), None);
    }
}
