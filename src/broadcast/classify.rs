//! How a send ended, from serenity's answer: sent, worth retrying (429,
//! 5xx, timeouts, with backoff and a bounded number of attempts) or failed
//! for good (any other Discord error, with its code).

use serenity::all::HttpError;

use super::pacing::{Answer, Pacer};
use crate::store::broadcasts::Outcome;

/// Attempts for 5xx answers and timeouts; 429s get more, they always pass.
const MAX_ATTEMPTS: i32 = 5;
const MAX_RATE_LIMITED_ATTEMPTS: i32 = 12;

/// 1 s, 2 s, 4 s, ... capped at a minute.
fn backoff_secs(attempts: i32) -> f64 {
    2f64.powi((attempts - 1).clamp(0, 6)).min(60.0)
}

pub(super) fn transient(attempts: i32, code: Option<i32>, message: String) -> Outcome {
    if attempts >= MAX_ATTEMPTS {
        Outcome::Failed {
            code,
            message: format!("{message} (gave up after {attempts} attempts)"),
        }
    } else {
        Outcome::Retry {
            after_secs: backoff_secs(attempts),
            rate_limited: false,
            code,
            message,
            counted: true,
        }
    }
}

/// What a failed request says about Discord as a whole: a 5xx or a request
/// that never got an answer is [`Answer::NotAnswered`]; any other status is
/// Discord answering.
pub(super) fn answer_of(error: &serenity::Error) -> Answer {
    match error {
        serenity::Error::Http(HttpError::UnsuccessfulRequest(response))
            if response.status_code.as_u16() < 500 =>
        {
            Answer::Answered
        }
        serenity::Error::Http(HttpError::UnsuccessfulRequest(_) | HttpError::Request(_)) => {
            Answer::NotAnswered
        }
        _ => Answer::Answered,
    }
}

/// A request Discord did not answer while it is down as a whole: retried
/// shortly (the pacer spaces the probes), without counting the attempt.
pub(super) fn retry_in_outage(message: String) -> Outcome {
    Outcome::Retry {
        after_secs: 1.0,
        rate_limited: false,
        code: None,
        message: format!("{message} (Discord was not answering)"),
        counted: false,
    }
}

/// Sorts a failed request after noting what it says of Discord as a whole
/// in `pacer`: while Discord is down, a request it did not answer is
/// retried without counting the attempt (see [`retry_in_outage`]).
pub(super) fn classify_noting(pacer: &Pacer, error: &serenity::Error, attempts: i32) -> Outcome {
    let answer = answer_of(error);
    pacer.note(answer);
    if answer == Answer::NotAnswered && pacer.discord_down() {
        // As a first attempt would be: a retry, whatever attempts it took.
        match classify(error, 1) {
            Outcome::Retry { message, .. } => retry_in_outage(message),
            other => other,
        }
    } else {
        classify(error, attempts)
    }
}

/// A request that got no answer in time, noted in `pacer` like a 5xx.
pub(super) fn timed_out_noting(pacer: &Pacer, attempts: i32) -> Outcome {
    pacer.note(Answer::NotAnswered);
    if pacer.discord_down() {
        retry_in_outage("timed out".to_owned())
    } else {
        transient(attempts, None, "timed out".to_owned())
    }
}

/// Sorts a failed send: 429 and 5xx and network trouble are retried with
/// backoff; any other Discord error fails the delivery at once with its code.
pub fn classify(error: &serenity::Error, attempts: i32) -> Outcome {
    match error {
        serenity::Error::Http(HttpError::UnsuccessfulRequest(response)) => {
            let status = response.status_code.as_u16();
            let code = i32::try_from(response.error.code).ok().filter(|c| *c != 0);
            let message = if response.error.message.is_empty() {
                format!("HTTP {status}")
            } else {
                response.error.message.clone()
            };
            if status == 429 {
                // With serenity's rate limiter off (proxy mode) a 429 arrives
                // without its retry_after: back off exponentially from 1 s.
                if attempts >= MAX_RATE_LIMITED_ATTEMPTS {
                    Outcome::Failed {
                        code,
                        message: format!("rate limited (429) {attempts} times"),
                    }
                } else {
                    Outcome::Retry {
                        after_secs: backoff_secs(attempts),
                        rate_limited: true,
                        code: None,
                        message: "rate limited (429)".to_owned(),
                        counted: true,
                    }
                }
            } else if status >= 500 {
                transient(attempts, code, format!("{message} (HTTP {status})"))
            } else {
                Outcome::Failed { code, message }
            }
        }
        serenity::Error::Http(HttpError::Request(request)) => {
            transient(attempts, None, format!("request failed: {request}"))
        }
        other => Outcome::Failed {
            code: None,
            message: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_one_second_and_is_capped() {
        assert_eq!(backoff_secs(1), 1.0);
        assert_eq!(backoff_secs(2), 2.0);
        assert_eq!(backoff_secs(4), 8.0);
        assert_eq!(backoff_secs(50), 60.0);
    }

    #[test]
    fn transient_errors_give_up_after_five_attempts() {
        assert!(matches!(
            transient(1, None, "x".into()),
            Outcome::Retry { .. }
        ));
        assert!(matches!(
            transient(5, None, "x".into()),
            Outcome::Failed { .. }
        ));
    }
}
