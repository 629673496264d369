//! What Discord's answers say about the whole bot, not one request, held by
//! one guard per process and shared by every path that talks to Discord.
//!
//! **A refused token.** A 401 on a request authorised with the bot token
//! means the token was reset (by a developer, or by Discord after a leak or
//! 1,000 identifies in a day) or revoked. Every further request with it is
//! refused too, and each refusal counts towards the ban Discord gives an IP
//! after 10,000 invalid responses in 10 minutes. So the first such 401
//! cancels [`DiscordGuard::revoked`]: background senders stop at once
//! (the deliveries they held go back to the queue, unattempted), and the
//! reference bot exits with an error. A 401 on an interaction's own token
//! (`/webhooks/{application}/{token}`, `/interactions/{id}/{token}/callback`)
//! only means that token's 15 minutes are over, and changes nothing here.
//!
//! **Invalid requests.** Every 401, 403 and 429 also counts towards that
//! ban, whatever its cause; [`InvalidRequests`] keeps the process's count
//! over the last 10 minutes and holds broadcasts, edits and recalls back
//! before they could take it past `INVALID_REQUEST_BUDGET`.
//!
//! The guard sees what the panel's own calls return: serenity has no hook
//! for every response. A 429 that serenity's own rate limiter retries is
//! not seen, and a 429 is counted even when Discord marks it
//! `X-RateLimit-Scope: shared` (serenity's error keeps no headers): the
//! count errs on the safe side.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

pub mod invalid_requests;
pub mod responses;

pub use invalid_requests::InvalidRequests;
use responses::is_api_version;
pub use responses::{ResponseCounts, RouteGroup, StatusClass};

use serenity::all::HttpError;
use tokio_util::sync::CancellationToken;

/// What the log and the exit message say when the bot token is refused.
pub const TOKEN_REFUSED: &str = "the bot token was rejected: reset or revoked";

/// Who authorised a request: the bot token, or an interaction's own token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// The bot token: a 401 means the token is reset or revoked.
    Bot,
    /// An interaction's own token (webhooks, callbacks): a 401 only means it expired.
    InteractionToken,
}

impl Auth {
    /// From a request URL (`https://discord.com/api/v10/...` or a proxy's):
    /// the webhook and interaction-callback routes carry their own token.
    pub fn of_url(url: &str) -> Self {
        let path = url.split_once("/api/").map_or(url, |(_, rest)| rest);
        let mut segments = path
            .split('/')
            .filter(|segment| !segment.is_empty())
            .skip_while(|segment| is_api_version(segment));
        match segments.next() {
            Some("webhooks" | "interactions") => Self::InteractionToken,
            _ => Self::Bot,
        }
    }
}

/// One per process (see the module's documentation).
#[derive(Debug, Default)]
pub struct DiscordGuard {
    revoked: CancellationToken,
    /// Requests that got a 401 on the bot token (the first stops the bot).
    bot_token_refusals: AtomicU32,
    /// Invalid responses over the last 10 minutes, against the budget.
    invalid: Arc<InvalidRequests>,
    /// Answers by status class and route group, for `/metrics`.
    responses: ResponseCounts,
}

impl DiscordGuard {
    /// A guard whose invalid-request window holds at most `budget`
    /// (`INVALID_REQUEST_BUDGET`).
    pub fn with_budget(budget: u32) -> Self {
        Self {
            invalid: Arc::new(InvalidRequests::new(budget)),
            ..Self::default()
        }
    }

    /// The invalid responses of the last 10 minutes, and the room left for
    /// pausable requests.
    pub fn invalid_requests(&self) -> &Arc<InvalidRequests> {
        &self.invalid
    }

    /// Cancelled at the first 401 on the bot token: every background sender
    /// stops, and a host bot should stop too (the reference bot exits).
    pub fn revoked(&self) -> &CancellationToken {
        &self.revoked
    }

    /// Whether the bot token was refused: no request should be made with it.
    pub fn is_revoked(&self) -> bool {
        self.revoked.is_cancelled()
    }

    /// Notes what a request returned; `true` when it was the bot token
    /// being refused (the caller's request is then not the request's fault:
    /// it goes back to the queue rather than failing).
    pub fn observe<T>(&self, result: &Result<T, serenity::Error>) -> bool {
        match result {
            Ok(_) => false,
            Err(error) => self.observe_error(error),
        }
    }

    /// Like [`Self::observe`], for an error alone.
    pub fn observe_error(&self, error: &serenity::Error) -> bool {
        match error {
            serenity::Error::Http(HttpError::UnsuccessfulRequest(response)) => {
                self.observe_status(response.status_code.as_u16(), &response.url)
            }
            _ => false,
        }
    }

    /// Like [`Self::observe`], for any error whose cause chain may hold a
    /// serenity error (a command's boxed error).
    pub fn observe_any(&self, error: &(dyn std::error::Error + 'static)) -> bool {
        let mut cause = Some(error);
        while let Some(error) = cause {
            if let Some(serenity) = error.downcast_ref::<serenity::Error>() {
                return self.observe_error(serenity);
            }
            cause = error.source();
        }
        false
    }

    /// A success from a route of `route`.
    pub fn observe_success(&self, route: RouteGroup) {
        self.responses.count(route, StatusClass::Success);
    }

    /// A request to a route of `route` that got no answer in time.
    pub fn observe_timeout(&self, route: RouteGroup) {
        self.responses.count(route, StatusClass::Timeout);
    }

    /// Discord's answers so far, by route group and status class.
    pub fn responses(&self) -> &ResponseCounts {
        &self.responses
    }

    /// A response with `status` to a request for `url`.
    pub fn observe_status(&self, status: u16, url: &str) -> bool {
        self.responses
            .count(RouteGroup::of_url(url), StatusClass::of(status));
        if matches!(status, 401 | 403 | 429) {
            self.invalid.record();
        }
        if status != 401 || Auth::of_url(url) != Auth::Bot {
            return false;
        }
        let refusals = self.bot_token_refusals.fetch_add(1, Ordering::Relaxed) + 1;
        if refusals == 1 {
            // A route authorised with the bot token carries no secret in its
            // path (the token travels in the Authorization header).
            let route = url.split('?').next().unwrap_or_default();
            tracing::error!(
                event_type = "token_revoked",
                route,
                "{TOKEN_REFUSED} (Discord answered 401 Unauthorized). Every background sender \
                 stops and the bot exits; put a new DISCORD_TOKEN from the Developer Portal in \
                 place and every broadcast resumes where it stopped"
            );
        }
        self.revoked.cancel();
        true
    }

    /// How many requests got a 401 on the bot token.
    pub fn bot_token_refusals(&self) -> u32 {
        self.bot_token_refusals.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests;
