//! Interactions over HTTP: Discord's Interactions Endpoint URL. With it set
//! in the Developer Portal, Discord POSTs every interaction to the bot
//! (signed with the application's ed25519 key) instead of sending it on a
//! shard's websocket. On the gateway, an interaction waits behind every event
//! sent before it on its shard and is parsed on that shard's one task, so a
//! restart's burst of GUILD_CREATEs delays `/admin` by the burst's length
//! (`cargo bench --bench boot_storm`); over HTTP it is parsed and answered
//! at once, whatever the gateway is doing, even while it is down.
//!
//! A POST is verified ([`serenity::interactions_endpoint::Verifier`]),
//! refused when stale or replayed ([`replay`]), answered with PONG if it is
//! Discord's PING, and otherwise run through the same framework as gateway
//! interactions ([`SharedFramework`]): the command answers through the
//! callback endpoint as usual, then the POST gets `202 Accepted` with no
//! body, as Discord asks of an endpoint that answered through the API.

mod framework;
pub mod replay;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serenity::all::Interaction;
use serenity::interactions_endpoint::Verifier;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use framework::{Dispatcher, NotReady, SharedFramework};
use replay::SeenIds;

use crate::error::cause_chain;

/// The path Discord is told to POST to: `https://<host>/interactions`.
pub const PATH: &str = "/interactions";
/// The POST is held open this long at most for the command's own first
/// answer; Discord wants both within 3 s of the interaction.
const ANSWER_WITHIN: Duration = Duration::from_millis(2_500);

/// What became of a POST: `/metrics` counts each
/// (`admin_panel_interactions_http_total{outcome}`), so forged or replayed
/// traffic and a drifting clock show without reading logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostOutcome {
    /// Dispatched to the framework.
    Accepted,
    /// Discord's PING, answered with PONG.
    Pong,
    /// The ed25519 signature does not match: not from Discord.
    BadSignature,
    /// Its timestamp is more than 5 minutes from this machine's clock.
    Stale,
    /// The same signed request seen already.
    Replayed,
    /// Not an interaction the endpoint can read.
    Unreadable,
    /// Before the first READY.
    NotReady,
}

impl PostOutcome {
    /// Every outcome, in the order `/metrics` lists them.
    pub const ALL: [Self; 7] = [
        Self::Accepted,
        Self::Pong,
        Self::BadSignature,
        Self::Stale,
        Self::Replayed,
        Self::Unreadable,
        Self::NotReady,
    ];

    /// The outcome's `/metrics` label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Pong => "pong",
            Self::BadSignature => "bad_signature",
            Self::Stale => "stale",
            Self::Replayed => "replayed",
            Self::Unreadable => "unreadable",
            Self::NotReady => "not_ready",
        }
    }
}

/// POSTs this process received, by [`PostOutcome`].
#[derive(Debug, Default)]
pub struct EndpointCounters {
    counts: [AtomicU64; PostOutcome::ALL.len()],
}

impl EndpointCounters {
    fn add(&self, outcome: PostOutcome) {
        self.counts[outcome as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Every outcome with its count, in [`PostOutcome::ALL`]'s order.
    pub fn snapshot(&self) -> Vec<(&'static str, u64)> {
        PostOutcome::ALL
            .iter()
            .map(|outcome| {
                let count = self.counts[*outcome as usize].load(Ordering::Relaxed);
                (outcome.label(), count)
            })
            .collect()
    }
}

/// What the endpoint needs: the key to check signatures with, the
/// framework to hand interactions to, and where to count what it did.
#[derive(Clone)]
pub struct Endpoint {
    verifier: Verifier,
    dispatcher: Dispatcher,
    seen: Arc<SeenIds>,
    counters: Arc<EndpointCounters>,
}

impl Endpoint {
    /// `public_key` is checked by the configuration already
    /// ([`crate::config::InteractionsEndpointConfig`]); `counters` are the
    /// ones `/metrics` reads (`AdminPanel::health`'s).
    pub fn new(
        public_key: [u8; 32],
        dispatcher: Dispatcher,
        counters: Arc<EndpointCounters>,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            verifier: Verifier::try_new(public_key)?,
            dispatcher,
            seen: Arc::default(),
            counters,
        })
    }
}

/// Binds `INTERACTIONS_ADDR`; a taken port is a start-up error naming it.
pub async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|error| {
        anyhow::anyhow!(
            "INTERACTIONS_ADDR: cannot listen on {addr} ({error}); set INTERACTIONS_ADDR to a free address"
        )
    })
}

/// Serves [`PATH`] until `shutdown`; requests in flight are finished.
pub async fn serve(listener: TcpListener, endpoint: Endpoint, shutdown: CancellationToken) {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, path = PATH, "interactions endpoint listening");
    }
    let app = axum::Router::new()
        .route(PATH, axum::routing::post(receive))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") })
        .with_state(endpoint);
    if let Err(error) = axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
    {
        tracing::error!(error = %cause_chain(&error), "the interactions endpoint stopped");
    }
}

async fn receive(State(endpoint): State<Endpoint>, headers: HeaderMap, body: Bytes) -> Response {
    let (outcome, response) = answer(&endpoint, &headers, &body).await;
    endpoint.counters.add(outcome);
    response
}

async fn answer(endpoint: &Endpoint, headers: &HeaderMap, body: &[u8]) -> (PostOutcome, Response) {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let (Some(signature), Some(timestamp)) = (
        header("x-signature-ed25519"),
        header("x-signature-timestamp"),
    ) else {
        return (
            PostOutcome::BadSignature,
            refuse("missing signature headers"),
        );
    };
    if endpoint
        .verifier
        .verify(signature, timestamp, body)
        .is_err()
    {
        return (
            PostOutcome::BadSignature,
            refuse("invalid request signature"),
        );
    }
    if !replay::fresh(timestamp, chrono::Utc::now().timestamp()) {
        tracing::warn!(
            timestamp,
            "refused a signed interaction with a stale timestamp (a replay, or this machine's clock is off)"
        );
        return (PostOutcome::Stale, refuse("stale timestamp"));
    }
    let interaction: Interaction = match serde_json::from_slice(body) {
        Ok(interaction) => interaction,
        Err(error) => {
            tracing::warn!(error = %error, "a signed interaction could not be read");
            let response = (StatusCode::BAD_REQUEST, "unreadable interaction\n").into_response();
            return (PostOutcome::Unreadable, response);
        }
    };
    if let Interaction::Ping(_) = interaction {
        let pong = axum::Json(serde_json::json!({ "type": 1 })).into_response();
        return (PostOutcome::Pong, pong);
    }
    if !endpoint
        .seen
        .first_time(interaction.id().get(), Instant::now())
    {
        tracing::warn!(interaction = %interaction.id(), "refused a replayed interaction");
        return (
            PostOutcome::Replayed,
            refuse("interaction already received"),
        );
    }
    match endpoint.dispatcher.dispatch(interaction) {
        Ok(task) => {
            // Answered through the callback endpoint by then (or deferred);
            // a slow command goes on after the POST is closed.
            let _ = tokio::time::timeout(ANSWER_WITHIN, task).await;
            (PostOutcome::Accepted, StatusCode::ACCEPTED.into_response())
        }
        Err(NotReady) => {
            tracing::warn!("an interaction arrived over HTTP before any shard was ready");
            let response = (
                StatusCode::SERVICE_UNAVAILABLE,
                "not connected to Discord yet\n",
            )
                .into_response();
            (PostOutcome::NotReady, response)
        }
    }
}

fn refuse(why: &'static str) -> Response {
    (StatusCode::UNAUTHORIZED, format!("{why}\n")).into_response()
}
