//! An in-process fake Discord on 127.0.0.1: REST (through `DISCORD_PROXY_URL`,
//! or over TLS as `discord.com` with [`FakeDiscord::start_tls`]) and a gateway
//! websocket. It records every request, validates every body against
//! Discord's OpenAPI spec, answers message sends with Discord's rate-limit
//! headers (and 429s when asked), lets a test push gateway events and make
//! routes fail, and keeps enough state (interactions, messages, commands) to
//! answer like Discord does.

mod gateway;
mod interactions_endpoint;
mod ratelimit;
mod rest;
mod tls;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::{Notify, mpsc};

pub use super::fixtures::{APPLICATION_ID, BOT_USER_ID};
pub use interactions_endpoint::{PUBLIC_KEY, Signing};
pub use ratelimit::{RateLimitPlan, Scope};
pub use tls::DISCORD_HOST;

/// One REST request the bot made.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    /// e.g. `/api/v10/channels/1/messages`
    pub path: String,
    pub query: Option<String>,
    /// The JSON body, or the `payload_json` part of a multipart body.
    pub body: Option<Value>,
    pub attachments: Vec<(String, Vec<u8>)>,
    pub at: Instant,
    /// Whether it came over TLS (the production transport).
    pub tls: bool,
    /// The `Host` header: `discord.com` when the bot thinks it talks to Discord.
    pub host: Option<String>,
}

/// How a route should fail.
#[derive(Debug, Clone)]
pub enum Failure {
    /// An error status with Discord's JSON error code and message.
    Status {
        status: u16,
        code: u32,
        message: String,
    },
    RateLimited {
        retry_after_secs: f64,
        global: bool,
    },
    ServerError,
    /// Answer normally, but only after this delay.
    Delay(Duration),
    /// 403 Missing Permissions (50013), after this delay.
    MissingPermissions(Duration),
}

#[derive(Debug, Clone)]
struct RouteFailure {
    method: String,
    path_glob: String,
    failure: Failure,
    remaining: Option<usize>,
}

#[derive(Debug)]
struct InteractionState {
    dispatched_at: Instant,
    acknowledged: bool,
    original: Option<Value>,
}

/// One gateway session and the dispatches it carried (the last
/// [`Session::KEPT`] only: a RESUME further back is refused, as Discord's
/// buffer is finite too).
struct Session {
    id: String,
    shard: [u16; 2],
    /// The last sequence number dispatched in it.
    sequence: u64,
    sent: VecDeque<(u64, String)>,
    /// Ended by an op 9 or a newer IDENTIFY of its shard.
    resumable: bool,
}

impl Session {
    const KEPT: usize = 1_000;

    fn new(id: String, shard: [u16; 2]) -> Self {
        Self {
            id,
            shard,
            sequence: 1,
            sent: VecDeque::new(),
            resumable: true,
        }
    }

    fn record(&mut self, sequence: u64, frame: &str) {
        self.sequence = sequence;
        if self.sent.len() == Self::KEPT {
            self.sent.pop_front();
        }
        self.sent.push_back((sequence, frame.to_owned()));
    }

    /// What came after `sequence`, if the session still holds all of it.
    fn after(&self, sequence: u64) -> Option<Vec<String>> {
        let oldest = self.sent.front().map_or(self.sequence + 1, |(s, _)| *s);
        if sequence + 1 < oldest {
            return None;
        }
        Some(
            self.sent
                .iter()
                .filter(|(s, _)| *s > sequence)
                .map(|(_, frame)| frame.clone())
                .collect(),
        )
    }
}

struct Connection {
    id: u64,
    shard: [u16; 2],
    /// The session it carries (an IDENTIFY starts one, a RESUME picks one up).
    session: String,
    sender: mpsc::UnboundedSender<String>,
    /// The last sequence number sent on this connection: each session counts
    /// its own, as Discord's do (READY is 1).
    sequence: u64,
    /// Cancelled to drop the TCP connection abruptly, as a network failure would.
    kill: tokio_util::sync::CancellationToken,
}

#[derive(Default)]
struct State {
    requests: Vec<RecordedRequest>,
    violations: Vec<String>,
    failures: Vec<RouteFailure>,
    commands: HashMap<Option<u64>, Vec<Value>>,
    interactions: HashMap<String, InteractionState>,
    messages: HashMap<u64, Vec<Value>>,
    /// How many times each message was edited / deleted through the API.
    edits: HashMap<u64, usize>,
    deletes: HashMap<u64, usize>,
    /// When each message was created, in order.
    posted: Vec<Instant>,
    rate_limits: ratelimit::RateLimits,
    nonces: HashMap<String, (Instant, Value)>,
    channels: HashMap<u64, Value>,
    guilds: HashMap<u64, Value>,
    /// The servers the bot is in, as READY lists them.
    member_of: std::collections::BTreeSet<u64>,
    /// Servers the bot left with `DELETE /users/@me/guilds/{id}`, in order.
    left_on_request: Vec<u64>,
    users: HashMap<u64, Value>,
    members: HashMap<(u64, u64), Value>,
    connections: Vec<Connection>,
    /// Gateway sessions by id, with what was dispatched in each: a RESUME
    /// replays what the client missed, as Discord does.
    sessions: HashMap<String, Session>,
    identified: Vec<[u16; 2]>,
    /// When each of `identified` came.
    identified_at: Vec<Instant>,
    /// `max_concurrency` as `GET /gateway/bot` reports it (1 unless set).
    max_concurrency: Option<u64>,
    /// IDENTIFYs refused with 4010: a shard id not below the shard count.
    invalid_shards: Vec<[u16; 2]>,
    /// IDENTIFYs left until the instant, as set by a test; Discord's full
    /// day (999 of 1,000) otherwise, and once that instant has passed.
    session_start_limit: Option<(u64, Instant)>,
    /// Bot tokens reset or revoked: every request with one gets a 401.
    revoked_tokens: std::collections::HashSet<String>,
    /// Requests answered 401 because their token was revoked.
    unauthorized_served: usize,
    /// RESUMEs accepted.
    resumes: usize,
    next_id: u64,
    gateway_closed: bool,
    /// Discord's own heartbeat interval instead of the fake's quick one.
    discords_heartbeat: bool,
    unknown_routes: Vec<String>,
    follow_ups: HashMap<String, Vec<Value>>,
    /// Incoming webhooks (id -> token) and the messages executed on each.
    webhooks: HashMap<u64, (String, Vec<Value>)>,
    /// Requests per second allowed outside interaction routes, when enforced.
    global_limit: Option<u32>,
    global_window: VecDeque<Instant>,
    /// Where the global limit's clock stands while a test holds it still
    /// (`freeze_global_clock`); `None` while it runs with real time.
    global_clock: Option<Instant>,
    global_rate_limited: usize,
}

struct Inner {
    rest_addr: SocketAddr,
    gateway_addr: SocketAddr,
    recommended_shards: u32,
    tls: std::sync::OnceLock<tls::TlsEndpoint>,
    token_lifetime: Mutex<Duration>,
    state: Mutex<State>,
    changed: Notify,
    /// POSTs interactions to a bot's endpoint, keeping connections alive as
    /// Discord does (one per fake: a client must not outlive its runtime).
    endpoint_client: std::sync::OnceLock<reqwest::Client>,
}

/// A token as the bot sends it (`Bot <token>` in REST, either in IDENTIFY)
/// without its prefix.
pub(super) fn bare_token(token: &str) -> &str {
    token.trim().trim_start_matches("Bot ").trim()
}

/// Whether `shard` (`[id, count]`) receives `guild_id`'s events, by
/// Discord's rule `(guild_id >> 22) % count`.
pub(super) fn shard_owns(shard: [u16; 2], guild_id: u64) -> bool {
    (guild_id >> 22) % u64::from(shard[1].max(1)) == u64::from(shard[0])
}

/// Cheap to clone; every clone is the same fake.
#[derive(Clone)]
pub struct FakeDiscord {
    inner: Arc<Inner>,
}

impl FakeDiscord {
    pub const APPLICATION_ID: u64 = APPLICATION_ID;
    pub const BOT_USER_ID: u64 = BOT_USER_ID;

    pub async fn start() -> FakeDiscord {
        Self::start_with_shards(1).await
    }

    /// Asks connections made from now on to heartbeat every 41.25 s, as
    /// Discord does. The fake's one-second default makes a dropped socket
    /// visible at once, but a burst of thousands of dispatches queues the
    /// heartbeat ACK behind them: a slow (debug, loaded) bot would miss it
    /// within a second and reconnect, as it would not against Discord.
    pub fn heartbeat_like_discord(&self) {
        self.state().discords_heartbeat = true;
    }

    /// `recommended_shards` is what `GET /gateway/bot` recommends.
    pub async fn start_with_shards(recommended_shards: u32) -> FakeDiscord {
        let rest = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let ws = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let fake = FakeDiscord {
            inner: Arc::new(Inner {
                rest_addr: rest.local_addr().unwrap(),
                gateway_addr: ws.local_addr().unwrap(),
                recommended_shards,
                tls: std::sync::OnceLock::new(),
                token_lifetime: Mutex::new(Duration::from_secs(15 * 60)),
                state: Mutex::new(State {
                    next_id: 900_000_000_000_000_000,
                    ..State::default()
                }),
                changed: Notify::new(),
                endpoint_client: std::sync::OnceLock::new(),
            }),
        };
        tokio::spawn(rest::serve(fake.clone(), rest, false));
        tokio::spawn(gateway::serve(fake.clone(), ws));
        fake
    }

    /// The value for `DISCORD_PROXY_URL`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.inner.rest_addr)
    }

    fn gateway_url(&self) -> String {
        format!("ws://{}", self.inner.gateway_addr)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.state.lock().unwrap()
    }

    fn next_id(&self) -> u64 {
        let mut state = self.state();
        state.next_id += 1;
        state.next_id
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state().requests.clone()
    }

    /// Waits for a request matching `pred`, panicking with the requests seen on timeout.
    pub async fn wait_for_request(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&RecordedRequest) -> bool,
    ) -> RecordedRequest {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.inner.changed.notified();
            if let Some(found) = self.state().requests.iter().find(|r| pred(r)) {
                return found.clone();
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let seen: Vec<String> = self
                    .requests()
                    .iter()
                    .map(|r| format!("{} {}", r.method, r.path))
                    .collect();
                panic!("timed out waiting for {what}; requests seen: {seen:#?}");
            }
        }
    }

    /// Waits until `n` shards have identified and received READY.
    pub async fn wait_for_shards(&self, n: usize, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.inner.changed.notified();
            if self.state().connections.len() >= n {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("{n} shard(s) did not connect within {timeout:?}");
            }
        }
    }

    /// Waits until each of `shards` (`[id, count]`) has identified and
    /// received READY.
    pub async fn wait_for_these_shards(&self, shards: &[[u16; 2]], timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.inner.changed.notified();
            {
                let state = self.state();
                if shards
                    .iter()
                    .all(|shard| state.connections.iter().any(|c| c.shard == *shard))
                {
                    return;
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("shards {shards:?} did not connect within {timeout:?}");
            }
        }
    }

    /// The `shard` arrays of every IDENTIFY so far.
    pub fn identified_shards(&self) -> Vec<[u16; 2]> {
        self.state().identified.clone()
    }

    /// Resets `token`, as a developer resetting it in the Developer Portal
    /// (or Discord after a leak) does: from now on every REST request
    /// authorised with it is answered 401 Unauthorized, and an IDENTIFY with
    /// it is closed with 4004. Discord also ends the sessions already open;
    /// the fake leaves them be, so a test sees what the bot does about the
    /// REST answers alone.
    pub fn revoke_token(&self, token: &str) {
        self.state()
            .revoked_tokens
            .insert(bare_token(token).to_owned());
    }

    /// Makes `GET /gateway/bot` report `remaining` identifies left until
    /// `reset_after` from now, and the whole day's again after that.
    pub fn set_session_start_limit(&self, remaining: u64, reset_after: Duration) {
        self.state().session_start_limit = Some((remaining, Instant::now() + reset_after));
    }

    /// Makes `GET /gateway/bot` report `max_concurrency` (big-bot sharding).
    pub fn set_max_concurrency(&self, max_concurrency: u64) {
        self.state().max_concurrency = Some(max_concurrency);
    }

    /// Every IDENTIFY so far with when it came, in order.
    pub fn identifies(&self) -> Vec<([u16; 2], Instant)> {
        let state = self.state();
        state
            .identified
            .iter()
            .copied()
            .zip(state.identified_at.iter().copied())
            .collect()
    }

    /// `session_start_limit` as `GET /gateway/bot` reports it now.
    fn session_start_limit(&self) -> Value {
        let max_concurrency = self.state().max_concurrency.unwrap_or(1);
        let (remaining, reset_after) = match self.state().session_start_limit {
            Some((remaining, reset_at)) if reset_at > Instant::now() => (
                remaining,
                reset_at.duration_since(Instant::now()).as_millis() as u64,
            ),
            _ => (999, 0),
        };
        json!({ "total": 1000, "remaining": remaining, "reset_after": reset_after, "max_concurrency": max_concurrency })
    }

    /// How many requests were answered 401 for a revoked token.
    pub fn unauthorized_served(&self) -> usize {
        self.state().unauthorized_served
    }

    /// The `shard` arrays of every IDENTIFY refused with 4010 (Invalid shard).
    pub fn invalid_shards(&self) -> Vec<[u16; 2]> {
        self.state().invalid_shards.clone()
    }

    /// Waits up to `timeout` for the `n`th IDENTIFY, valid or not; whether it came.
    /// For checking that no further shard identifies: serenity starts a
    /// process's shards one every 5 s, so a `timeout` past that turn is
    /// enough for one that should not exist to show itself.
    pub async fn identifies_reach(&self, n: usize, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.inner.changed.notified();
            {
                let state = self.state();
                if state.identified.len() + state.invalid_shards.len() >= n {
                    return true;
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return false;
            }
        }
    }

    /// Sends a dispatch (op 0) to every connected shard.
    pub async fn dispatch(&self, event: &str, data: Value) {
        self.dispatch_to(event, data, |_| true);
    }

    /// Sends a dispatch only to the shard that owns `guild_id`.
    pub fn dispatch_for_guild(&self, guild_id: u64, event: &str, data: Value) {
        self.dispatch_to(event, data, |shard| shard_owns(shard, guild_id));
    }

    fn dispatch_to(&self, event: &str, data: Value, target: impl Fn([u16; 2]) -> bool) {
        if event == "INTERACTION_CREATE"
            && let Some(token) = data["token"].as_str()
        {
            self.state().interactions.insert(
                token.to_owned(),
                InteractionState {
                    dispatched_at: Instant::now(),
                    acknowledged: false,
                    original: None,
                },
            );
        }
        self.dispatch_serialized(event, &data.to_string(), target);
    }

    /// Sends a dispatch whose data is already JSON text to the shard that
    /// owns `guild_id`: a benchmark builds its events before the clock starts,
    /// so that what it times is the bot, not the fake's serializer.
    pub fn dispatch_prepared_for_guild(&self, guild_id: u64, event: &str, data: &str) {
        self.dispatch_serialized(event, data, |shard| shard_owns(shard, guild_id));
    }

    fn dispatch_serialized(&self, event: &str, data: &str, target: impl Fn([u16; 2]) -> bool) {
        let mut guard = self.state();
        let state = &mut *guard;
        for connection in state.connections.iter_mut().filter(|c| target(c.shard)) {
            connection.sequence += 1;
            let frame = format!(
                r#"{{"op":0,"s":{},"t":"{event}","d":{data}}}"#,
                connection.sequence
            );
            if let Some(session) = state.sessions.get_mut(&connection.session) {
                session.record(connection.sequence, &frame);
            }
            let _ = connection.sender.send(frame);
        }
        // A session whose connection dropped (resumably) keeps what it
        // misses, for the RESUME to replay.
        for session in state.sessions.values_mut() {
            let live = state.connections.iter().any(|c| c.session == session.id);
            if session.resumable && !live && target(session.shard) {
                let sequence = session.sequence + 1;
                let frame = format!(r#"{{"op":0,"s":{sequence},"t":"{event}","d":{data}}}"#);
                session.record(sequence, &frame);
            }
        }
    }

    /// Sends op 9 Invalid Session (not resumable) on every connection, as
    /// Discord does when it ends a session: the bot must IDENTIFY afresh
    /// (and gets READY and every GUILD_CREATE again).
    pub fn invalidate_sessions(&self) {
        let mut state = self.state();
        for connection in &state.connections {
            let _ = connection
                .sender
                .send(json!({ "op": 9, "d": false }).to_string());
        }
        for session in state.sessions.values_mut() {
            session.resumable = false;
        }
    }

    /// Sends op 7 Reconnect on every connection, as Discord does before it
    /// moves a session: the bot reconnects and resumes, and what is
    /// dispatched from now on waits in the session and is replayed on its
    /// RESUME. (A connection that just dies is often noticed by serenity's
    /// heartbeat first, which then identifies afresh instead.)
    pub fn ask_to_reconnect(&self) {
        let mut state = self.state();
        for connection in state.connections.drain(..) {
            let _ = connection
                .sender
                .send(json!({ "op": 7, "d": null }).to_string());
        }
    }

    /// RESUMEs accepted so far (the session picked up and what it missed
    /// replayed).
    pub fn resumes(&self) -> usize {
        self.state().resumes
    }

    /// Closes every gateway connection and refuses new ones until [`Self::allow_gateway`].
    pub fn disconnect_gateway(&self) {
        let mut state = self.state();
        state.gateway_closed = true;
        for connection in state.connections.drain(..) {
            connection.kill.cancel();
        }
    }

    pub fn allow_gateway(&self) {
        self.state().gateway_closed = false;
    }

    /// Makes every send to `channels` answer 403 Missing Permissions
    /// (50013) after `after`, as when the bot lost Send Messages there and
    /// no gateway event said so; returns the paths refused.
    pub fn refuse_sends_to(
        &self,
        channels: impl IntoIterator<Item = u64>,
        after: Duration,
    ) -> Vec<String> {
        let paths: Vec<String> = channels
            .into_iter()
            .map(|channel| format!("/api/v10/channels/{channel}/messages"))
            .collect();
        for path in &paths {
            self.fail_route("POST", path, Failure::MissingPermissions(after), None);
        }
        paths
    }

    /// Ends every failure set with [`Self::fail_route`]: Discord is back.
    pub fn clear_failures(&self) {
        self.state().failures.clear();
    }

    /// Makes requests matching `method` and `path_glob` (`*` matches within one
    /// segment, `**` anything) fail, `times` times or for good.
    pub fn fail_route(
        &self,
        method: &str,
        path_glob: &str,
        failure: Failure,
        times: Option<usize>,
    ) {
        self.state().failures.push(RouteFailure {
            method: method.to_owned(),
            path_glob: path_glob.to_owned(),
            failure,
            remaining: times,
        });
    }

    /// Enforces Discord's global rate limit: more than `per_second` requests
    /// in any second (interaction routes exempt) get a global 429.
    pub fn enforce_global_limit(&self, per_second: u32) {
        self.state().global_limit = Some(per_second);
    }

    /// Stops the global limit's clock: every request counts as made at the
    /// same instant until [`Self::advance_global_clock`], so a test knows
    /// exactly which requests share a second, however slow the machine.
    pub fn freeze_global_clock(&self) {
        self.state().global_clock = Some(Instant::now());
    }

    /// Moves the frozen global-limit clock on by `by`.
    pub fn advance_global_clock(&self, by: Duration) {
        let mut state = self.state();
        let at = state.global_clock.expect("the global clock is frozen");
        state.global_clock = Some(at + by);
    }

    /// How many requests the global limit refused.
    pub fn global_rate_limited(&self) -> usize {
        self.state().global_rate_limited
    }

    pub fn spec_violations(&self) -> Vec<String> {
        self.state().violations.clone()
    }

    pub fn assert_no_spec_violations(&self) {
        let violations = self.spec_violations();
        assert!(
            violations.is_empty(),
            "requests broke Discord's spec: {violations:#?}"
        );
        let unknown = self.state().unknown_routes.clone();
        assert!(
            unknown.is_empty(),
            "requests to routes the fake does not know: {unknown:?}"
        );
    }

    pub fn messages_in(&self, channel_id: u64) -> Vec<Value> {
        self.state()
            .messages
            .get(&channel_id)
            .cloned()
            .unwrap_or_default()
    }

    /// How many times message `id` was edited through the API.
    pub fn edits_of(&self, id: u64) -> usize {
        self.state().edits.get(&id).copied().unwrap_or(0)
    }

    /// How many times message `id` was deleted through the API (at most once:
    /// a second DELETE finds it gone).
    pub fn deletes_of(&self, id: u64) -> usize {
        self.state().deletes.get(&id).copied().unwrap_or(0)
    }

    /// Edits and deletes through the API so far, every message together.
    pub fn edits_and_deletes(&self) -> (usize, usize) {
        let state = self.state();
        (state.edits.values().sum(), state.deletes.values().sum())
    }

    /// Removes a message as a server's moderator would, outside the bot.
    pub fn delete_by_hand(&self, channel_id: u64, message_id: u64) {
        if let Some(messages) = self.state().messages.get_mut(&channel_id) {
            let id = message_id.to_string();
            messages.retain(|m| m["id"] != id.as_str());
        }
    }

    /// Messages posted in all channels together.
    pub fn messages_posted(&self) -> usize {
        self.state().messages.values().map(Vec::len).sum()
    }

    /// When each message was created (a send answered from its nonce creates none).
    pub fn posted_at(&self) -> Vec<Instant> {
        self.state().posted.clone()
    }

    /// The callback, follow-ups and edits for one interaction token, in order.
    pub fn interaction_responses(&self, token: &str) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.split('/').any(|segment| segment == token))
            .collect()
    }

    /// The current state of the interaction's original response.
    pub fn original_response(&self, token: &str) -> Option<Value> {
        self.state()
            .interactions
            .get(token)
            .and_then(|i| i.original.clone())
    }

    /// Waits for the first response (callback) to an interaction and returns its body.
    pub async fn wait_for_callback(&self, token: &str, timeout: Duration) -> Value {
        let request = self
            .wait_for_request(&format!("the callback for {token}"), timeout, |r| {
                r.path.ends_with(&format!("/{token}/callback"))
            })
            .await;
        request.body.expect("callbacks have a body")
    }

    pub fn registered_commands(&self, guild: Option<u64>) -> Vec<Value> {
        self.state()
            .commands
            .get(&guild)
            .cloned()
            .unwrap_or_default()
    }

    /// Shortens (or restores) the interaction token lifetime (15 minutes on Discord).
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        *self.inner.token_lifetime.lock().unwrap() = lifetime;
    }

    pub fn add_channel(&self, channel: Value) {
        let id = channel["id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .expect("channel id");
        self.state().channels.insert(id, channel);
    }

    pub fn add_guild(&self, guild: Value) {
        let id = guild["id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .expect("guild id");
        let mut state = self.state();
        state.guilds.insert(id, guild);
        state.member_of.insert(id);
    }

    /// Puts the bot in these servers: the next READY of their shard lists
    /// them. A server the database has as active but READY does not list is
    /// one the bot was removed from while offline.
    pub fn join_guilds(&self, ids: impl IntoIterator<Item = u64>) {
        self.state().member_of.extend(ids);
    }

    /// The bot is no longer in these servers: the next READY leaves them out.
    pub fn leave_guilds(&self, ids: impl IntoIterator<Item = u64>) {
        let mut state = self.state();
        for id in ids {
            state.member_of.remove(&id);
        }
    }

    /// The servers the bot itself left (`DELETE /users/@me/guilds/{id}`).
    pub fn left_on_request(&self) -> Vec<u64> {
        self.state().left_on_request.clone()
    }

    /// Takes the bot out of a server, as a removal while it is offline does.
    pub fn leave_guild(&self, id: u64) {
        self.state().member_of.remove(&id);
    }

    pub fn add_member(&self, guild_id: u64, member: Value) {
        let id = member["user"]["id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .expect("member user id");
        self.state().members.insert((guild_id, id), member);
    }

    /// Creates an incoming webhook a test can hand the bot as
    /// `https://discord.com/api/webhooks/{id}/{token}`.
    pub fn add_webhook(&self, id: u64, token: &str) {
        self.state()
            .webhooks
            .insert(id, (token.to_owned(), Vec::new()));
    }

    /// The messages executed on webhook `id`, in order.
    pub fn webhook_messages(&self, id: u64) -> Vec<Value> {
        self.state()
            .webhooks
            .get(&id)
            .map(|(_, messages)| messages.clone())
            .unwrap_or_default()
    }

    pub fn add_user(&self, user: Value) {
        let id = user["id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .expect("user id");
        self.state().users.insert(id, user);
    }
}
