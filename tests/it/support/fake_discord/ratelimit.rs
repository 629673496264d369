//! Rate limits as Discord answers them, so serenity's own limiter (on in
//! production) has real headers to read. Sends to a channel carry the
//! `X-RateLimit-*` headers of Discord's per-channel bucket (5 messages per
//! 5 s), refused over it once a test turns that on (tests through the proxy
//! seam have no limiter to wait for them); a test can also script 429s of
//! each scope (user, global, shared) on message sends. Every 429 is built by
//! [`too_many_requests`]: the headers of Discord's rate-limit docs and the
//! body of the OpenAPI spec's `RatelimitedResponse` (`code`, `message`,
//! `retry_after`, `global`).

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::FakeDiscord;

/// Discord's limit on messages to one channel: 5 per 5 seconds.
const CHANNEL_LIMIT: u32 = 5;
const CHANNEL_WINDOW: Duration = Duration::from_secs(5);
/// The opaque bucket id Discord names the send-message bucket with.
const MESSAGES_BUCKET: &str = "80c17d2f203122d936070c88c8d10f33";

/// Which limit a 429 says was hit (`X-RateLimit-Scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// The bot's own per-route bucket.
    User,
    /// The bot's global limit (`X-RateLimit-Global: true`, `"global": true`).
    Global,
    /// A limit on the resource that all users share (a busy channel).
    Shared,
}

/// Scripted 429s on message sends: every `every`-th attempt to post a
/// message (retries included, counted from when the plan is set) is
/// refused, the scopes taken in turn.
#[derive(Debug, Clone)]
pub struct RateLimitPlan {
    pub every: usize,
    pub retry_after_secs: f64,
    pub scopes: Vec<Scope>,
}

/// The rate-limit side of the fake's state.
#[derive(Default)]
pub(super) struct RateLimits {
    plan: Option<RateLimitPlan>,
    enforce_channel_limit: bool,
    sends_seen: usize,
    /// Every 429 served on a message send: (channel, scope).
    served: Vec<(u64, Scope)>,
    /// Per channel: when its current window started and the sends in it.
    windows: HashMap<u64, (Instant, u32)>,
}

impl FakeDiscord {
    /// Answers some message sends with 429s as `plan` says.
    pub fn rate_limit_sends(&self, plan: RateLimitPlan) {
        assert!(plan.every > 0 && !plan.scopes.is_empty());
        let limits = &mut self.state().rate_limits;
        limits.plan = Some(plan);
        limits.sends_seen = 0;
    }

    /// Refuses a sixth message to a channel within 5 s, as Discord does.
    pub fn enforce_channel_limit(&self) {
        self.state().rate_limits.enforce_channel_limit = true;
    }

    /// The 429s served on message sends (scripted or over a channel's limit), by scope.
    pub fn rate_limits_served(&self) -> HashMap<Scope, usize> {
        let mut counts = HashMap::new();
        for (_, scope) in &self.state().rate_limits.served {
            *counts.entry(*scope).or_default() += 1;
        }
        counts
    }

    /// The 429s served on sends to one channel.
    pub fn rate_limits_served_in(&self, channel_id: u64) -> usize {
        let state = self.state();
        let served = &state.rate_limits.served;
        served.iter().filter(|(c, _)| *c == channel_id).count()
    }
}

/// A 429 to answer: its `retry_after` in seconds and its scope.
pub(super) type Refusal = (f64, Scope);

/// Counts an attempt to post in `channel`: `Ok` with the bucket headers for
/// the answer, or the 429 to answer instead (a scripted one, or the
/// channel's limit reached; see [`too_many_requests`]).
pub(super) fn check_send(fake: &FakeDiscord, channel: u64) -> Result<HeaderMap, Refusal> {
    let mut state = fake.state();
    let limits = &mut state.rate_limits;
    let now = Instant::now();
    let window = limits.windows.entry(channel).or_insert((now, 0));
    if now.duration_since(window.0) >= CHANNEL_WINDOW {
        *window = (now, 0);
    }
    let reset_after = CHANNEL_WINDOW - now.duration_since(window.0);
    if window.1 >= CHANNEL_LIMIT && limits.enforce_channel_limit {
        limits.served.push((channel, Scope::User));
        return Err((reset_after.as_secs_f64(), Scope::User));
    }
    limits.sends_seen += 1;
    if let Some(plan) = &limits.plan
        && limits.sends_seen.is_multiple_of(plan.every)
    {
        let turn = limits.sends_seen / plan.every - 1;
        let scope = plan.scopes[turn % plan.scopes.len()];
        let retry_after = plan.retry_after_secs;
        limits.served.push((channel, scope));
        return Err((retry_after, scope));
    }
    window.1 += 1;
    let remaining = CHANNEL_LIMIT.saturating_sub(window.1);
    let mut headers = HeaderMap::new();
    bucket_headers(&mut headers, remaining, reset_after.as_secs_f64());
    Ok(headers)
}

/// A 429 as Discord sends it. Global ones carry only `Retry-After` and the
/// global markers, as in Discord's docs; route ones the bucket's headers too.
/// `Retry-After` is whole seconds, rounded up; the body has the exact figure.
pub(super) fn too_many_requests(retry_after_secs: f64, scope: Scope) -> Response {
    let global = scope == Scope::Global;
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        axum::Json(json!({
            "code": 0, "message": "You are being rate limited.",
            "retry_after": retry_after_secs, "global": global,
        })),
    )
        .into_response();
    let headers = response.headers_mut();
    let whole_secs = retry_after_secs.ceil().max(1.0) as u64;
    insert(headers, "retry-after", whole_secs.to_string());
    let scope_name = match scope {
        Scope::User => "user",
        Scope::Global => "global",
        Scope::Shared => "shared",
    };
    insert(headers, "x-ratelimit-scope", scope_name.to_owned());
    if global {
        insert(headers, "x-ratelimit-global", "true".to_owned());
    } else {
        bucket_headers(headers, 0, retry_after_secs);
    }
    response
}

/// `X-RateLimit-Limit`, `-Remaining`, `-Reset` (Unix seconds), `-Reset-After` and `-Bucket`.
fn bucket_headers(headers: &mut HeaderMap, remaining: u32, reset_after_secs: f64) {
    let reset = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
        + reset_after_secs;
    insert(headers, "x-ratelimit-limit", CHANNEL_LIMIT.to_string());
    insert(headers, "x-ratelimit-remaining", remaining.to_string());
    insert(headers, "x-ratelimit-reset", format!("{reset:.3}"));
    insert(
        headers,
        "x-ratelimit-reset-after",
        format!("{reset_after_secs:.3}"),
    );
    insert(headers, "x-ratelimit-bucket", MESSAGES_BUCKET.to_owned());
}

fn insert(headers: &mut HeaderMap, name: &'static str, value: String) {
    headers.insert(
        HeaderName::from_static(name),
        HeaderValue::from_str(&value).expect("a header value"),
    );
}
