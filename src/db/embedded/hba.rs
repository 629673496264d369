//! `pg_hba.conf`: finding `trust` lines and turning them into `scram-sha-256`.
//!
//! Clusters created by earlier versions of the bot (`initdb --auth=trust`)
//! let any local user in as superuser. Only the authentication method of a
//! rule is changed; every other line, comment and column is kept as it is.

use std::fs;
use std::io;
use std::net::IpAddr;
use std::ops::Range;
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use super::account::ServerAccount;
use super::constants::{AUTH_METHOD, HBA_FILE_NAME};
use super::error::{Result, io_error};

/// Where the cluster in `data_dir` keeps its client authentication rules
/// (`initdb` always puts them there; the bot never moves them).
pub(super) fn hba_file(data_dir: &Path) -> PathBuf {
    data_dir.join(HBA_FILE_NAME)
}

/// Whether any rule in the cluster's `pg_hba.conf` uses `trust`.
pub(super) fn trusts_anyone(data_dir: &Path) -> Result<bool> {
    let path = hba_file(data_dir);
    let contents = fs::read_to_string(&path).map_err(io_error("read", &path))?;
    Ok(!trust_methods(&contents).is_empty())
}

/// Rewrites the cluster's `pg_hba.conf` with every `trust` replaced by
/// [`AUTH_METHOD`]. The new file gets the old one's mode and owner and
/// replaces it by a rename, so the server never reads half a file. Returns
/// how many rules were changed.
pub(super) fn replace_trust(data_dir: &Path, account: Option<&ServerAccount>) -> Result<usize> {
    let path = hba_file(data_dir);
    let contents = fs::read_to_string(&path).map_err(io_error("read", &path))?;
    let methods = trust_methods(&contents);
    if methods.is_empty() {
        return Ok(0);
    }
    let meta = fs::metadata(&path).map_err(io_error("inspect", &path))?;
    let staging = data_dir.join(format!("{HBA_FILE_NAME}.new"));
    fs::remove_file(&staging).ok();
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(meta.permissions().mode() & 0o777)
        .open(&staging)
        .and_then(|mut file| {
            io::Write::write_all(&mut file, without_trust(&contents, &methods).as_bytes())?;
            file.sync_all()
        })
        .map_err(io_error("write", &staging))?;
    if account.is_some() {
        std::os::unix::fs::chown(&staging, Some(meta.uid()), Some(meta.gid()))
            .map_err(io_error("change the owner of", &staging))?;
    }
    fs::rename(&staging, &path).map_err(io_error("replace", &path))?;
    Ok(methods.len())
}

fn without_trust(contents: &str, methods: &[Range<usize>]) -> String {
    let mut rewritten = String::with_capacity(contents.len() + methods.len() * 8);
    let mut copied_up_to = 0;
    for method in methods {
        rewritten.push_str(&contents[copied_up_to..method.start]);
        rewritten.push_str(AUTH_METHOD);
        copied_up_to = method.end;
    }
    rewritten.push_str(&contents[copied_up_to..]);
    rewritten
}

/// Byte ranges, in `contents`, of every authentication method that is `trust`.
pub(super) fn trust_methods(contents: &str) -> Vec<Range<usize>> {
    let mut found = Vec::new();
    let mut line_start = 0;
    for line in contents.split_inclusive('\n') {
        let fields = fields(line);
        if let Some(index) = method_index(line, &fields) {
            let method = fields[index].clone();
            if &line[method.clone()] == "trust" {
                found.push(line_start + method.start..line_start + method.end);
            }
        }
        line_start += line.len();
    }
    found
}

/// Which field of a rule holds the method: `local DATABASE USER METHOD`,
/// `host* DATABASE USER ADDRESS METHOD`, or with the address split into IP
/// address and mask, `host* DATABASE USER IP MASK METHOD`. Other lines
/// (`include` directives, blank and comment lines) have none.
fn method_index(line: &str, fields: &[Range<usize>]) -> Option<usize> {
    let field = |index: usize| fields.get(index).map(|range| &line[range.clone()]);
    let index = match field(0)? {
        "local" => 3,
        kind if kind.starts_with("host") => {
            let is_ip =
                |text: Option<&str>| text.is_some_and(|text| text.parse::<IpAddr>().is_ok());
            if is_ip(field(3)) && is_ip(field(4)) {
                5
            } else {
                4
            }
        }
        _ => return None,
    };
    (index < fields.len()).then_some(index)
}

/// Byte ranges of the whitespace-separated fields of `line`, up to a `#`
/// outside double quotes (the rest is a comment).
fn fields(line: &str) -> Vec<Range<usize>> {
    let mut fields = Vec::new();
    let mut start = None;
    let mut quoted = false;
    let mut end = line.len();
    for (index, character) in line.char_indices() {
        match character {
            '"' => {
                quoted = !quoted;
                start.get_or_insert(index);
            }
            '#' if !quoted => {
                end = index;
                break;
            }
            c if c.is_whitespace() && !quoted => {
                if let Some(begin) = start.take() {
                    fields.push(begin..index);
                }
            }
            _ => {
                start.get_or_insert(index);
            }
        }
    }
    if let Some(begin) = start {
        fields.push(begin..end);
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rules `initdb --auth=trust` writes (PostgreSQL 15), under a
    /// header whose comments mention "trust" too.
    const TRUSTING: &str = "\
# METHOD can be \"trust\", \"reject\", \"md5\", \"password\", \"scram-sha-256\",
# \"gss\", \"sspi\", \"ident\", \"peer\", \"pam\", \"ldap\", \"radius\" or \"cert\".

# TYPE  DATABASE        USER            ADDRESS                 METHOD

# \"local\" is for Unix domain socket connections only
local   all             all                                     trust
# IPv4 local connections:
host    all             all             127.0.0.1/32            trust
# IPv6 local connections:
host    all             all             ::1/128                 trust
local   replication     all                                     trust
host    replication     all             127.0.0.1/32            trust
host    replication     all             ::1/128                 trust
";

    #[test]
    fn every_trust_rule_is_found_but_not_the_word_in_comments() {
        assert_eq!(trust_methods(TRUSTING).len(), 6);
        let closed = without_trust(TRUSTING, &trust_methods(TRUSTING));
        assert!(trust_methods(&closed).is_empty());
        assert!(closed.contains(
            "local   all             all                                     scram-sha-256\n"
        ));
        assert!(closed.contains(
            "host    replication     all             ::1/128                 scram-sha-256\n"
        ));
        assert!(
            closed.starts_with("# METHOD can be \"trust\""),
            "comments are kept"
        );
        assert_eq!(closed.lines().count(), TRUSTING.lines().count());
    }

    #[test]
    fn only_the_method_column_counts() {
        let rules = "\
host all trust 10.0.0.0/8 md5
hostssl trust all 192.168.0.1 255.255.255.255 trust clientcert=verify-full
local all all peer # not trust
host all all samehost trust
local all all trust\t# left open on purpose
\"trust\" all all trust
include_if_exists trust
";
        let found: Vec<&str> = trust_methods(rules)
            .into_iter()
            .map(|range| &rules[range])
            .collect();
        assert_eq!(found, ["trust", "trust", "trust"]);
        let closed = without_trust(rules, &trust_methods(rules));
        assert!(closed.contains("255.255.255.255 scram-sha-256 clientcert=verify-full\n"));
        assert!(closed.contains("host all all samehost scram-sha-256\n"));
        assert!(closed.contains("local all all scram-sha-256\t# left open on purpose\n"));
        assert!(closed.contains("host all trust 10.0.0.0/8 md5\n"));
    }

    #[test]
    fn a_file_without_a_final_newline_or_with_crlf_is_handled() {
        assert_eq!(trust_methods("local all all trust").len(), 1);
        let crlf = "local all all trust\r\nhost all all 127.0.0.1/32 trust\r\n";
        let closed = without_trust(crlf, &trust_methods(crlf));
        assert_eq!(
            closed,
            "local all all scram-sha-256\r\nhost all all 127.0.0.1/32 scram-sha-256\r\n"
        );
    }
}
