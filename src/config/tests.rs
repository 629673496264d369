use super::*;
use std::collections::HashMap;

const TOKEN: &str = "MTIzNDU2Nzg5MDEyMzQ1Njc4.fake.token-for-tests";

fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Config::from_lookup(|name| map.get(name).cloned())
}

fn minimal() -> Vec<(&'static str, &'static str)> {
    vec![("DISCORD_TOKEN", TOKEN), ("DEVELOPER_USER_ID", "42")]
}

#[test]
fn minimal_config_uses_documented_defaults() {
    let config = config(&minimal()).expect("valid");
    assert_eq!(config.developer_user_id, UserId::new(42));
    assert_eq!(config.health_addr.to_string(), DEFAULT_HEALTH_ADDR);
    assert_eq!(config.sharding, Sharding::Recommended);
    assert_eq!(config.identify_reserve, DEFAULT_IDENTIFY_RESERVE);
    assert_eq!(config.invalid_request_budget, 2_500);
    assert!(config.admin_guild_ids.is_empty());
    assert!(config.database_url.is_none());
}

#[test]
fn retention_defaults_and_refuses_nonsense() {
    let defaults = config(&minimal()).expect("valid").retention;
    assert_eq!((defaults.log_days, defaults.stats_days), (30, 90));
    let mut vars = minimal();
    vars.push(("LOG_RETENTION_DAYS", "7"));
    vars.push(("STATS_RETENTION_DAYS", "365"));
    let set = config(&vars).expect("valid").retention;
    assert_eq!((set.log_days, set.stats_days), (7, 365));
    for bad in ["0", "-1", "30d", "99999"] {
        let mut vars = minimal();
        vars.push(("STATS_RETENTION_DAYS", bad));
        assert_eq!(config(&vars).unwrap_err().variable, "STATS_RETENTION_DAYS");
    }
}

#[test]
fn the_token_never_shows_in_debug_output() {
    let config = config(&minimal()).expect("valid");
    assert!(!format!("{config:?}").contains(TOKEN));
}

#[test]
fn missing_required_variables_are_named() {
    let error = config(&[("DEVELOPER_USER_ID", "42")]).unwrap_err();
    assert_eq!(error.variable, "DISCORD_TOKEN");
    let error = config(&[("DISCORD_TOKEN", TOKEN)]).unwrap_err();
    assert_eq!(error.variable, "DEVELOPER_USER_ID");
}

#[test]
fn malformed_values_are_named() {
    for (name, value) in [
        ("DEVELOPER_USER_ID", "abc"),
        ("ADMIN_GUILD_IDS", "1,x"),
        ("DISCORD_PROXY_URL", "ftp://x"),
        ("HEALTH_ADDR", "8080"),
        ("SHARD_COUNT", "0"),
        ("IDENTIFY_RESERVE", "1001"),
        ("IDENTIFY_RESERVE", "-1"),
        ("INVALID_REQUEST_BUDGET", "0"),
        ("INVALID_REQUEST_BUDGET", "10001"),
        ("DATABASE_URL", "mysql://x"),
        ("RUST_LOG", "info,[[["),
    ] {
        let mut vars = minimal();
        vars.push((name, value));
        assert_eq!(config(&vars).unwrap_err().variable, name, "{name}={value}");
    }
}

#[test]
fn shard_ranges_are_parsed_and_bounded() {
    let mut vars = minimal();
    vars.extend([("SHARD_COUNT", "8"), ("SHARD_IDS", "4-7")]);
    assert_eq!(
        config(&vars).unwrap().sharding,
        Sharding::Range {
            ids: 4..=7,
            count: 8
        }
    );
    vars.push(("SHARD_IDS", "6-8"));
    let vars: Vec<_> = vars
        .into_iter()
        .filter(|(k, v)| *k != "SHARD_IDS" || *v == "6-8")
        .collect();
    assert_eq!(config(&vars).unwrap_err().variable, "SHARD_IDS");
    let mut vars = minimal();
    vars.push(("SHARD_IDS", "0-1"));
    assert_eq!(config(&vars).unwrap_err().variable, "SHARD_IDS");
}

#[test]
fn a_single_shard_id_is_that_shard_alone_and_the_last_id_is_count_minus_one() {
    let with = |ids: &str| {
        let mut vars = minimal();
        vars.extend([("SHARD_COUNT", "3"), ("SHARD_IDS", ids)]);
        config(&vars).map(|config| config.sharding)
    };
    assert_eq!(
        with("2").unwrap(),
        Sharding::Range {
            ids: 2..=2,
            count: 3
        }
    );
    assert_eq!(
        with("0-2").unwrap(),
        Sharding::Range {
            ids: 0..=2,
            count: 3
        }
    );
    for past_the_end in ["3", "2-3", "0-3"] {
        let error = with(past_the_end).unwrap_err();
        assert_eq!(error.variable, "SHARD_IDS", "{past_the_end}");
        assert!(error.to_string().contains("0 to 2"), "{error}");
    }
    assert_eq!(with("2-1").unwrap_err().variable, "SHARD_IDS");
}

#[test]
fn admin_guild_ids_accept_spaces_and_trailing_commas() {
    let mut vars = minimal();
    vars.push(("ADMIN_GUILD_IDS", " 1, 2 ,"));
    assert_eq!(
        config(&vars).unwrap().admin_guild_ids,
        vec![GuildId::new(1), GuildId::new(2)]
    );
}

#[test]
fn debug_and_errors_show_no_secret() {
    let mut vars = minimal();
    vars.extend([
        (
            "DATABASE_URL",
            "postgres://bot:db-secret-1234@db.internal/bot?password=db-secret-5678",
        ),
        (
            "DISCORD_PROXY_URL",
            "http://bot:proxy-secret-1234@proxy.internal:3000",
        ),
        (
            "ALERT_WEBHOOK_URL",
            "https://discord.com/api/webhooks/123456789012345678/webhook-secret-1234-abcdef",
        ),
    ]);
    let shown = format!("{:?}", config(&vars).unwrap());
    for secret in [
        TOKEN,
        "db-secret-1234",
        "db-secret-5678",
        "proxy-secret-1234",
        "webhook-secret-1234-abcdef",
    ] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    assert!(
        shown.contains("db.internal") && shown.contains("proxy.internal:3000"),
        "{shown}"
    );
    // A malformed value is named, never echoed.
    for (name, value) in [
        (
            "DISCORD_PROXY_URL",
            "ftp://bot:proxy-secret-1234@proxy.internal",
        ),
        (
            "DISCORD_PROXY_URL",
            "http//bot:proxy-secret-1234@proxy.internal",
        ),
        ("DATABASE_URL", "mysql://bot:db-secret-1234@db.internal/bot"),
        (
            "ALERT_WEBHOOK_URL",
            "https://example.com/hooks/webhook-secret-1234-abcdef",
        ),
    ] {
        let mut vars = minimal();
        vars.push((name, value));
        let error = config(&vars).unwrap_err().to_string();
        assert!(error.starts_with(name), "{error}");
        assert!(!error.contains("secret-1234"), "{error}");
    }
}
