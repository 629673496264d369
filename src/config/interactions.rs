//! `DISCORD_PUBLIC_KEY` and `INTERACTIONS_ADDR`: Discord's Interactions
//! Endpoint URL, the HTTP way to receive interactions (see
//! [`crate::interactions_endpoint`]). Off unless the public key is set.

use std::net::SocketAddr;

use super::values::ConfigError;

const DEFAULT_INTERACTIONS_ADDR: &str = "0.0.0.0:8090";

/// Where the bot listens for Discord's signed interaction POSTs, and the key
/// that proves a POST came from Discord.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InteractionsEndpointConfig {
    /// The application's ed25519 public key (the Developer Portal's "Public
    /// Key", 64 hex digits). Public by nature: not a secret.
    pub public_key: [u8; 32],
    /// Where the endpoint listens (`INTERACTIONS_ADDR`).
    pub addr: SocketAddr,
}

impl InteractionsEndpointConfig {
    /// Reads the two variables through `get` (trimmed, empty as unset). An
    /// address without a key is refused: it would listen and verify nothing.
    pub(super) fn from_lookup(
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, ConfigError> {
        let addr = get("INTERACTIONS_ADDR");
        let Some(key) = get("DISCORD_PUBLIC_KEY") else {
            return match addr {
                Some(_) => Err(ConfigError::new(
                    "INTERACTIONS_ADDR",
                    "is set but DISCORD_PUBLIC_KEY is not (the endpoint needs the application's public key to check Discord's signatures)",
                )),
                None => Ok(None),
            };
        };
        let public_key = parse_public_key(&key).ok_or_else(|| {
            ConfigError::new(
                "DISCORD_PUBLIC_KEY",
                "is not an ed25519 public key (64 hex digits, the Developer Portal's \"Public Key\")",
            )
        })?;
        let addr = addr
            .unwrap_or_else(|| DEFAULT_INTERACTIONS_ADDR.to_owned())
            .parse::<SocketAddr>()
            .map_err(|_| {
                ConfigError::new(
                    "INTERACTIONS_ADDR",
                    "is not an address with a port (expected e.g. 0.0.0.0:8090)",
                )
            })?;
        Ok(Some(Self { public_key, addr }))
    }
}

/// 64 hex digits that are a valid ed25519 point.
fn parse_public_key(raw: &str) -> Option<[u8; 32]> {
    if raw.len() != 64 || !raw.is_ascii() {
        return None;
    }
    let mut key = [0u8; 32];
    for (byte, pair) in key.iter_mut().zip(raw.as_bytes().chunks(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    serenity::interactions_endpoint::Verifier::try_new(key).ok()?;
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The public key of the seed `[7; 32]`, which the tests' fake Discord signs with.
    const KEY: &str = "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c";

    fn read(vars: &[(&str, &str)]) -> Result<Option<InteractionsEndpointConfig>, ConfigError> {
        InteractionsEndpointConfig::from_lookup(|name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    #[test]
    fn the_endpoint_is_off_without_a_key_and_listens_on_8090_with_one() {
        assert_eq!(read(&[]).unwrap(), None);
        let config = read(&[("DISCORD_PUBLIC_KEY", KEY)]).unwrap().unwrap();
        assert_eq!(config.addr.to_string(), DEFAULT_INTERACTIONS_ADDR);
        assert_eq!(config.public_key[0], 0xea);
    }

    #[test]
    fn a_bad_key_or_an_address_without_a_key_names_the_variable() {
        for bad in ["abc", &KEY.replace('e', "g"), &format!("{KEY}00")] {
            let error = read(&[("DISCORD_PUBLIC_KEY", bad)]).unwrap_err();
            assert_eq!(error.variable, "DISCORD_PUBLIC_KEY", "{bad}");
        }
        let error = read(&[("INTERACTIONS_ADDR", "0.0.0.0:8090")]).unwrap_err();
        assert_eq!(error.variable, "INTERACTIONS_ADDR");
        let error =
            read(&[("DISCORD_PUBLIC_KEY", KEY), ("INTERACTIONS_ADDR", "8090")]).unwrap_err();
        assert_eq!(error.variable, "INTERACTIONS_ADDR");
    }
}
