//! How an audience reads in the preview, the report and the history.

use super::text::thousands;
use crate::store::broadcasts::Audience;

/// "every server", or the filters joined: "language pt-BR · module welcome
/// enabled · at least 1,000 members · 3 chosen servers".
pub fn describe(audience: &Audience) -> String {
    let mut parts = Vec::new();
    if let Some(language) = &audience.audience_language {
        parts.push(format!("language {language}"));
    }
    if let Some(module) = &audience.audience_module {
        parts.push(format!("module {module} enabled"));
    }
    if let Some(members) = audience.audience_min_members {
        parts.push(format!(
            "at least {} members",
            thousands(i64::from(members))
        ));
    }
    match audience.audience_guild_ids.len() {
        0 => {}
        1 => parts.push(format!("only server {}", audience.audience_guild_ids[0])),
        n => parts.push(format!("{n} chosen servers")),
    }
    if parts.is_empty() {
        "every server".to_owned()
    } else {
        parts.join(" · ")
    }
}

/// The longest description an audience can have (for the 6,000-character
/// budget of the preview message).
pub fn widest() -> Audience {
    Audience {
        audience_language: Some("pt-BR".into()),
        audience_module: Some("m".repeat(32)),
        audience_min_members: Some(i32::MAX),
        audience_guild_ids: vec![u64::MAX; 25],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_audience_is_every_server() {
        assert_eq!(describe(&Audience::default()), "every server");
    }

    #[test]
    fn filters_are_listed_in_order() {
        let audience = Audience {
            audience_language: Some("de".into()),
            audience_min_members: Some(1_000),
            audience_guild_ids: vec![1, 2, 3],
            ..Default::default()
        };
        assert_eq!(
            describe(&audience),
            "language de · at least 1,000 members · 3 chosen servers"
        );
    }
}
