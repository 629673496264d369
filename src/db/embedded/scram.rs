//! SCRAM-SHA-256 verifiers, as PostgreSQL stores them in `pg_authid`.
//!
//! Setting a password with `ALTER ROLE ... PASSWORD 'plain text'` puts the
//! secret into SQL, where a statement log (the client's or the server's) may
//! record it. Like `psql`'s `\password`, the bot therefore computes the
//! verifier itself and sends only that: it lets the server check a login but
//! does not reveal the password (RFC 5802, RFC 7677).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use super::constants::SCRAM_ITERATIONS;
use super::password::Password;

type HmacSha256 = Hmac<Sha256>;

/// `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` for
/// `password` with a fresh random 16-byte salt (PostgreSQL's own length).
pub(super) fn scram_verifier(password: &Password) -> String {
    let salt: [u8; 16] = rand::random();
    verifier_with_salt(password.expose().as_bytes(), &salt, SCRAM_ITERATIONS)
}

fn verifier_with_salt(password: &[u8], salt: &[u8], iterations: u32) -> String {
    let (stored_key, server_key) = keys(password, salt, iterations);
    format!(
        "SCRAM-SHA-256${iterations}:{}${}:{}",
        STANDARD.encode(salt),
        STANDARD.encode(stored_key),
        STANDARD.encode(server_key)
    )
}

/// (StoredKey, ServerKey) from SaltedPassword = Hi(password, salt, i).
fn keys(password: &[u8], salt: &[u8], iterations: u32) -> ([u8; 32], [u8; 32]) {
    let salted = hi(password, salt, iterations);
    let client_key = hmac(&salted, b"Client Key");
    let stored_key: [u8; 32] = Sha256::digest(client_key).into();
    let server_key = hmac(&salted, b"Server Key");
    (stored_key, server_key)
}

/// `Hi()` of RFC 5802: PBKDF2 with HMAC-SHA-256 and one output block.
fn hi(password: &[u8], salt: &[u8], iterations: u32) -> [u8; 32] {
    let mut first = salt.to_vec();
    first.extend_from_slice(&1u32.to_be_bytes());
    let mut block = hmac(password, &first);
    let mut result = block;
    for _ in 1..iterations {
        block = hmac(password, &block);
        for (out, byte) in result.iter_mut().zip(block) {
            *out ^= byte;
        }
    }
    result
}

fn hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes a key of any size");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exchange of RFC 7677, section 3 (user "user", password "pencil").
    const SALT: &str = "W22ZaJ0SNY7soEsUEjb6gQ==";
    const AUTH_MESSAGE: &str = "n=user,r=rOprNGfwEbeRWgbNEkqO,\
        r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,\
        c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
    const CLIENT_PROOF: &str = "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    const SERVER_SIGNATURE: &str = "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

    #[test]
    fn the_keys_of_the_rfc_7677_example_verify_its_exchange() {
        let salt = STANDARD.decode(SALT).unwrap();
        let (stored_key, server_key) = keys(b"pencil", &salt, 4096);

        let signature = hmac(&server_key, AUTH_MESSAGE.as_bytes());
        assert_eq!(STANDARD.encode(signature), SERVER_SIGNATURE);

        // The server's check: ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage),
        // and H(ClientKey) must equal StoredKey.
        let client_signature = hmac(&stored_key, AUTH_MESSAGE.as_bytes());
        let proof = STANDARD.decode(CLIENT_PROOF).unwrap();
        let client_key: Vec<u8> = proof
            .iter()
            .zip(client_signature)
            .map(|(proof, signature)| proof ^ signature)
            .collect();
        assert_eq!(<[u8; 32]>::from(Sha256::digest(&client_key)), stored_key);
    }

    #[test]
    fn a_verifier_has_the_layout_postgresql_stores() {
        let salt = STANDARD.decode(SALT).unwrap();
        let verifier = verifier_with_salt(b"pencil", &salt, 4096);
        let (kind, rest) = verifier.split_once('$').unwrap();
        assert_eq!(kind, "SCRAM-SHA-256");
        let (iterations_and_salt, keys) = rest.split_once('$').unwrap();
        assert_eq!(iterations_and_salt, format!("4096:{SALT}"));
        assert_eq!(keys.split(':').count(), 2);
        assert!(!verifier.contains("pencil"));
    }

    #[test]
    fn each_verifier_gets_its_own_salt() {
        let password = Password::generate();
        assert_ne!(scram_verifier(&password), scram_verifier(&password));
    }
}
