//! The REST side: records and validates every request, applies configured
//! failures, then answers like Discord for the routes the bot uses.

use std::time::{Duration, Instant};

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::ratelimit::{self, Scope};
use super::{Failure, FakeDiscord, InteractionState, RecordedRequest};
use crate::support::{fixtures, spec};

/// How long Discord remembers an enforced nonce.
const NONCE_MEMORY: Duration = Duration::from_secs(5 * 60);
/// An interaction must get its first response within this.
const FIRST_RESPONSE_DEADLINE: Duration = Duration::from_secs(3);

/// Whether a request came over the TLS listener.
#[derive(Clone, Copy)]
struct Tls(bool);

/// Serves the REST side on `listener` (plain TCP, or TLS as `discord.com`).
pub(super) async fn serve<L>(fake: FakeDiscord, listener: L, tls: bool)
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    let app = axum::Router::new()
        .fallback(handle)
        .layer(Extension(Tls(tls)))
        .with_state(fake);
    let _ = axum::serve(listener, app).await;
}

fn error(status: u16, code: u32, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        axum::Json(json!({ "code": code, "message": message })),
    )
        .into_response()
}

/// A 404 the handler records as a route the fake does not know.
fn unknown_route() -> Response {
    let mut response = error(404, 0, "404: Not Found");
    response
        .headers_mut()
        .insert("x-fake-unknown-route", HeaderValue::from_static("1"));
    response
}

fn ok(value: Value) -> Response {
    axum::Json(value).into_response()
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

async fn handle(
    State(fake): State<FakeDiscord>,
    Extension(Tls(tls)): Extension<Tls>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let method = method.as_str().to_owned();
    let path = uri.path().to_owned();
    let (body, attachments) = parse_body(&headers, &body);
    fake.state().requests.push(RecordedRequest {
        method: method.clone(),
        path: path.clone(),
        query: uri.query().map(str::to_owned),
        body: body.clone(),
        attachments,
        at: Instant::now(),
        tls,
        host: headers
            .get("host")
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned),
    });
    fake.inner.changed.notify_waiters();

    let token = headers
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .map(super::bare_token);
    if let Some(token) = token {
        let mut state = fake.state();
        if state.revoked_tokens.contains(token) {
            state.unauthorized_served += 1;
            return error(401, 0, "401: Unauthorized");
        }
    }
    if let Some(retry_after_secs) = over_global_limit(&fake, &path) {
        return ratelimit::too_many_requests(retry_after_secs, Scope::Global);
    }
    if let Some(failure) = take_failure(&fake, &method, &path) {
        match failure {
            Failure::Delay(delay) => tokio::time::sleep(delay).await,
            Failure::Status {
                status,
                code,
                message,
            } => return error(status, code, &message),
            Failure::ServerError => return error(500, 0, "500: Internal Server Error"),
            Failure::MissingPermissions(after) => {
                tokio::time::sleep(after).await;
                return error(403, 50013, "Missing Permissions");
            }
            Failure::RateLimited {
                retry_after_secs,
                global,
            } => {
                let scope = if global { Scope::Global } else { Scope::User };
                return ratelimit::too_many_requests(retry_after_secs, scope);
            }
        }
    }

    if let Some(body) = &body {
        let problems = spec::violations(&method, &path, body);
        if !problems.is_empty() {
            let mut state = fake.state();
            state
                .violations
                .extend(problems.iter().map(|p| format!("{method} {path}: {p}")));
            return (
                StatusCode::BAD_REQUEST,
                axum::Json(
                    json!({ "code": 50035, "message": "Invalid Form Body", "errors": problems }),
                ),
            )
                .into_response();
        }
    }

    let route = path.strip_prefix("/api/v10").unwrap_or(&path).to_owned();
    let segments: Vec<&str> = route.trim_matches('/').split('/').collect();
    let body = body.unwrap_or(Value::Null);
    let response = answer(&fake, &method, &segments, body);
    if response.status() == StatusCode::NOT_FOUND
        && response.headers().get("x-fake-unknown-route").is_some()
    {
        fake.state().unknown_routes.push(format!("{method} {path}"));
    }
    response
}

/// Discord's global limit (requests per second per bot, interaction routes
/// exempt), when the test turned it on: `Some(retry_after)` when this request
/// is over it. Counted in a sliding one-second window.
fn over_global_limit(fake: &FakeDiscord, path: &str) -> Option<f64> {
    if path.starts_with("/api/v10/interactions/") || path.starts_with("/api/v10/webhooks/") {
        return None;
    }
    let mut state = fake.state();
    let limit = state.global_limit?;
    let now = state.global_clock.unwrap_or_else(Instant::now);
    let window = Duration::from_secs(1);
    while state
        .global_window
        .front()
        .is_some_and(|at| now.duration_since(*at) >= window)
    {
        state.global_window.pop_front();
    }
    if state.global_window.len() >= limit as usize {
        state.global_rate_limited += 1;
        let oldest = *state.global_window.front().unwrap();
        return Some((window - now.duration_since(oldest)).as_secs_f64());
    }
    state.global_window.push_back(now);
    None
}

fn take_failure(fake: &FakeDiscord, method: &str, path: &str) -> Option<Failure> {
    let mut state = fake.state();
    let index = state
        .failures
        .iter()
        .position(|f| f.method.eq_ignore_ascii_case(method) && glob(&f.path_glob, path))?;
    let failure = state.failures[index].failure.clone();
    if let Some(remaining) = &mut state.failures[index].remaining {
        *remaining -= 1;
        if *remaining == 0 {
            state.failures.remove(index);
        }
    }
    Some(failure)
}

/// `*` matches within one path segment, `**` matches anything.
fn glob(pattern: &str, path: &str) -> bool {
    fn matches(p: &[u8], s: &[u8]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(b'*'), _) if p.get(1) == Some(&b'*') => {
                (0..=s.len()).any(|i| matches(&p[2..], &s[i..]))
            }
            (Some(b'*'), _) => {
                let end = s.iter().position(|&c| c == b'/').unwrap_or(s.len());
                (0..=end).any(|i| matches(&p[1..], &s[i..]))
            }
            (Some(a), Some(b)) if a == b => matches(&p[1..], &s[1..]),
            _ => false,
        }
    }
    matches(pattern.as_bytes(), path.as_bytes())
}

/// JSON bodies as they are; multipart bodies as `payload_json` plus files.
fn parse_body(headers: &HeaderMap, body: &[u8]) -> (Option<Value>, Vec<(String, Vec<u8>)>) {
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if let Some(boundary) = content_type.split("boundary=").nth(1) {
        let boundary = format!("--{}", boundary.trim_matches('"'));
        let mut json_part = None;
        let mut files = Vec::new();
        for part in split_bytes(body, boundary.as_bytes()) {
            let Some(header_end) = find(part, b"\r\n\r\n") else {
                continue;
            };
            let head = String::from_utf8_lossy(&part[..header_end]).to_string();
            let mut content = &part[header_end + 4..];
            if content.ends_with(b"\r\n") {
                content = &content[..content.len() - 2];
            }
            if let Some(filename) = head
                .split("filename=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
            {
                files.push((filename.to_owned(), content.to_vec()));
            } else if head.contains("name=\"payload_json\"") {
                json_part = serde_json::from_slice(content).ok();
            }
        }
        return (json_part, files);
    }
    if body.is_empty() {
        return (None, Vec::new());
    }
    (serde_json::from_slice(body).ok(), Vec::new())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn split_bytes<'a>(body: &'a [u8], boundary: &[u8]) -> Vec<&'a [u8]> {
    let mut parts = Vec::new();
    let mut rest = body;
    while let Some(start) = find(rest, boundary) {
        rest = &rest[start + boundary.len()..];
        let end = find(rest, boundary).unwrap_or(rest.len());
        let part = rest[..end].strip_prefix(b"\r\n").unwrap_or(&rest[..end]);
        if !part.starts_with(b"--") && !part.is_empty() {
            parts.push(part);
        }
    }
    parts
}

fn answer(fake: &FakeDiscord, method: &str, segments: &[&str], body: Value) -> Response {
    match (method, segments) {
        ("GET", ["gateway"]) => ok(json!({ "url": fake.gateway_url() })),
        ("GET", ["gateway", "bot"]) => ok(json!({
            "url": fake.gateway_url(), "shards": fake.inner.recommended_shards,
            "session_start_limit": fake.session_start_limit(),
        })),
        ("GET", ["users", "@me"]) => ok(fixtures::bot_user()),
        ("DELETE", ["users", "@me", "guilds", guild]) => {
            leave_guild(fake, guild.parse().unwrap_or(0))
        }
        ("GET", ["oauth2", "applications", "@me"]) => ok(application()),
        ("PUT", ["applications", _, "commands"]) => register(fake, None, body),
        ("PUT", ["applications", _, "guilds", guild, "commands"]) => {
            register(fake, guild.parse().ok(), body)
        }
        ("GET", ["applications", _, "commands"]) => ok(json!(fake.registered_commands(None))),
        ("GET", ["applications", _, "guilds", guild, "commands"]) => {
            ok(json!(fake.registered_commands(guild.parse().ok())))
        }
        ("POST", ["interactions", _, token, "callback"]) => callback(fake, token, body),
        ("POST", ["webhooks", id, token])
            if fake.state().webhooks.contains_key(&id.parse().unwrap_or(0)) =>
        {
            execute_webhook(fake, id.parse().unwrap_or(0), token, body)
        }
        (_, ["webhooks", _, token, rest @ ..]) => webhook(fake, method, token, rest, body),
        ("POST", ["channels", channel, "messages"]) => {
            let channel = channel.parse().unwrap_or(0);
            match ratelimit::check_send(fake, channel) {
                Ok(headers) => {
                    let mut response = create_message(fake, channel, body);
                    response.headers_mut().extend(headers);
                    response
                }
                Err((retry_after, scope)) => ratelimit::too_many_requests(retry_after, scope),
            }
        }
        ("GET", ["channels", channel, "messages", message]) => {
            let (channel, message) = (channel.parse().unwrap_or(0), message.to_string());
            let found = fake.state().messages.get(&channel).and_then(|messages| {
                messages
                    .iter()
                    .find(|m| m["id"] == message.as_str())
                    .cloned()
            });
            match found {
                Some(found) => ok(found),
                None => error(404, 10008, "Unknown Message"),
            }
        }
        ("POST", ["channels", channel, "messages", message, "crosspost"]) => {
            let (channel, message) = (channel.parse().unwrap_or(0), message.to_string());
            let found = fake.state().messages.get(&channel).and_then(|messages| {
                messages
                    .iter()
                    .find(|m| m["id"] == message.as_str())
                    .cloned()
            });
            match found {
                Some(mut found) => {
                    found["flags"] = json!(1); // CROSSPOSTED
                    ok(found)
                }
                None => error(404, 10008, "Unknown Message"),
            }
        }
        ("PATCH", ["channels", channel, "messages", message]) => edit_message(
            fake,
            channel.parse().unwrap_or(0),
            message.parse().unwrap_or(0),
            &body,
        ),
        ("DELETE", ["channels", channel, "messages", message]) => delete_message(
            fake,
            channel.parse().unwrap_or(0),
            message.parse().unwrap_or(0),
        ),
        ("GET", ["channels", channel]) => lookup(
            fake,
            |s| s.channels.get(&channel.parse().unwrap_or(0)).cloned(),
            10003,
            "Unknown Channel",
        ),
        ("GET", ["guilds", guild]) => lookup(
            fake,
            |s| s.guilds.get(&guild.parse().unwrap_or(0)).cloned(),
            10004,
            "Unknown Guild",
        ),
        ("GET", ["guilds", guild, "channels"]) => {
            let guild = guild.to_string();
            let channels: Vec<Value> = fake
                .state()
                .channels
                .values()
                .filter(|c| c["guild_id"] == guild.as_str())
                .cloned()
                .collect();
            ok(json!(channels))
        }
        ("GET", ["guilds", guild, "members", user]) => {
            let key = (guild.parse().unwrap_or(0), user.parse().unwrap_or(0));
            match fake.state().members.get(&key).cloned() {
                Some(member) => ok(member),
                None => error(404, 10007, "Unknown Member"),
            }
        }
        ("GET", ["users", user]) => lookup(
            fake,
            |s| s.users.get(&user.parse().unwrap_or(0)).cloned(),
            10013,
            "Unknown User",
        ),
        _ => unknown_route(),
    }
}

/// The bot leaves a server it is in: 204, then the GUILD_DELETE on the
/// server's shard, as Discord does; "Unknown Guild" for any other server.
fn leave_guild(fake: &FakeDiscord, guild: u64) -> Response {
    {
        let mut state = fake.state();
        if !state.member_of.remove(&guild) {
            return error(404, 10004, "Unknown Guild");
        }
        state.left_on_request.push(guild);
    }
    fake.dispatch_for_guild(guild, "GUILD_DELETE", json!({ "id": guild.to_string() }));
    no_content()
}

fn lookup(
    fake: &FakeDiscord,
    get: impl Fn(&super::State) -> Option<Value>,
    code: u32,
    message: &str,
) -> Response {
    match get(&fake.state()) {
        Some(value) => ok(value),
        None => error(404, code, message),
    }
}

fn application() -> Value {
    json!({
        "id": fixtures::APPLICATION_ID.to_string(), "name": "Fake Bot", "icon": null,
        "description": "", "bot_public": true, "bot_require_code_grant": false,
        "owner": fixtures::user(1, false), "verify_key": "0", "team": null, "flags": 0,
    })
}

fn register(fake: &FakeDiscord, guild: Option<u64>, body: Value) -> Response {
    let commands: Vec<Value> = body
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|mut command| {
            command["id"] = json!(fake.next_id().to_string());
            command["application_id"] = json!(fixtures::APPLICATION_ID.to_string());
            command["version"] = json!("1");
            if command.get("type").is_none() {
                command["type"] = json!(1);
            }
            if command.get("description").is_none() {
                command["description"] = json!("");
            }
            if let Some(guild) = guild {
                command["guild_id"] = json!(guild.to_string());
            }
            command
        })
        .collect();
    fake.state().commands.insert(guild, commands.clone());
    ok(json!(commands))
}

fn callback(fake: &FakeDiscord, token: &str, body: Value) -> Response {
    let id = fake.next_id();
    let mut state = fake.state();
    let Some(interaction) = state.interactions.get_mut(token) else {
        return error(404, 10062, "Unknown interaction");
    };
    if interaction.acknowledged {
        return error(400, 40060, "Interaction has already been acknowledged.");
    }
    if interaction.dispatched_at.elapsed() > FIRST_RESPONSE_DEADLINE {
        return error(404, 10062, "Unknown interaction");
    }
    interaction.acknowledged = true;
    let data = body.get("data").cloned().unwrap_or(json!({}));
    // Types 4/5/7 set (or replace) the original response; 6, 8, 9 leave it.
    if let Some(4 | 5 | 7) = body["type"].as_u64() {
        interaction.original = Some(fixtures::message(id, 300_000_000_000_000_001, &data));
    }
    drop(state);
    fake.inner.changed.notify_waiters();
    no_content()
}

fn webhook(fake: &FakeDiscord, method: &str, token: &str, rest: &[&str], body: Value) -> Response {
    let lifetime = *fake.inner.token_lifetime.lock().unwrap();
    let id = fake.next_id();
    let mut state = fake.state();
    let expired = state
        .interactions
        .get(token)
        .is_none_or(|i: &InteractionState| i.dispatched_at.elapsed() > lifetime);
    if expired {
        return error(401, 50027, "Invalid Webhook Token");
    }
    let channel = 300_000_000_000_000_001;
    let response = match (method, rest) {
        ("POST", []) => {
            let message = fixtures::message(id, channel, &body);
            state
                .follow_ups
                .entry(token.to_owned())
                .or_default()
                .push(message.clone());
            ok(message)
        }
        ("GET", ["messages", "@original"]) => match state
            .interactions
            .get(token)
            .and_then(|i| i.original.clone())
        {
            Some(original) => ok(original),
            None => error(404, 10008, "Unknown Message"),
        },
        ("PATCH", ["messages", "@original"]) => {
            let interaction = state.interactions.get_mut(token).expect("checked above");
            let original = interaction
                .original
                .get_or_insert_with(|| fixtures::message(id, channel, &json!({})));
            if let (Some(target), Some(update)) = (original.as_object_mut(), body.as_object()) {
                for (key, value) in update {
                    target.insert(key.clone(), value.clone());
                }
            }
            ok(original.clone())
        }
        ("PATCH", ["messages", message_id]) => ok(fixtures::message(
            message_id.parse().unwrap_or(id),
            channel,
            &body,
        )),
        ("DELETE", ["messages", _]) => no_content(),
        _ => unknown_route(),
    };
    drop(state);
    fake.inner.changed.notify_waiters();
    response
}

/// Execute Webhook on an incoming webhook: 401 Invalid Webhook Token for a
/// wrong token, as Discord answers; otherwise the message is stored (the
/// caller asks `?wait=true` to get it back).
fn execute_webhook(fake: &FakeDiscord, id: u64, token: &str, body: Value) -> Response {
    let message_id = fake.next_id();
    let mut state = fake.state();
    let Some((expected, messages)) = state.webhooks.get_mut(&id) else {
        return error(404, 10015, "Unknown Webhook");
    };
    if expected != token {
        return error(401, 50027, "Invalid Webhook Token");
    }
    let message = fixtures::message(message_id, 300_000_000_000_000_002, &body);
    messages.push(message.clone());
    drop(state);
    fake.inner.changed.notify_waiters();
    ok(message)
}

fn create_message(fake: &FakeDiscord, channel: u64, body: Value) -> Response {
    let id = fake.next_id();
    let mut state = fake.state();
    let nonce = body["nonce"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| body["nonce"].as_u64().map(|n| n.to_string()));
    let enforced = body["enforce_nonce"].as_bool().unwrap_or(false);
    if let (Some(nonce), true) = (&nonce, enforced)
        && let Some((at, message)) = state.nonces.get(nonce)
        && at.elapsed() < NONCE_MEMORY
    {
        return ok(message.clone());
    }
    let message = fixtures::message(id, channel, &body);
    state
        .messages
        .entry(channel)
        .or_default()
        .push(message.clone());
    state.posted.push(Instant::now());
    if let (Some(nonce), true) = (nonce, enforced) {
        state
            .nonces
            .insert(nonce, (Instant::now(), message.clone()));
    }
    drop(state);
    fake.inner.changed.notify_waiters();
    ok(message)
}

/// Edits a posted message in place (what `PATCH /channels/{c}/messages/{m}`
/// does): the fields the body names replace the message's, and the edit is
/// counted; 404 Unknown Message for one deleted or never posted.
fn edit_message(fake: &FakeDiscord, channel: u64, message: u64, body: &Value) -> Response {
    let id = message.to_string();
    let mut state = fake.state();
    let Some(stored) = state
        .messages
        .get_mut(&channel)
        .and_then(|messages| messages.iter_mut().find(|m| m["id"] == id.as_str()))
    else {
        return error(404, 10008, "Unknown Message");
    };
    for field in [
        "content",
        "embeds",
        "components",
        "flags",
        "allowed_mentions",
    ] {
        if let Some(value) = body.get(field) {
            stored[field] = value.clone();
        }
    }
    stored["edited_timestamp"] = json!(chrono::Utc::now().to_rfc3339());
    let edited = stored.clone();
    *state.edits.entry(message).or_default() += 1;
    drop(state);
    fake.inner.changed.notify_waiters();
    ok(edited)
}

/// Deletes a posted message (`DELETE /channels/{c}/messages/{m}`); 404
/// Unknown Message for one already gone.
fn delete_message(fake: &FakeDiscord, channel: u64, message: u64) -> Response {
    let mut state = fake.state();
    let Some(messages) = state.messages.get_mut(&channel) else {
        return error(404, 10003, "Unknown Channel");
    };
    let before = messages.len();
    let id = message.to_string();
    messages.retain(|m| m["id"] != id.as_str());
    if messages.len() == before {
        return error(404, 10008, "Unknown Message");
    }
    *state.deletes.entry(message).or_default() += 1;
    drop(state);
    fake.inner.changed.notify_waiters();
    no_content()
}
