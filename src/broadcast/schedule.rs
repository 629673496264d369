//! The `schedule` option of `/admin broadcast new`: when a broadcast goes out.
//! Accepts an RFC 3339 time (`2026-12-01T18:00:00Z`), a UTC date and time
//! (`2026-12-01 18:00`), or a time from now (`in 2h`, `90m`, `1d 2h`).

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};

/// The forms, for error messages.
pub const ACCEPTED_FORMS: &str = "an RFC 3339 time (`2026-12-01T18:00:00Z`), a UTC date and time (`2026-12-01 18:00`), or a time from now (`in 2h`, `90m`, `1d 2h`)";
/// How far ahead a broadcast can be scheduled.
pub const MAX_AHEAD: TimeDelta = TimeDelta::days(365);

/// Why a schedule was refused (the message shows the accepted forms).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("`{0}` is not a time I understand. Use {ACCEPTED_FORMS}.")]
    Unparseable(String),
    #[error("{0} is in the past. Use a future time: {ACCEPTED_FORMS}.")]
    InThePast(String),
    #[error("{0} is more than a year ahead. Schedule at most 365 days from now.")]
    TooFarAhead(String),
}

/// The time `text` names, as of `now`; refused when past or over a year ahead.
pub fn parse(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, ScheduleError> {
    let text = text.trim();
    let at = parse_absolute(text)
        .or_else(|| parse_relative(text).map(|delta| now + delta))
        .ok_or_else(|| ScheduleError::Unparseable(crate::ui::text::truncate(text, 60)))?;
    let shown = at.format("%Y-%m-%d %H:%M UTC").to_string();
    if at <= now {
        return Err(ScheduleError::InThePast(shown));
    }
    if at - now > MAX_AHEAD {
        return Err(ScheduleError::TooFarAhead(shown));
    }
    Ok(at)
}

fn parse_absolute(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    ["%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .map(|naive| naive.and_utc())
}

/// `in 2h`, `90m`, `1d 2h`, `2 hours 30 minutes`: one or more number+unit pairs.
fn parse_relative(text: &str) -> Option<TimeDelta> {
    let lower = text.to_ascii_lowercase();
    let rest = lower.strip_prefix("in ").unwrap_or(&lower).trim();
    if rest.is_empty() {
        return None;
    }
    let mut total = TimeDelta::zero();
    let mut chars = rest.chars().peekable();
    let mut parts = 0;
    loop {
        while chars.next_if(|c| c.is_whitespace() || *c == ',').is_some() {}
        if chars.peek().is_none() {
            break;
        }
        let mut number = String::new();
        while let Some(digit) = chars.next_if(char::is_ascii_digit) {
            number.push(digit);
        }
        let amount: i64 = number.parse().ok().filter(|n| *n <= 100_000)?;
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut unit = String::new();
        while let Some(letter) = chars.next_if(char::is_ascii_alphabetic) {
            unit.push(letter);
        }
        let delta = match unit.as_str() {
            "m" | "min" | "mins" | "minute" | "minutes" => TimeDelta::minutes(amount),
            "h" | "hr" | "hrs" | "hour" | "hours" => TimeDelta::hours(amount),
            "d" | "day" | "days" => TimeDelta::days(amount),
            "w" | "week" | "weeks" => TimeDelta::weeks(amount),
            _ => return None,
        };
        total += delta;
        parts += 1;
    }
    (parts > 0).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn every_documented_form_parses() {
        assert_eq!(
            parse("2026-12-01T18:00:00Z", now()),
            Ok(at("2026-12-01T18:00:00Z"))
        );
        assert_eq!(
            parse("2026-12-01T19:00:00+01:00", now()),
            Ok(at("2026-12-01T18:00:00Z"))
        );
        assert_eq!(
            parse("2026-12-01 18:00", now()),
            Ok(at("2026-12-01T18:00:00Z"))
        );
        assert_eq!(parse("in 2h", now()), Ok(at("2026-12-01T14:00:00Z")));
        assert_eq!(parse("90m", now()), Ok(at("2026-12-01T13:30:00Z")));
        assert_eq!(parse("1d 2h", now()), Ok(at("2026-12-02T14:00:00Z")));
        assert_eq!(
            parse("In 2 hours, 30 minutes", now()),
            Ok(at("2026-12-01T14:30:00Z"))
        );
    }

    #[test]
    fn past_far_and_nonsense_times_are_refused_with_the_accepted_forms() {
        let past = parse("2026-12-01 11:59", now()).unwrap_err();
        assert!(matches!(past, ScheduleError::InThePast(_)));
        assert!(past.to_string().contains("RFC 3339"));
        assert!(matches!(
            parse("400d", now()),
            Err(ScheduleError::TooFarAhead(_))
        ));
        for nonsense in [
            "tomorrow",
            "",
            "in",
            "2x",
            "12:00",
            "in 5",
            "-3h",
            "99999999999d",
        ] {
            let error = parse(nonsense, now()).unwrap_err();
            assert!(
                matches!(error, ScheduleError::Unparseable(_)),
                "{nonsense}: {error:?}"
            );
            assert!(error.to_string().contains("`in 2h`"));
        }
    }
}
