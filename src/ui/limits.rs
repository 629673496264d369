//! Discord's documented message limits (the OpenAPI spec lacks some of them).

pub const EMBED_TOTAL_CHARS: usize = 6000;
pub const EMBED_TITLE_CHARS: usize = 256;
pub const EMBED_DESCRIPTION_CHARS: usize = 4096;
pub const EMBED_FIELDS: usize = 25;
pub const EMBED_FIELD_NAME_CHARS: usize = 256;
pub const EMBED_FIELD_VALUE_CHARS: usize = 1024;
pub const EMBED_FOOTER_CHARS: usize = 2048;
pub const EMBED_AUTHOR_CHARS: usize = 256;
pub const MESSAGE_CONTENT_CHARS: usize = 2000;
pub const ACTION_ROWS: usize = 5;
pub const BUTTONS_PER_ROW: usize = 5;
pub const CUSTOM_ID_CHARS: usize = 100;
pub const MODAL_TITLE_CHARS: usize = 45;
pub const TEXT_INPUT_CHARS: usize = 4000;

/// Characters Discord counts towards an embed's 6000 total: title, description,
/// field names and values, footer text and author name. Works on the JSON a
/// builder serializes to, so it checks exactly what is sent.
pub fn embed_total_chars(embed: &serde_json::Value) -> usize {
    let len = |value: Option<&serde_json::Value>| {
        value
            .and_then(serde_json::Value::as_str)
            .map_or(0, |text| text.chars().count())
    };
    let fields: usize = embed["fields"].as_array().map_or(0, |fields| {
        fields
            .iter()
            .map(|field| len(field.get("name")) + len(field.get("value")))
            .sum()
    });
    len(embed.get("title"))
        + len(embed.get("description"))
        + fields
        + len(embed.pointer("/footer/text"))
        + len(embed.pointer("/author/name"))
}

/// Every limit violation in one serialized embed (empty when it is valid).
pub fn embed_violations(embed: &serde_json::Value) -> Vec<String> {
    let mut problems = Vec::new();
    let mut check = |what: &str, value: Option<&serde_json::Value>, max: usize| {
        if let Some(text) = value.and_then(serde_json::Value::as_str) {
            let chars = text.chars().count();
            if chars > max {
                problems.push(format!("{what} has {chars} characters (max {max})"));
            }
        }
    };
    check("title", embed.get("title"), EMBED_TITLE_CHARS);
    check(
        "description",
        embed.get("description"),
        EMBED_DESCRIPTION_CHARS,
    );
    check("footer", embed.pointer("/footer/text"), EMBED_FOOTER_CHARS);
    check("author", embed.pointer("/author/name"), EMBED_AUTHOR_CHARS);
    let fields = embed["fields"].as_array().cloned().unwrap_or_default();
    for field in &fields {
        check("field name", field.get("name"), EMBED_FIELD_NAME_CHARS);
        check("field value", field.get("value"), EMBED_FIELD_VALUE_CHARS);
    }
    if fields.len() > EMBED_FIELDS {
        problems.push(format!("{} fields (max {EMBED_FIELDS})", fields.len()));
    }
    let total = embed_total_chars(embed);
    if total > EMBED_TOTAL_CHARS {
        problems.push(format!(
            "{total} characters in total (max {EMBED_TOTAL_CHARS})"
        ));
    }
    problems
}
