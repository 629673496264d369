//! How the panel answers, and the one path by which any failure becomes what
//! the user sees: a [`UserError`]'s own text, a plain statement of an outage,
//! or, for anything else, a short message with an error id whose cause chain
//! goes to the log. Commands (via [`crate::hooks::on_error`]), buttons, select
//! menus and modals all come through [`answer_failure`].

use std::future::Future;
use std::sync::atomic::Ordering;

use serenity::all::{
    CreateInteractionResponse, CreateInteractionResponseMessage, Http, InteractionId,
};

use crate::error::{UserError, cause_chain, internal_error_message, new_error_id};
use crate::panel::AdminPanel;
use crate::store::logs::Severity;
use crate::telemetry::oplog;

/// What a user is told when the database does not answer: an outage is not a
/// bug, so no error id, and nothing was changed.
pub const DATABASE_UNAVAILABLE: &str =
    "The database is not answering right now; nothing was changed. Try again in a minute.";
/// What a user is told when the database answers the health probe but not
/// this request in time (every connection busy).
pub const DATABASE_BUSY: &str =
    "The database is too busy to answer in time; nothing was changed. Try again in a moment.";

type DynError = dyn std::error::Error + Send + Sync + 'static;

/// What a failure means for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Their input or request: shown verbatim.
    User(String),
    /// The database is unreachable or timed out.
    Outage {
        /// What failed, for the log.
        cause: String,
    },
    /// Ours: shown as an id, logged with the cause chain.
    Internal {
        /// The id the user is shown and the log carries.
        error_id: String,
        /// The error with its causes, for the log.
        chain: String,
    },
}

impl Failure {
    /// What `error` means for the user.
    pub fn of(error: &DynError) -> Self {
        if let Some(user_error) = error.downcast_ref::<UserError>() {
            return Self::User(user_error.to_string());
        }
        if is_database_outage(error) {
            return Self::Outage {
                cause: cause_chain(error),
            };
        }
        Self::Internal {
            error_id: new_error_id(),
            chain: cause_chain(error),
        }
    }

    /// The text the user sees.
    pub fn text(&self) -> String {
        match self {
            Self::User(text) => text.clone(),
            Self::Outage { .. } => DATABASE_UNAVAILABLE.to_owned(),
            Self::Internal { error_id, .. } => internal_error_message(error_id),
        }
    }
}

/// Whether `error` (or any of its causes) says the database did not answer:
/// no connection in time, a refused or cut connection, or a statement that
/// ran into its timeout.
pub fn is_database_outage(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(sqlx_error) = error.downcast_ref::<sqlx::Error>() {
            return match sqlx_error {
                sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::WorkerCrashed => true,
                // 57014 query_canceled (statement_timeout), 57P01-03 shutdown
                // and recovery, class 08 connection exceptions.
                sqlx::Error::Database(database) => database.code().is_some_and(|code| {
                    code == "57014" || code.starts_with("57P") || code.starts_with("08")
                }),
                _ => false,
            };
        }
        current = error.source();
    }
    false
}

/// Answers a failed command, press or modal: first the reply through `send`
/// (Discord allows 3 s for it), then the log, so a slow log never costs the
/// answer. `what` names the action in the log line (`/admin stats`, "pager
/// press", ...).
pub async fn answer_failure<F, Fut>(
    panel: &AdminPanel,
    error: &DynError,
    what: &str,
    guild_id: Option<u64>,
    send: F,
) where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = Result<(), serenity::Error>>,
{
    // A command's request refused for the bot token stops the bot like a
    // broadcast's would.
    panel.discord_guard.observe_any(error);
    let failure = Failure::of(error);
    let text = match &failure {
        Failure::Outage { .. } if panel.health.database_up.load(Ordering::Relaxed) => {
            DATABASE_BUSY.to_owned()
        }
        _ => failure.text(),
    };
    if let Err(send_error) = send(text).await {
        tracing::warn!(error = %cause_chain(&send_error), what, "could not send an error reply");
    }
    match failure {
        Failure::User(_) => {}
        Failure::Outage { cause } => {
            tracing::warn!(what, cause, "the database did not answer");
        }
        Failure::Internal { error_id, chain } => {
            let message = format!("{what} failed (error id {error_id}): {chain}");
            oplog::write_entry_or_warn(
                &panel.pool,
                Severity::Error,
                "command_error",
                guild_id,
                &message,
            )
            .await;
        }
    }
}

/// Answers an interaction (a press or a modal submit) with an ephemeral text.
pub async fn ephemeral(
    http: &Http,
    interaction_id: InteractionId,
    token: &str,
    text: impl Into<String>,
) -> Result<(), serenity::Error> {
    let response = CreateInteractionResponse::Message(
        CreateInteractionResponseMessage::new()
            .content(text)
            .ephemeral(true),
    );
    http.create_interaction_response(interaction_id, token, &response, Vec::new())
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_error_is_shown_as_written_and_an_internal_one_as_an_id() {
        let user: Box<DynError> = UserError::new("No such server.").into();
        assert_eq!(Failure::of(user.as_ref()).text(), "No such server.");
        let internal: Box<DynError> = std::io::Error::other("disk on fire").into();
        let failure = Failure::of(internal.as_ref());
        assert!(matches!(&failure, Failure::Internal { chain, .. } if chain == "disk on fire"));
        assert!(!failure.text().contains("disk on fire"));
    }

    #[test]
    fn a_database_that_does_not_answer_is_an_outage_not_a_bug() {
        for error in [sqlx::Error::PoolTimedOut, sqlx::Error::PoolClosed] {
            let boxed: Box<DynError> = error.into();
            assert_eq!(Failure::of(boxed.as_ref()).text(), DATABASE_UNAVAILABLE);
        }
        let refused = sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert!(is_database_outage(&refused));
        assert!(!is_database_outage(&sqlx::Error::RowNotFound));
    }
}
