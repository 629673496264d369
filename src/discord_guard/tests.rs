use super::*;

#[test]
fn interaction_routes_carry_their_own_token_and_every_other_route_the_bots() {
    for url in [
        "https://discord.com/api/v10/webhooks/1/tok/messages/@original",
        "https://discord.com/api/v10/interactions/1/tok/callback",
        "http://127.0.0.1:9/api/webhooks/1/tok",
    ] {
        assert_eq!(Auth::of_url(url), Auth::InteractionToken, "{url}");
    }
    for url in [
        "https://discord.com/api/v10/channels/1/messages",
        "https://discord.com/api/v10/gateway/bot",
        "http://127.0.0.1:9/api/v10/users/@me",
        "https://discord.com/api/v10/applications/1/commands",
    ] {
        assert_eq!(Auth::of_url(url), Auth::Bot, "{url}");
    }
}

#[test]
fn a_401_on_the_bot_token_revokes_it_and_is_counted() {
    let guard = DiscordGuard::default();
    assert!(!guard.observe_status(403, "https://discord.com/api/v10/channels/1/messages"));
    assert!(!guard.observe_status(
        401,
        "https://discord.com/api/v10/webhooks/1/expired/messages/@original"
    ));
    assert!(
        !guard.is_revoked(),
        "an expired interaction token revokes nothing"
    );
    assert!(guard.observe_status(401, "https://discord.com/api/v10/channels/1/messages"));
    assert!(guard.is_revoked());
    assert!(guard.observe_status(401, "https://discord.com/api/v10/channels/2/messages"));
    assert_eq!(guard.bot_token_refusals(), 2);
}

/// serenity's error for a `status` answer to `url`, as its HTTP client builds it.
async fn unsuccessful(status: u16, url: &str) -> serenity::Error {
    use reqwest::ResponseBuilderExt as _;
    let response = http::Response::builder()
        .status(status)
        .url(reqwest::Url::parse(url).unwrap())
        .body(r#"{"message": "401: Unauthorized", "code": 0}"#)
        .unwrap();
    let response = serenity::http::ErrorResponse::from_response(
        reqwest::Response::from(response),
        reqwest::Method::GET,
    )
    .await;
    serenity::Error::Http(HttpError::UnsuccessfulRequest(response))
}

#[tokio::test]
async fn a_refused_token_is_found_inside_a_commands_boxed_error() {
    #[derive(Debug, thiserror::Error)]
    #[error("could not check the channel")]
    struct Wrapper(#[source] serenity::Error);

    let guard = DiscordGuard::default();
    let other: Box<dyn std::error::Error + Send + Sync> =
        Box::new(std::io::Error::other("not Discord"));
    assert!(!guard.observe_any(other.as_ref()));
    let expired = unsuccessful(401, "https://discord.com/api/v10/webhooks/1/tok").await;
    assert!(!guard.observe_error(&expired));
    assert!(!guard.is_revoked());

    let refused = unsuccessful(401, "https://discord.com/api/v10/channels/1").await;
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(Wrapper(refused));
    assert!(guard.observe_any(boxed.as_ref()));
    assert!(guard.is_revoked());
}
