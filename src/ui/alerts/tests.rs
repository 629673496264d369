use chrono::{TimeDelta, TimeZone, Utc};

use super::*;
use crate::ui::limits::embed_violations;

fn json(embed: &CreateEmbed) -> serde_json::Value {
    serde_json::to_value(embed).expect("an embed serializes")
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

fn row(key: String, state: &str) -> AlertRow {
    AlertRow {
        key,
        state: state.to_owned(),
        title: "t".repeat(256),
        detail: "d".repeat(4000),
        first_seen_at: now() - TimeDelta::hours(2),
        resolved_at: (state == "resolved").then(now),
        notified: true,
        messages: 1,
    }
}

#[test]
fn the_longest_alert_stays_within_embed_limits() {
    for phase in [Phase::Firing, Phase::Resolved, Phase::Test] {
        let alert = AlertMessage {
            key: "k".repeat(100),
            title: "🔥".repeat(400),
            detail: "x".repeat(10_000),
            phase,
            since: now() - TimeDelta::minutes(12),
            now: now(),
        };
        let embed = json(&render_alert(&alert));
        assert_eq!(embed_violations(&embed), Vec::<String>::new(), "{phase:?}");
        let footer = embed["footer"]["text"].as_str().unwrap();
        assert!(footer.contains(&"k".repeat(100)), "the key is readable");
    }
}

#[test]
fn a_resolved_alert_says_how_long_it_lasted() {
    let alert = AlertMessage {
        key: "errors:command_error".into(),
        title: "50 command_error errors in 5m".into(),
        detail: "example".into(),
        phase: Phase::Resolved,
        since: now() - TimeDelta::minutes(12),
        now: now(),
    };
    let embed = json(&render_alert(&alert));
    assert!(
        embed["title"]
            .as_str()
            .unwrap()
            .starts_with("✅ Resolved: 50")
    );
    assert!(
        embed["description"]
            .as_str()
            .unwrap()
            .contains("Lasted 12m")
    );
    assert_eq!(embed["color"], GREEN);
}

#[test]
fn a_summary_of_thousands_of_keys_fits_and_counts_what_it_left_out() {
    let keys: Vec<String> = (0..1000).map(|i| format!("errors:type_{i:04}")).collect();
    let embed = json(&render_summary(5000, &keys, 30));
    assert_eq!(embed_violations(&embed), Vec::<String>::new());
    let description = embed["description"].as_str().unwrap();
    assert!(
        description.contains("5000 more were not sent"),
        "{description}"
    );
    assert!(description.contains("`errors:type_0000`"));
    assert!(description.contains("more"), "{description}");
    let repeated = vec!["health:memory".to_owned(); 3];
    let once = json(&render_summary(3, &repeated, 30));
    assert_eq!(
        once["description"]
            .as_str()
            .unwrap()
            .matches("health:memory")
            .count(),
        1,
        "a key is listed once"
    );
}

#[test]
fn the_fullest_overview_stays_within_embed_limits() {
    let mut alerts: Vec<AlertRow> = (0..200)
        .map(|i| row(format!("errors:{i:098}"), "active"))
        .collect();
    alerts.extend((0..200).map(|i| row(format!("servers:{i:097}"), "resolved")));
    let mutes = (0..100)
        .map(|i| MuteRow {
            key: format!("health:{i:094}"),
            until: now() + TimeDelta::days(1),
            muted_by: u64::MAX / 2,
        })
        .collect();
    let overview = AlertOverview {
        alerts,
        mutes,
        channel: Some(u64::MAX / 2),
        webhook: true,
        sent_this_hour: 30,
        suppressed_this_hour: 170,
        max_per_hour: 30,
        now: now(),
    };
    let embed = json(&render_overview(&overview));
    assert_eq!(embed_violations(&embed), Vec::<String>::new());
    let fields = embed["fields"].as_array().unwrap();
    assert_eq!(fields[0]["name"], "Active (200)");
    assert!(
        fields[3]["value"]
            .as_str()
            .unwrap()
            .contains("30 of 30 messages this hour, 170 suppressed")
    );
}

#[test]
fn an_empty_overview_is_green_and_says_none() {
    let overview = AlertOverview {
        alerts: vec![],
        mutes: vec![],
        channel: None,
        webhook: false,
        sent_this_hour: 0,
        suppressed_this_hour: 0,
        max_per_hour: 30,
        now: now(),
    };
    let embed = json(&render_overview(&overview));
    assert_eq!(embed["color"], GREEN);
    assert_eq!(embed["fields"][0]["value"], "none");
    assert!(
        embed["fields"][3]["value"]
            .as_str()
            .unwrap()
            .starts_with("channel: not set · webhook: not set")
    );
}
