//! The superuser's password: generated once, kept in the data directory, and
//! handed to `initdb` through a short-lived file.
//!
//! The password is what keeps other local users and processes out of the
//! cluster, so it is only ever written to files of mode 0600 and never shown:
//! its `Debug` is redacted, and it reaches the server either through such a
//! file (`initdb --pwfile`) or as a SCRAM verifier (see [`super::scram`]),
//! never as SQL text that a statement log could record.

use std::fmt;
use std::fs;
use std::io::{self, Write as _};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use rand::Rng as _;
use rand::distr::Alphanumeric;

use super::account::ServerAccount;
use super::constants::{PASSWORD_FILE_NAME, PASSWORD_LENGTH};
use super::error::{EmbeddedPostgresError, Result, io_error};

// At least 32 characters, so guessing is hopeless even at the rate of a
// local attacker with unlimited tries.
const _: () = assert!(PASSWORD_LENGTH >= 32);

/// The password of the superuser the bot connects as.
#[derive(Clone, PartialEq, Eq)]
pub(super) struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("Password(<redacted>)")
    }
}

impl Password {
    /// A fresh password from the thread-local CSPRNG (ChaCha seeded by the
    /// OS). Letters and digits only: ~5.95 bits each, so 40 of them give
    /// about 238 bits, and the password needs no escaping in a URL and is
    /// left as it is by SASLprep, which only rewrites non-ASCII text.
    pub(super) fn generate() -> Password {
        let text: String = rand::rng()
            .sample_iter(Alphanumeric)
            .take(PASSWORD_LENGTH)
            .map(char::from)
            .collect();
        Password(text)
    }

    pub(super) fn expose(&self) -> &str {
        &self.0
    }

    /// The password for the user-info part of a URL, percent-encoded. A
    /// generated password needs no encoding; one edited into the file by
    /// hand might.
    pub(super) fn url_encoded(&self) -> String {
        let mut encoded = String::with_capacity(self.0.len());
        for byte in self.0.bytes() {
            if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                encoded.push(char::from(byte));
            } else {
                encoded.push_str(&format!("%{byte:02X}"));
            }
        }
        encoded
    }

    /// Parses the contents of a password file. Only printable ASCII is
    /// accepted: SASLprep would rewrite other text, and the SCRAM verifier
    /// computed here would then not match what clients send.
    fn parse(contents: &str, path: &Path) -> Result<Password> {
        let text = contents.trim_end_matches(['\n', '\r']);
        if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_graphic()) {
            return Err(EmbeddedPostgresError::UnusablePasswordFile {
                path: path.to_path_buf(),
            });
        }
        Ok(Password(text.to_owned()))
    }
}

/// Where the password of the cluster in `data_dir` is kept.
pub(super) fn password_file(data_dir: &Path) -> PathBuf {
    data_dir.join(PASSWORD_FILE_NAME)
}

/// The stored password, or `None` if the file does not exist. A file that
/// others could read is narrowed to 0600 first.
pub(super) fn read_password(data_dir: &Path) -> Result<Option<Password>> {
    let path = password_file(data_dir);
    let contents = match fs::read_to_string(&path) {
        Ok(contents) => contents,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(io_error("read", &path)(error)),
    };
    let mode = fs::metadata(&path)
        .map_err(io_error("inspect", &path))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600))
            .map_err(io_error("restrict access to", &path))?;
        tracing::warn!(path = %path.display(), "the embedded PostgreSQL password file was readable by others; narrowed it to 0600");
    }
    Password::parse(&contents, &path).map(Some)
}

/// Stores `password` in the data directory, mode 0600, owned by the server
/// account when there is one (so a later run as that account can read it;
/// root reads it regardless). Written to a temporary name and renamed, so a
/// crash leaves either the old file or the new one, never half of one.
pub(super) fn store_password(
    data_dir: &Path,
    password: &Password,
    account: Option<&ServerAccount>,
) -> Result<()> {
    let path = password_file(data_dir);
    let staging = data_dir.join(format!("{PASSWORD_FILE_NAME}.new"));
    fs::remove_file(&staging).ok();
    write_private_file(&staging, password, account)?;
    fs::rename(&staging, &path).map_err(io_error("store", &path))
}

/// A copy of the password for `initdb --pwfile`, removed when dropped.
///
/// initdb insists on an empty data directory, so the file lives in the temp
/// directory under an unguessable name, created exclusively (no symlink or
/// existing file is followed) with mode 0600 and, as root, handed to the
/// account that runs initdb.
pub(super) struct InitdbPasswordFile(PathBuf);

impl InitdbPasswordFile {
    pub(super) fn create(
        password: &Password,
        account: Option<&ServerAccount>,
    ) -> Result<InitdbPasswordFile> {
        let path = std::env::temp_dir().join(format!(
            "admin-panel-initdb-{:032x}.pw",
            rand::random::<u128>()
        ));
        // Own the path before writing, so a failed write still removes it.
        let file = InitdbPasswordFile(path);
        write_private_file(&file.0, password, account)?;
        Ok(file)
    }

    pub(super) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for InitdbPasswordFile {
    fn drop(&mut self) {
        if let Err(error) = fs::remove_file(&self.0)
            && error.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.0.display(), %error, "could not remove the temporary initdb password file");
        }
    }
}

/// Creates `path` (it must not exist) with mode 0600 from the start, hands
/// it to `account` and writes the password followed by a newline.
fn write_private_file(
    path: &Path,
    password: &Password,
    account: Option<&ServerAccount>,
) -> Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io_error("create", path))?;
    if let Some(account) = account {
        account.chown(path)?;
    }
    file.write_all(format!("{}\n", password.expose()).as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io_error("write", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_are_long_url_safe_and_different() {
        let first = Password::generate();
        let second = Password::generate();
        assert_eq!(first.expose().len(), PASSWORD_LENGTH);
        assert!(
            first
                .expose()
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric())
        );
        assert_eq!(first.url_encoded(), first.expose());
        assert_ne!(first, second);
    }

    #[test]
    fn the_password_never_shows_in_debug_output() {
        let password = Password::generate();
        let shown = format!("{password:?}");
        assert!(!shown.contains(password.expose()), "{shown}");
    }

    #[test]
    fn a_hand_written_password_is_percent_encoded_in_urls() {
        let password = Password::parse("p@ss:w/rd%1\n", Path::new("f")).unwrap();
        assert_eq!(password.expose(), "p@ss:w/rd%1");
        assert_eq!(password.url_encoded(), "p%40ss%3Aw%2Frd%251");
    }

    #[test]
    fn an_empty_or_non_ascii_password_file_is_refused() {
        for contents in ["", "\n", "pass word", "pässword"] {
            assert!(
                Password::parse(contents, Path::new("f")).is_err(),
                "{contents:?}"
            );
        }
    }

    #[test]
    fn a_stored_password_is_read_back_and_kept_private() {
        let dir = std::env::temp_dir().join(format!(
            "admin-panel-password-unit-{:016x}",
            rand::random::<u64>()
        ));
        fs::create_dir(&dir).unwrap();
        assert_eq!(read_password(&dir).unwrap(), None);

        let password = Password::generate();
        store_password(&dir, &password, None).unwrap();
        let mode = fs::metadata(password_file(&dir))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(read_password(&dir).unwrap(), Some(password.clone()));

        let replacement = Password::generate();
        store_password(&dir, &replacement, None).unwrap();
        assert_eq!(read_password(&dir).unwrap(), Some(replacement));

        fs::set_permissions(password_file(&dir), fs::Permissions::from_mode(0o644)).unwrap();
        read_password(&dir).unwrap();
        let mode = fs::metadata(password_file(&dir))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "a readable file is narrowed");
        fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn the_initdb_password_file_is_private_and_removed_when_dropped() {
        let password = Password::generate();
        let file = InitdbPasswordFile::create(&password, None).unwrap();
        let path = file.path().to_path_buf();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            format!("{}\n", password.expose())
        );
        drop(file);
        assert!(!path.exists());
    }
}
