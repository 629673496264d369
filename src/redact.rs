//! Secrets never reach a log. Error chains from the HTTP client carry request
//! URLs, and an interaction's token or a webhook's token is part of its URL:
//! anyone holding one can post as the bot for 15 minutes. Everything the bot
//! writes to the console or stores in `system_logs` passes [`redact`], which
//! replaces interaction and webhook tokens, and any secret registered with
//! [`register_secret`] (the bot token, a database password), by a marker.
//! [`RedactingWriter`] applies it to the console output of every crate,
//! serenity's and reqwest's traces included.

use std::borrow::Cow;
use std::io::Write;
use std::sync::{LazyLock, RwLock};

use regex::Regex;

const MARKER: &str = "[redacted]";

/// `/webhooks/<application>/<token>` and `/interactions/<id>/<token>`,
/// interaction tokens anywhere (they begin with base64 of `interaction:`),
/// `Bot <token>` headers, the credentials of any `scheme://user:pass@` URL
/// (a proxy's, a database's), and a URL's `password=` parameter (libpq and
/// sqlx accept the password there too).
static TOKENS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?x)
        (?P<path>/(?:webhooks|interactions)/\d+/)[A-Za-z0-9_\-.]+
        | aW50ZXJhY3Rpb246[A-Za-z0-9_\-.=+/]*
        | (?P<auth>Bot\s)[A-Za-z0-9_\-.]{30,}
        | (?P<scheme>[a-z][a-z0-9+.\-]*://)[^/\s@"']+@
        | (?P<param>[?&](?:password|sslpassword)=)[^&\s"']+"#,
    )
    .expect("a valid pattern")
});

static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Adds an exact secret to scrub from every log line (ignored if short, so
/// that a mistake cannot blank out common words).
pub fn register_secret(secret: &str) {
    if secret.len() < 8 {
        return;
    }
    if let Ok(mut secrets) = SECRETS.write()
        && !secrets.iter().any(|known| known == secret)
    {
        secrets.push(secret.to_owned());
    }
}

/// Registers the credentials in `url`'s `user:password@` part (as written
/// and percent-decoded), so they are scrubbed wherever they turn up, not
/// only inside a URL.
pub fn register_url_credentials(url: &str) {
    let Some((_, rest)) = url.split_once("://") else {
        return;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let Some((userinfo, _)) = authority.rsplit_once('@') else {
        return;
    };
    let password = userinfo.split_once(':').map_or(userinfo, |(_, p)| p);
    register_secret(password);
    if let Ok(decoded) = percent_encoding::percent_decode_str(password).decode_utf8() {
        register_secret(&decoded);
    }
}

/// `text` with every token and registered secret replaced by a marker.
pub fn redact(text: &str) -> Cow<'_, str> {
    let mut out = TOKENS.replace_all(text, |caps: &regex::Captures<'_>| {
        if let Some(scheme) = caps.name("scheme") {
            return format!("{}{MARKER}@", scheme.as_str());
        }
        let keep = caps
            .name("path")
            .or_else(|| caps.name("auth"))
            .or_else(|| caps.name("param"))
            .map_or("", |m| m.as_str());
        format!("{keep}{MARKER}")
    });
    if let Ok(secrets) = SECRETS.read() {
        for secret in secrets.iter() {
            if out.contains(secret.as_str()) {
                out = Cow::Owned(out.replace(secret.as_str(), MARKER));
            }
        }
    }
    out
}

/// A `MakeWriter` for `tracing_subscriber::fmt` that redacts each line.
#[derive(Debug, Clone, Copy, Default)]
pub struct RedactingWriter;

/// The writer [`RedactingWriter`] makes: redacts what it is given (the fmt
/// layer writes one whole event per call) before it reaches stderr.
pub struct RedactedStderr;

impl Write for RedactedStderr {
    fn write(&mut self, buffer: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buffer);
        std::io::stderr().write_all(redact(&text).as_bytes())?;
        Ok(buffer.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for RedactingWriter {
    type Writer = RedactedStderr;

    fn make_writer(&'a self) -> Self::Writer {
        RedactedStderr
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_in_urls_and_anywhere_are_replaced() {
        let token = "aW50ZXJhY3Rpb246OTAwMDAwOlNlY3JldFRva2VuLWFiYw";
        let error = format!(
            "error sending request for url (https://discord.com/api/v10/webhooks/123/{token}/messages/@original): timed out"
        );
        let redacted = redact(&error);
        assert!(!redacted.contains(token), "{redacted}");
        assert!(
            redacted.contains("/webhooks/123/[redacted]/messages/@original"),
            "{redacted}"
        );
        let callback = "POST /api/v10/interactions/456/some-other_token.x/callback";
        assert_eq!(
            redact(callback),
            "POST /api/v10/interactions/456/[redacted]/callback"
        );
        assert!(!redact(&format!("token={token}")).contains(token));
        assert_eq!(redact("nothing secret here"), "nothing secret here");
    }

    #[test]
    fn registered_secrets_and_authorization_headers_are_replaced() {
        register_secret("hunter2-but-longer");
        assert_eq!(
            redact("password=hunter2-but-longer;"),
            "password=[redacted];"
        );
        let header =
            "Authorization: Bot MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs";
        assert_eq!(redact(header), "Authorization: Bot [redacted]");
        assert_eq!(
            redact(r#"proxy: Some("http://bot:s3cret@127.0.0.1:8080")"#),
            r#"proxy: Some("http://[redacted]@127.0.0.1:8080")"#
        );
        assert_eq!(
            redact("postgres://postgres:pw@127.0.0.1:5432/db"),
            "postgres://[redacted]@127.0.0.1:5432/db"
        );
        assert_eq!(
            redact("postgres://127.0.0.1/db?user=bot&password=pw-in-a-param&sslmode=disable"),
            "postgres://127.0.0.1/db?user=bot&password=[redacted]&sslmode=disable"
        );
    }

    #[test]
    fn url_credentials_are_scrubbed_outside_their_url_too() {
        register_url_credentials("postgres://bot:p%40ss-word-in-a-url@db.internal:5432/bot");
        assert_eq!(
            redact("authentication failed; tried p%40ss-word-in-a-url and p@ss-word-in-a-url"),
            "authentication failed; tried [redacted] and [redacted]"
        );
        register_url_credentials("http://127.0.0.1:8080");
        assert_eq!(redact("127.0.0.1:8080"), "127.0.0.1:8080");
    }
}
