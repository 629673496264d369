//! Two kinds of failure: a [`UserError`] is the user's to fix and is shown as
//! written; anything else is ours, so the user gets a short message with an id
//! and the log gets the whole cause chain under that id.

use std::fmt::Write as _;

/// The error type of every admin-panel command: the one most poise bots use,
/// so a host bot can register our commands next to its own.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// A problem with the user's input or request, shown to them verbatim
/// (ephemeral). It changes nothing: commands return it before writing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UserError(pub String);

impl UserError {
    /// A user error shown as `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// Returns early from a command with a [`UserError`].
#[macro_export]
macro_rules! user_error {
    ($($arg:tt)*) => {
        return Err($crate::error::UserError::new(format!($($arg)*)).into())
    };
}

/// A short random id that ties the message a user sees to the log line.
pub fn new_error_id() -> String {
    format!("{:08x}", rand::random::<u32>())
}

/// `error: cause: cause ...`, the whole `source()` chain on one line, with
/// any token or secret in it redacted (HTTP errors quote their URLs).
pub fn cause_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let _ = write!(text, ": {cause}");
        source = cause.source();
    }
    crate::redact::redact(&text).into_owned()
}

/// A panic caught in a handler that runs outside poise's own panic
/// catching (buttons, select menus, modals): reported like any internal
/// error, with the panic's message as its cause.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("panicked: {0}")]
pub struct Panicked(pub String);

impl Panicked {
    /// The panic of `payload` (what `catch_unwind` or a `JoinError` holds).
    pub fn from_payload(payload: &(dyn std::any::Any + Send)) -> Self {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_owned());
        Self(message)
    }
}

/// Runs `handling`, turning a panic in it into a [`Panicked`] error, so the
/// user still gets the error reply with an id and the log gets the cause.
pub async fn catching_panics<F>(handling: F) -> Result<(), Error>
where
    F: std::future::Future<Output = Result<(), Error>>,
{
    use futures_util::FutureExt as _;
    std::panic::AssertUnwindSafe(handling)
        .catch_unwind()
        .await
        .unwrap_or_else(|payload| Err(Panicked::from_payload(payload.as_ref()).into()))
}

/// What the user sees for an internal error.
pub fn internal_error_message(error_id: &str) -> String {
    format!(
        "Something went wrong on our side. It has been logged with error id `{error_id}`; \
         quote it if you report this."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn the_cause_chain_names_every_cause() {
        let error = Outer(std::io::Error::other("disk on fire"));
        assert_eq!(cause_chain(&error), "outer: disk on fire");
    }

    #[test]
    fn error_ids_are_eight_hex_digits() {
        let id = new_error_id();
        assert_eq!(id.len(), 8);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn the_internal_message_shows_the_id_but_no_detail() {
        assert!(internal_error_message("abcd1234").contains("abcd1234"));
    }
}
