//! Discord's other door: POSTing an interaction to the bot's Interactions
//! Endpoint URL, signed with the application's ed25519 key as Discord signs
//! (`timestamp + body`, in `X-Signature-Ed25519` / `X-Signature-Timestamp`).

use std::time::{Duration, Instant};

use ed25519_dalek::{Signer, SigningKey};
use serde_json::Value;

use super::{FakeDiscord, InteractionState};

/// The application's key pair: the fake signs with the private half, the bot
/// is configured with [`PUBLIC_KEY`].
const SEED: [u8; 32] = [7; 32];
/// `DISCORD_PUBLIC_KEY` for a bot talking to the fake.
pub const PUBLIC_KEY: &str = "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c";

/// What the bot's endpoint answered.
#[derive(Debug)]
pub struct EndpointReply {
    pub status: u16,
    pub body: String,
}

/// How a POST is signed: as Discord does, or as an attacker might.
#[derive(Debug, Clone, Copy)]
pub enum Signing {
    Discord,
    /// Signed with another key.
    Forged,
    /// Signed by Discord, `age` ago (a captured request replayed later).
    Aged(Duration),
}

impl FakeDiscord {
    /// POSTs `interaction` to the bot's endpoint at `addr`, signed like
    /// Discord's, and returns the bot's answer. Its token is tracked like a
    /// gateway interaction's (3 s to the first response from now).
    pub async fn post_interaction(&self, addr: &str, interaction: &Value) -> EndpointReply {
        self.post_interaction_signed(addr, &interaction.to_string(), Signing::Discord)
            .await
    }

    /// [`Self::post_interaction`] with the body as text and a chosen signing.
    pub async fn post_interaction_signed(
        &self,
        addr: &str,
        body: &str,
        signing: Signing,
    ) -> EndpointReply {
        if let Some(token) = serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|value| value["token"].as_str().map(str::to_owned))
        {
            self.state()
                .interactions
                .entry(token)
                .or_insert_with(|| InteractionState {
                    dispatched_at: Instant::now(),
                    acknowledged: false,
                    original: None,
                });
        }
        let age = match signing {
            Signing::Aged(age) => age.as_secs() as i64,
            _ => 0,
        };
        let timestamp = (chrono::Utc::now().timestamp() - age).to_string();
        let key = match signing {
            Signing::Forged => SigningKey::from_bytes(&[8; 32]),
            _ => SigningKey::from_bytes(&SEED),
        };
        let signature = key.sign(format!("{timestamp}{body}").as_bytes());
        let response = self
            .inner
            .endpoint_client
            .get_or_init(reqwest::Client::new)
            .post(format!("http://{addr}/interactions"))
            .header("content-type", "application/json")
            .header("x-signature-ed25519", hex(&signature.to_bytes()))
            .header("x-signature-timestamp", timestamp)
            .body(body.to_owned())
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .expect("the interactions endpoint answers");
        EndpointReply {
            status: response.status().as_u16(),
            body: response.text().await.unwrap_or_default(),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[test]
fn the_public_key_is_the_seeds() {
    assert_eq!(
        hex(SigningKey::from_bytes(&SEED).verifying_key().as_bytes()),
        PUBLIC_KEY
    );
}
