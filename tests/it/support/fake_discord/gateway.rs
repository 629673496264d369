//! The gateway websocket: HELLO -> IDENTIFY -> READY, heartbeat ACKs, and
//! dispatches pushed by tests. Plain JSON text frames.

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::{Connection, FakeDiscord, Session, shard_owns};
use crate::support::fixtures;

/// Discord says 41,250 ms. serenity notices a dead socket only when a heartbeat
/// fails, so the fake asks for one a second to make drops visible quickly
/// (unless a test asks for Discord's, see `heartbeat_like_discord`).
const HEARTBEAT_INTERVAL_MS: u64 = 1_000;
const DISCORDS_HEARTBEAT_INTERVAL_MS: u64 = 41_250;

/// Discord's close code for an IDENTIFY whose shard id is not below its count.
const INVALID_SHARD: u16 = 4010;
/// Discord's close code for an IDENTIFY with a token it does not accept.
const AUTHENTICATION_FAILED: u16 = 4004;

pub(super) async fn serve(fake: FakeDiscord, listener: TcpListener) {
    let mut next_connection = 0;
    while let Ok((stream, _)) = listener.accept().await {
        if fake.state().gateway_closed {
            drop(stream);
            continue;
        }
        next_connection += 1;
        tokio::spawn(handle(fake.clone(), stream, next_connection));
    }
}

async fn handle(fake: FakeDiscord, stream: tokio::net::TcpStream, id: u64) {
    let Ok(socket) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    let (mut sink, mut stream) = socket.split();
    let (sender, mut outgoing) = mpsc::unbounded_channel::<String>();
    let (close, mut close_with) = mpsc::unbounded_channel::<u16>();
    let kill = tokio_util::sync::CancellationToken::new();
    let writer_kill = kill.clone();
    // The writer ends (closing the socket) when every strong sender is gone:
    // the one in `State::connections` after IDENTIFY, so a disconnect closes it.
    tokio::spawn(async move {
        loop {
            let text = tokio::select! {
                () = writer_kill.cancelled() => return,
                Some(code) = close_with.recv() => {
                    let frame = CloseFrame { code: CloseCode::from(code), reason: "Refused.".into() };
                    let _ = sink.send(Message::Close(Some(frame))).await;
                    return;
                }
                text = outgoing.recv() => text,
            };
            let Some(text) = text else { break };
            // What is already queued goes out with it in one flush, as a
            // server under load writes: a burst is not one syscall a frame.
            let mut written = sink.feed(Message::Text(text)).await;
            let mut batched = 1;
            while written.is_ok()
                && batched < 256
                && let Ok(more) = outgoing.try_recv()
            {
                written = sink.feed(Message::Text(more)).await;
                batched += 1;
            }
            if written.is_err() || sink.flush().await.is_err() {
                return;
            }
        }
        let _ = sink.close().await;
    });
    let interval = if fake.state().discords_heartbeat {
        DISCORDS_HEARTBEAT_INTERVAL_MS
    } else {
        HEARTBEAT_INTERVAL_MS
    };
    let hello = json!({ "op": 10, "d": { "heartbeat_interval": interval } });
    let _ = sender.send(hello.to_string());
    let weak = sender.downgrade();
    let mut sender = Some(sender);

    loop {
        let message = tokio::select! {
            () = kill.cancelled() => break,
            message = stream.next() => message,
        };
        let Some(Ok(message)) = message else { break };
        let Message::Text(text) = message else {
            continue;
        };
        let Ok(payload) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        let Some(reply) = weak.upgrade() else { return };
        match payload["op"].as_u64() {
            Some(1) => {
                let _ = reply.send(json!({ "op": 11 }).to_string());
            }
            Some(2) => {
                let shard = [
                    payload["d"]["shard"][0].as_u64().unwrap_or(0) as u16,
                    payload["d"]["shard"][1].as_u64().unwrap_or(1) as u16,
                ];
                let mut state = fake.state();
                let token = payload["d"]["token"].as_str().unwrap_or_default();
                if state.revoked_tokens.contains(super::bare_token(token)) {
                    drop(state);
                    let _ = close.send(AUTHENTICATION_FAILED);
                    continue;
                }
                if shard[0] >= shard[1] {
                    // As Discord does: the session is refused, not started.
                    state.invalid_shards.push(shard);
                    drop(state);
                    fake.inner.changed.notify_waiters();
                    let _ = close.send(INVALID_SHARD);
                    continue;
                }
                let guilds: Vec<u64> = state
                    .member_of
                    .iter()
                    .copied()
                    .filter(|id| shard_owns(shard, *id))
                    .collect();
                let session = format!("session-{}-{id}", shard[0]);
                let mut ready = fixtures::ready(shard, &fake.gateway_url(), &guilds);
                ready["session_id"] = json!(session);
                let event = json!({ "op": 0, "s": 1, "t": "READY", "d": ready });
                let _ = reply.send(event.to_string());
                state.identified.push(shard);
                state.identified_at.push(std::time::Instant::now());
                // A new session ends the shard's older ones.
                for older in state.sessions.values_mut().filter(|s| s.shard == shard) {
                    older.resumable = false;
                }
                state
                    .sessions
                    .insert(session.clone(), Session::new(session.clone(), shard));
                if let Some(strong) = sender.take() {
                    state.connections.push(Connection {
                        id,
                        shard,
                        session,
                        sender: strong,
                        sequence: 1,
                        kill: kill.clone(),
                    });
                }
                drop(state);
                fake.inner.changed.notify_waiters();
            }
            // RESUME: the session picks up on this connection, what it
            // missed is replayed, then RESUMED; an ended or unknown session
            // (or one further back than the fake kept) gets op 9.
            Some(6) => {
                let session_id = payload["d"]["session_id"].as_str().unwrap_or_default();
                let seq = payload["d"]["seq"].as_u64().unwrap_or(0);
                let mut state = fake.state();
                let missed = state
                    .sessions
                    .get(session_id)
                    .filter(|session| session.resumable)
                    .and_then(|session| Some((session.shard, session.after(seq)?)));
                let Some((shard, missed)) = missed else {
                    drop(state);
                    let _ = reply.send(json!({ "op": 9, "d": false }).to_string());
                    continue;
                };
                for frame in missed {
                    let _ = reply.send(frame);
                }
                let session = state.sessions.get_mut(session_id).expect("found above");
                let sequence = session.sequence + 1;
                let resumed =
                    json!({ "op": 0, "s": sequence, "t": "RESUMED", "d": {} }).to_string();
                session.record(sequence, &resumed);
                let _ = reply.send(resumed);
                state.resumes += 1;
                if let Some(strong) = sender.take() {
                    state.connections.push(Connection {
                        id,
                        shard,
                        session: session_id.to_owned(),
                        sender: strong,
                        sequence,
                        kill: kill.clone(),
                    });
                }
                drop(state);
                fake.inner.changed.notify_waiters();
            }
            _ => {}
        }
    }
    fake.state().connections.retain(|c| c.id != id);
}
