//! Discord's answers to this process, by status class and route group, for
//! `/metrics`: what the panel's own requests got back (every error any path
//! sees, and the successes of broadcasts, edits, recalls, publishing and
//! progress messages; replies poise sends for a command are counted only
//! when they fail).

use std::sync::atomic::{AtomicU64, Ordering};

/// Which kind of route a request went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteGroup {
    /// `/channels/{id}/messages...`: broadcast sends, edits, deletes, publishes, alerts.
    Messages,
    /// `/webhooks/...` and `/interactions/...`: replies and progress messages.
    Interactions,
    /// `/applications/{id}/...commands`: command registration.
    Commands,
    /// Anything else (`/gateway/bot`, channels, guilds, users).
    Other,
}

impl RouteGroup {
    /// Every group, in the order `/metrics` lists them.
    pub const ALL: [Self; 4] = [
        Self::Messages,
        Self::Interactions,
        Self::Commands,
        Self::Other,
    ];

    /// The group of a request URL (`https://discord.com/api/v10/...` or a proxy's).
    pub fn of_url(url: &str) -> Self {
        let path = url.split_once("/api/").map_or(url, |(_, rest)| rest);
        let path = path.split(['?', '#']).next().unwrap_or_default();
        let segments: Vec<&str> = path
            .split('/')
            .filter(|segment| !segment.is_empty())
            .skip_while(|segment| is_api_version(segment))
            .collect();
        match segments.as_slice() {
            ["channels", _, "messages", ..] => Self::Messages,
            ["webhooks" | "interactions", ..] => Self::Interactions,
            ["applications", .., "commands"] | ["applications", .., "commands", _] => {
                Self::Commands
            }
            _ => Self::Other,
        }
    }

    /// Its `/metrics` label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Messages => "messages",
            Self::Interactions => "interactions",
            Self::Commands => "commands",
            Self::Other => "other",
        }
    }
}

/// The class of an answer: `2xx`, `4xx`, `5xx`, or none in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusClass {
    /// A success.
    Success,
    /// A 4xx: about the request (401, 403 and 429 are also invalid requests).
    ClientError,
    /// A 5xx: Discord failing.
    ServerError,
    /// No answer in time.
    Timeout,
}

impl StatusClass {
    /// Every class, in the order `/metrics` lists them.
    pub const ALL: [Self; 4] = [
        Self::Success,
        Self::ClientError,
        Self::ServerError,
        Self::Timeout,
    ];

    /// The class of an HTTP status.
    pub fn of(status: u16) -> Self {
        match status {
            500.. => Self::ServerError,
            400..=499 => Self::ClientError,
            _ => Self::Success,
        }
    }

    /// Its `/metrics` label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Success => "2xx",
            Self::ClientError => "4xx",
            Self::ServerError => "5xx",
            Self::Timeout => "timeout",
        }
    }
}

/// `v10`, `v9`, ...: the API version segment that may lead a route.
pub(super) fn is_api_version(segment: &str) -> bool {
    segment
        .strip_prefix('v')
        .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
}

/// Counters since the process started.
#[derive(Debug, Default)]
pub struct ResponseCounts {
    counts: [[AtomicU64; 4]; 4],
}

impl ResponseCounts {
    /// Counts one answer.
    pub fn count(&self, route: RouteGroup, class: StatusClass) {
        let (r, c) = (
            RouteGroup::ALL
                .iter()
                .position(|g| *g == route)
                .unwrap_or(3),
            StatusClass::ALL
                .iter()
                .position(|k| *k == class)
                .unwrap_or(0),
        );
        self.counts[r][c].fetch_add(1, Ordering::Relaxed);
    }

    /// (route group, class, count) for every pair, zeros included.
    pub fn snapshot(&self) -> Vec<(&'static str, &'static str, u64)> {
        let mut out = Vec::with_capacity(16);
        for (r, route) in RouteGroup::ALL.iter().enumerate() {
            for (c, class) in StatusClass::ALL.iter().enumerate() {
                out.push((
                    route.label(),
                    class.label(),
                    self.counts[r][c].load(Ordering::Relaxed),
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_grouped_by_what_they_do() {
        for (url, group) in [
            (
                "https://discord.com/api/v10/channels/1/messages",
                RouteGroup::Messages,
            ),
            (
                "https://discord.com/api/v10/channels/1/messages/2/crosspost",
                RouteGroup::Messages,
            ),
            (
                "http://127.0.0.1:9/api/v10/webhooks/1/tok/messages/@original",
                RouteGroup::Interactions,
            ),
            (
                "https://discord.com/api/v10/interactions/1/tok/callback",
                RouteGroup::Interactions,
            ),
            (
                "https://discord.com/api/v10/applications/1/commands",
                RouteGroup::Commands,
            ),
            (
                "https://discord.com/api/v10/applications/1/guilds/2/commands",
                RouteGroup::Commands,
            ),
            ("https://discord.com/api/v10/gateway/bot", RouteGroup::Other),
            ("https://discord.com/api/v10/channels/1", RouteGroup::Other),
        ] {
            assert_eq!(RouteGroup::of_url(url), group, "{url}");
        }
        assert_eq!(StatusClass::of(403), StatusClass::ClientError);
        assert_eq!(StatusClass::of(502), StatusClass::ServerError);
        let counts = ResponseCounts::default();
        counts.count(RouteGroup::Messages, StatusClass::ClientError);
        assert!(counts.snapshot().contains(&("messages", "4xx", 1)));
        assert_eq!(counts.snapshot().len(), 16);
    }
}
