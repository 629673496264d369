//! Custom ids that carry everything a control needs, signed. A button, select
//! menu or modal of the panel is answered from its custom id and the database
//! alone, by whichever process receives the press, also after a restart; so
//! the id names its view and action, the user it was drawn for, when it
//! expires, and the view's numbers (a page, a cursor, a draft id), and ends
//! with an HMAC-SHA256 tag (key kept in the database) so that none of it can
//! be altered: a tampered id is refused, never interpreted.
//!
//! Form (at most 100 characters, Discord's limit):
//! `ap1:{view}{action}:{owner}:{expires}[:{arg}...]:{tag}`, numbers in base 36,
//! the tag 12 bytes of the HMAC in unpadded base64url.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Every custom id the panel draws starts with this; anything else belongs to
/// the host bot and is left alone.
pub const PREFIX: &str = "ap1:";
/// Discord's limit on a custom id.
pub const MAX_CUSTOM_ID_CHARS: usize = 100;
/// Bytes of the HMAC kept in the id: 96 bits, far beyond guessing online.
const TAG_BYTES: usize = 12;
/// Numbers a control can carry besides owner and expiry.
pub const MAX_ARGS: usize = 3;

/// The view that drew a control.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    ServerList,
    Logs,
    BroadcastHistory,
    BroadcastReport,
    /// A yes/no question before an action that cannot be undone.
    Confirm,
    /// The broadcast composer: its modals and the preview's buttons.
    Composer,
    /// `/settings broadcast-categories`.
    Categories,
    /// The Leave button of a server's view, and its reason form.
    Leave,
    /// `/admin blocklist list`.
    Blocklist,
}

impl View {
    const ALL: [Self; 9] = [
        Self::ServerList,
        Self::Logs,
        Self::BroadcastHistory,
        Self::BroadcastReport,
        Self::Confirm,
        Self::Composer,
        Self::Categories,
        Self::Leave,
        Self::Blocklist,
    ];

    fn code(self) -> char {
        match self {
            Self::ServerList => 's',
            Self::Logs => 'l',
            Self::BroadcastHistory => 'h',
            Self::BroadcastReport => 'r',
            Self::Confirm => 'c',
            Self::Composer => 'b',
            Self::Categories => 'k',
            Self::Leave => 'v',
            Self::Blocklist => 'x',
        }
    }

    /// The command that draws this view, for "run ... again".
    pub fn command(self) -> &'static str {
        match self {
            Self::ServerList => "/admin servers",
            Self::Logs => "/admin logs",
            Self::BroadcastHistory => "/admin broadcast history",
            Self::BroadcastReport => "/admin broadcast report",
            Self::Confirm => "the command",
            Self::Composer => "/admin broadcast new",
            Self::Categories => "/settings broadcast-categories",
            Self::Leave => "/admin server",
            Self::Blocklist => "/admin blocklist list",
        }
    }
}

/// What a control says, once its tag is verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlId {
    pub view: View,
    /// One ASCII letter or digit, meaningful to the view.
    pub action: char,
    /// The user the control was drawn for: nobody else may use it.
    pub owner: u64,
    /// Unix seconds after which the control is refused as expired.
    pub expires_at: i64,
    pub args: Vec<u64>,
}

/// Why a custom id was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidId {
    /// Not the panel's (the host bot's own components): not ours to answer.
    #[error("not a control of the panel")]
    NotOurs,
    #[error("the control's id is malformed")]
    Malformed,
    #[error("the control's id was altered")]
    BadTag,
}

type HmacSha256 = Hmac<Sha256>;

/// The signing key, shared by every process through the database.
#[derive(Clone)]
pub struct ControlKey([u8; 32]);

impl std::fmt::Debug for ControlKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ControlKey([redacted])")
    }
}

impl ControlKey {
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    fn tag(&self, payload: &str) -> String {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes a key of any size");
        mac.update(payload.as_bytes());
        let full = mac.finalize().into_bytes();
        URL_SAFE_NO_PAD.encode(&full[..TAG_BYTES])
    }

    /// The custom id for `control`.
    pub fn sign(&self, control: &ControlId) -> String {
        debug_assert!(control.args.len() <= MAX_ARGS);
        debug_assert!(control.action.is_ascii_alphanumeric());
        let mut payload = format!(
            "{PREFIX}{}{}:{}:{}",
            control.view.code(),
            control.action,
            base36(control.owner),
            base36(u64::try_from(control.expires_at).unwrap_or(0)),
        );
        for arg in &control.args {
            payload.push(':');
            payload.push_str(&base36(*arg));
        }
        let tag = self.tag(&payload);
        let id = format!("{payload}:{tag}");
        debug_assert!(id.len() <= MAX_CUSTOM_ID_CHARS, "{id}");
        id
    }

    /// The control a custom id names, if its tag is right.
    pub fn verify(&self, custom_id: &str) -> Result<ControlId, InvalidId> {
        let rest = custom_id.strip_prefix(PREFIX).ok_or(InvalidId::NotOurs)?;
        let (_, tag) = rest.rsplit_once(':').ok_or(InvalidId::Malformed)?;
        let payload = &custom_id[..custom_id.len() - tag.len() - 1];
        let expected = self.tag(payload);
        // Equal length and a constant-time comparison through the MAC type.
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("any key size");
        mac.update(payload.as_bytes());
        let tag_bytes = URL_SAFE_NO_PAD.decode(tag).map_err(|_| InvalidId::BadTag)?;
        if tag_bytes.len() != TAG_BYTES || mac.verify_truncated_left(&tag_bytes).is_err() {
            debug_assert_ne!(expected, tag);
            return Err(InvalidId::BadTag);
        }
        let mut fields = payload[PREFIX.len()..].split(':');
        let mut head = fields.next().ok_or(InvalidId::Malformed)?.chars();
        let view_code = head.next().ok_or(InvalidId::Malformed)?;
        let view = View::ALL
            .into_iter()
            .find(|view| view.code() == view_code)
            .ok_or(InvalidId::Malformed)?;
        let action = head.next().ok_or(InvalidId::Malformed)?;
        if head.next().is_some() {
            return Err(InvalidId::Malformed);
        }
        let mut number = || {
            fields
                .next()
                .and_then(from_base36)
                .ok_or(InvalidId::Malformed)
        };
        let owner = number()?;
        let expires_at = i64::try_from(number()?).map_err(|_| InvalidId::Malformed)?;
        let args = fields
            .map(|field| from_base36(field).ok_or(InvalidId::Malformed))
            .collect::<Result<Vec<_>, _>>()?;
        if args.len() > MAX_ARGS {
            return Err(InvalidId::Malformed);
        }
        Ok(ControlId {
            view,
            action,
            owner,
            expires_at,
            args,
        })
    }
}

impl ControlId {
    /// The `index`th number, or a malformed-id error (a signed id from an
    /// older version of a view may carry fewer).
    pub fn arg(&self, index: usize) -> Result<u64, InvalidId> {
        self.args.get(index).copied().ok_or(InvalidId::Malformed)
    }
}

fn base36(mut value: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    if value == 0 {
        return "0".to_owned();
    }
    let mut digits = Vec::with_capacity(13);
    while value > 0 {
        digits.push(DIGITS[(value % 36) as usize]);
        value /= 36;
    }
    digits.reverse();
    String::from_utf8(digits).expect("ASCII digits")
}

fn from_base36(text: &str) -> Option<u64> {
    if text.is_empty() || text.len() > 13 {
        return None;
    }
    u64::from_str_radix(text, 36).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ControlKey {
        ControlKey::new([7; 32])
    }

    fn control(args: Vec<u64>) -> ControlId {
        ControlId {
            view: View::ServerList,
            action: 'n',
            owner: u64::MAX >> 1,
            expires_at: 4_102_444_800, // 2100-01-01
            args,
        }
    }

    #[test]
    fn an_id_round_trips_and_fits_discords_limit_with_every_number_at_its_largest() {
        let widest = control(vec![u64::MAX; MAX_ARGS]);
        let id = key().sign(&widest);
        assert!(
            id.len() <= MAX_CUSTOM_ID_CHARS,
            "{} characters: {id}",
            id.len()
        );
        assert_eq!(key().verify(&id), Ok(widest));
        let none = control(vec![]);
        assert_eq!(key().verify(&key().sign(&none)), Ok(none));
    }

    #[test]
    fn any_change_to_an_id_is_refused() {
        let id = key().sign(&control(vec![3, 12345]));
        // Another owner, another page, another view: each byte matters.
        for (at, _) in id.char_indices().skip(PREFIX.len()) {
            let mut forged: Vec<char> = id.chars().collect();
            forged[at] = if forged[at] == 'a' { 'b' } else { 'a' };
            let forged: String = forged.into_iter().collect();
            if forged != id {
                assert!(key().verify(&forged).is_err(), "{forged}");
            }
        }
        let other_key = ControlKey::new([8; 32]);
        assert_eq!(other_key.verify(&id), Err(InvalidId::BadTag));
    }

    #[test]
    fn garbage_and_foreign_ids_are_told_apart() {
        assert_eq!(key().verify("my-bots-own-button"), Err(InvalidId::NotOurs));
        for garbage in [
            "ap1:",
            "ap1:sn",
            "ap1:sn:1:2:AAAA",
            "ap1::::",
            "ap1:zz:1:2:aaaaaaaaaaaaaaaa",
        ] {
            assert!(key().verify(garbage).is_err(), "{garbage}");
        }
    }

    #[test]
    fn base36_covers_the_whole_u64_range() {
        for value in [0, 1, 35, 36, 1_000_000, u64::MAX] {
            assert_eq!(from_base36(&base36(value)), Some(value));
        }
        assert_eq!(from_base36(""), None);
        assert_eq!(from_base36("-1"), None);
    }
}
