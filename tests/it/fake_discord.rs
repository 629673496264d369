//! The fake Discord itself: serenity's real HTTP client talks to it through the
//! proxy seam, and it answers errors, nonces and spec violations like Discord.

use crate::support::fake_discord::{Failure, FakeDiscord};
use serenity::Error as SerenityError;
use serenity::all::{ChannelId, CreateEmbed, CreateMessage, HttpBuilder, HttpError};

fn http(fake: &FakeDiscord) -> serenity::http::Http {
    HttpBuilder::new(crate::support::bot::TOKEN)
        .proxy(fake.base_url())
        .ratelimiter_disabled(true)
        .build()
}

/// Sends `content` to `channel` and expects the fake's 429.
async fn assert_rate_limited(http: &serenity::http::Http, channel: u64, content: &str) {
    let error = ChannelId::new(channel)
        .send_message(http, CreateMessage::new().content(content))
        .await
        .unwrap_err();
    match error {
        SerenityError::Http(HttpError::UnsuccessfulRequest(response)) => {
            assert_eq!(response.status_code.as_u16(), 429);
        }
        other => panic!("expected a 429, got {other:?}"),
    }
}

fn discord_code(error: &SerenityError) -> Option<isize> {
    match error {
        SerenityError::Http(HttpError::UnsuccessfulRequest(response)) => Some(response.error.code),
        _ => None,
    }
}

#[tokio::test]
async fn a_failing_route_reaches_serenity_as_discords_error_code() {
    let fake = FakeDiscord::start().await;
    fake.fail_route(
        "POST",
        "/api/v10/channels/*/messages",
        Failure::Status {
            status: 403,
            code: 50013,
            message: "Missing Permissions".into(),
        },
        Some(1),
    );
    let http = http(&fake);
    let channel = ChannelId::new(42);

    let error = channel
        .send_message(&http, CreateMessage::new().content("hi"))
        .await
        .unwrap_err();
    assert_eq!(discord_code(&error), Some(50013));

    // `times: Some(1)`: the next send goes through.
    channel
        .send_message(&http, CreateMessage::new().content("hi"))
        .await
        .unwrap();
    assert_eq!(fake.messages_in(42).len(), 1);
}

#[tokio::test]
async fn the_same_enforced_nonce_posts_only_once() {
    let fake = FakeDiscord::start().await;
    let http = http(&fake);
    let message = || {
        CreateMessage::new()
            .content("once")
            .nonce(serenity::all::Nonce::String("b1g2".into()))
            .enforce_nonce(true)
    };

    let first = ChannelId::new(7)
        .send_message(&http, message())
        .await
        .unwrap();
    let second = ChannelId::new(7)
        .send_message(&http, message())
        .await
        .unwrap();

    assert_eq!(first.id, second.id);
    assert_eq!(fake.messages_in(7).len(), 1);
}

#[tokio::test]
async fn a_body_that_breaks_discords_limits_is_refused_and_recorded() {
    let fake = FakeDiscord::start().await;
    let http = http(&fake);
    // serenity itself refuses embeds over 6000 characters, so break a limit it does not check.
    let embed = CreateEmbed::new().title("t".repeat(300));

    let error = ChannelId::new(9)
        .send_message(&http, CreateMessage::new().embed(embed))
        .await
        .unwrap_err();

    assert_eq!(discord_code(&error), Some(50035));
    assert!(!fake.spec_violations().is_empty());
    assert!(fake.messages_in(9).is_empty());
}

#[tokio::test]
async fn a_rate_limited_route_answers_429_with_retry_after() {
    let fake = FakeDiscord::start().await;
    fake.fail_route(
        "POST",
        "/api/v10/channels/**",
        Failure::RateLimited {
            retry_after_secs: 1.5,
            global: false,
        },
        Some(1),
    );
    let http = http(&fake);

    assert_rate_limited(&http, 3, "x").await;
}

#[tokio::test]
async fn the_global_limit_refuses_requests_over_the_per_second_budget() {
    let fake = FakeDiscord::start().await;
    fake.enforce_global_limit(5);
    // All 8 sends count as made in the same instant, however slow the
    // machine: exactly 5 fit in the second.
    fake.freeze_global_clock();
    let http = http(&fake);

    let mut refused = 0;
    for n in 0..8 {
        let result = ChannelId::new(3)
            .send_message(&http, CreateMessage::new().content(format!("{n}")))
            .await;
        if let Err(SerenityError::Http(HttpError::UnsuccessfulRequest(response))) = &result {
            assert_eq!(response.status_code.as_u16(), 429);
            refused += 1;
        }
    }
    assert_eq!(refused, 3, "5 of 8 requests fit in one second");
    assert_eq!(fake.global_rate_limited(), 3);
    assert_eq!(fake.messages_in(3).len(), 5);

    fake.advance_global_clock(std::time::Duration::from_millis(999));
    let still_full = ChannelId::new(3)
        .send_message(&http, CreateMessage::new().content("too soon"))
        .await;
    assert!(still_full.is_err(), "the second is not over yet");
    fake.advance_global_clock(std::time::Duration::from_millis(1));
    ChannelId::new(3)
        .send_message(&http, CreateMessage::new().content("later"))
        .await
        .expect("a new second has room again");
}

#[tokio::test]
async fn sends_carry_discords_rate_limit_headers_and_its_429s_match_the_spec() {
    use crate::support::fake_discord::{RateLimitPlan, Scope};
    let fake = FakeDiscord::start().await;
    let client = reqwest::Client::new();
    let send = |channel: u64| {
        client
            .post(format!(
                "{}/api/v10/channels/{channel}/messages",
                fake.base_url()
            ))
            .header("content-type", "application/json")
            .body(r#"{"content":"x"}"#)
            .send()
    };
    let header = |response: &reqwest::Response, name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };

    let sent = send(3).await.unwrap();
    assert_eq!(sent.status(), 200);
    assert_eq!(header(&sent, "x-ratelimit-limit").as_deref(), Some("5"));
    assert_eq!(header(&sent, "x-ratelimit-remaining").as_deref(), Some("4"));
    for name in [
        "x-ratelimit-reset",
        "x-ratelimit-reset-after",
        "x-ratelimit-bucket",
    ] {
        assert!(header(&sent, name).is_some(), "{name}");
    }

    fake.rate_limit_sends(RateLimitPlan {
        every: 1,
        retry_after_secs: 0.3,
        scopes: vec![Scope::User, Scope::Global, Scope::Shared],
    });
    for (scope, global) in [("user", false), ("global", true), ("shared", false)] {
        let refused = send(4).await.unwrap();
        assert_eq!(refused.status(), 429);
        assert_eq!(
            header(&refused, "retry-after").as_deref(),
            Some("1"),
            "whole seconds"
        );
        assert_eq!(
            header(&refused, "x-ratelimit-scope").as_deref(),
            Some(scope)
        );
        assert_eq!(header(&refused, "x-ratelimit-global").is_some(), global);
        let bucket = header(&refused, "x-ratelimit-remaining");
        assert_eq!(bucket.as_deref(), (!global).then_some("0"), "{scope}");
        let body: serde_json::Value =
            serde_json::from_slice(&refused.bytes().await.unwrap()).unwrap();
        assert_eq!(body["global"], global);
        assert_eq!(body["retry_after"], 0.3);
        let problems = crate::support::spec::schema_violations("RatelimitedResponse", &body);
        assert!(problems.is_empty(), "{problems:?}");
    }
    assert_eq!(fake.rate_limits_served_in(4), 3);
    assert!(fake.messages_in(4).is_empty());
}

#[tokio::test]
async fn a_sixth_message_to_one_channel_within_five_seconds_is_refused_when_enforced() {
    let fake = FakeDiscord::start().await;
    fake.enforce_channel_limit();
    let http = http(&fake);
    for n in 0..5 {
        ChannelId::new(5)
            .send_message(&http, CreateMessage::new().content(format!("{n}")))
            .await
            .expect("five fit in the bucket");
    }
    assert_rate_limited(&http, 5, "sixth").await;
    assert_eq!(fake.messages_in(5).len(), 5);
}
