//! Validates request bodies the bot sends against Discord's OpenAPI spec
//! (`tests/fixtures/discord/openapi.json`), plus the documented limits the spec
//! does not encode (6000 characters per embed, 2000 of content, ...).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{Value, json};

static SPEC: OnceLock<Value> = OnceLock::new();
static VALIDATORS: OnceLock<Mutex<HashMap<String, Arc<jsonschema::Validator>>>> = OnceLock::new();

fn spec() -> &'static Value {
    SPEC.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/discord/openapi.json"
        );
        let text = std::fs::read_to_string(path).expect("the OpenAPI spec is in tests/fixtures");
        serde_json::from_str(&text).expect("the OpenAPI spec is JSON")
    })
}

/// The spec's path template for a request path (without `/api/v10`), preferring
/// the template with the most literal segments (`@original` over `{message_id}`).
pub fn path_template(path: &str) -> Option<String> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let paths = spec()["paths"].as_object()?;
    paths
        .keys()
        .filter_map(|template| {
            let parts: Vec<&str> = template.trim_matches('/').split('/').collect();
            if parts.len() != segments.len() {
                return None;
            }
            let mut literal = 0;
            for (part, segment) in parts.iter().zip(&segments) {
                if part.starts_with('{') {
                    continue;
                }
                if part != segment {
                    return None;
                }
                literal += 1;
            }
            Some((literal, template.clone()))
        })
        .max_by_key(|(literal, _)| *literal)
        .map(|(_, template)| template)
}

/// The schema a body must match: for interaction callbacks, the one for its
/// `type` (precise errors); otherwise the operation's JSON request body.
fn schema_key(method: &str, template: &str, body: &Value) -> Option<(String, Value)> {
    if template.ends_with("/callback") {
        let name = match body["type"].as_u64() {
            Some(4 | 5) => "CreateMessageInteractionCallbackRequest",
            Some(6 | 7) => "UpdateMessageInteractionCallbackRequest",
            Some(9) => "ModalInteractionCallbackRequest",
            Some(8) => "ApplicationCommandAutocompleteCallbackRequest",
            _ => "",
        };
        if spec()["components"]["schemas"].get(name).is_some() {
            return Some((
                name.to_owned(),
                json!({ "$ref": format!("#/components/schemas/{name}") }),
            ));
        }
    }
    let operation = &spec()["paths"][template][method.to_lowercase()];
    let schema = operation
        .pointer("/requestBody/content/application~1json/schema")?
        .clone();
    Some((format!("{method} {template}"), schema))
}

fn validator(key: &str, schema: &Value) -> Arc<jsonschema::Validator> {
    let cache = VALIDATORS.get_or_init(Default::default);
    if let Some(validator) = cache.lock().unwrap().get(key) {
        return validator.clone();
    }
    let document = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": spec()["components"],
        "allOf": [schema],
    });
    let validator = Arc::new(
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .build(&document)
            .unwrap_or_else(|error| panic!("schema for {key} compiles: {error}")),
    );
    cache
        .lock()
        .unwrap()
        .insert(key.to_owned(), validator.clone());
    validator
}

/// Every problem with one request body: spec violations and limit violations.
pub fn violations(method: &str, path: &str, body: &Value) -> Vec<String> {
    let path = path.strip_prefix("/api/v10").unwrap_or(path);
    let Some(template) = path_template(path) else {
        return vec![format!("{method} {path} is not in Discord's API")];
    };
    let mut problems = Vec::new();
    if let Some((key, schema)) = schema_key(method, &template, body) {
        let validator = validator(&key, &schema);
        let body = &docs_over_spec(body);
        problems.extend(
            validator
                .iter_errors(body)
                .map(|error| format!("{key}: {} at {}", error, error.instance_path)),
        );
    }
    problems.extend(limit_violations(body));
    problems
}

/// Problems with `value` as the spec's `components/schemas/{name}` (for the
/// fake's own answers, e.g. `RatelimitedResponse`).
pub fn schema_violations(name: &str, value: &Value) -> Vec<String> {
    assert!(
        spec()["components"]["schemas"].get(name).is_some(),
        "no schema {name} in the spec"
    );
    let schema = json!({ "$ref": format!("#/components/schemas/{name}") });
    validator(name, &schema)
        .iter_errors(value)
        .map(|error| format!("{name}: {} at {}", error, error.instance_path))
        .collect()
}

/// Where Discord's docs and its spec disagree, the docs win. The spec types
/// `default_member_permissions` as an integer; the docs (and Discord) take the
/// permission bit set as a string of digits, which is what serenity sends.
/// The spec types an uploaded attachment's `id` as a snowflake string; the
/// docs' "Uploading Files" example gives the placeholder as an integer
/// (`"id": 0`, the index of `files[0]`), which is what serenity sends.
fn docs_over_spec(body: &Value) -> Value {
    let mut body = body.clone();
    for pointer in ["/attachments", "/data/attachments"] {
        let Some(attachments) = body.pointer_mut(pointer).and_then(Value::as_array_mut) else {
            continue;
        };
        for attachment in attachments {
            if let Some(index) = attachment.get("id").and_then(Value::as_u64) {
                attachment["id"] = Value::from(index.to_string());
            }
        }
    }
    let commands: Vec<&mut Value> = match &mut body {
        Value::Array(commands) => commands.iter_mut().collect(),
        object => vec![object],
    };
    for command in commands {
        if let Some(bits) = command
            .get("default_member_permissions")
            .and_then(Value::as_str)
            && let Ok(bits) = bits.parse::<u64>()
        {
            command["default_member_permissions"] = Value::from(bits);
        }
    }
    body
}

fn chars(value: &Value) -> usize {
    value.as_str().map_or(0, |text| text.chars().count())
}

/// Limits from Discord's docs that the spec does not encode.
pub fn limit_violations(body: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let message = body
        .get("data")
        .filter(|_| body.get("type").is_some())
        .unwrap_or(body);
    let limit = |problems: &mut Vec<String>, what: &str, value: &Value, max: usize| {
        let count = chars(value);
        if count > max {
            problems.push(format!("{what} has {count} characters (max {max})"));
        }
    };
    limit(&mut problems, "content", &message["content"], 2000);
    limit(&mut problems, "modal title", &message["title"], 45);
    let embeds = message["embeds"].as_array().cloned().unwrap_or_default();
    for embed in &embeds {
        limit(&mut problems, "embed title", &embed["title"], 256);
        limit(
            &mut problems,
            "embed description",
            &embed["description"],
            4096,
        );
        limit(
            &mut problems,
            "embed footer",
            &embed["footer"]["text"],
            2048,
        );
        limit(&mut problems, "embed author", &embed["author"]["name"], 256);
        let fields = embed["fields"].as_array().cloned().unwrap_or_default();
        for field in &fields {
            limit(&mut problems, "field name", &field["name"], 256);
            limit(&mut problems, "field value", &field["value"], 1024);
        }
        let total = chars(&embed["title"])
            + chars(&embed["description"])
            + chars(&embed["footer"]["text"])
            + chars(&embed["author"]["name"])
            + fields
                .iter()
                .map(|f| chars(&f["name"]) + chars(&f["value"]))
                .sum::<usize>();
        limit(
            &mut problems,
            "embed total",
            &Value::String("x".repeat(total)),
            6000,
        );
        if fields.len() > 25 {
            problems.push(format!("{} embed fields (max 25)", fields.len()));
        }
    }
    if embeds.len() > 10 {
        problems.push(format!("{} embeds (max 10)", embeds.len()));
    }
    let rows = message["components"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if rows.len() > 5 {
        problems.push(format!("{} action rows (max 5)", rows.len()));
    }
    for row in &rows {
        let children = row["components"].as_array().cloned().unwrap_or_default();
        if children.iter().filter(|c| c["type"] == 2).count() > 5 {
            problems.push("more than 5 buttons in a row".to_owned());
        }
        for child in &children {
            limit(&mut problems, "custom_id", &child["custom_id"], 100);
            limit(&mut problems, "button label", &child["label"], 80);
            limit(&mut problems, "text input label", &child["label"], 45);
            limit(&mut problems, "text input value", &child["value"], 4000);
            if child["max_length"].as_u64().is_some_and(|max| max > 4000) {
                problems.push("text input max_length above 4000".to_owned());
            }
            if child["options"]
                .as_array()
                .is_some_and(|options| options.len() > 25)
            {
                problems.push("more than 25 select options".to_owned());
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(embed: Value) -> Value {
        json!({ "content": "hi", "embeds": [embed], "allowed_mentions": { "parse": [] } })
    }

    const MESSAGES: &str = "/api/v10/channels/1/messages";

    #[test]
    fn a_valid_message_passes() {
        assert_eq!(
            violations("POST", MESSAGES, &message(json!({ "title": "ok" }))),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_257_character_title_fails() {
        let problems = violations(
            "POST",
            MESSAGES,
            &message(json!({ "title": "x".repeat(257) })),
        );
        assert!(!problems.is_empty());
    }

    #[test]
    fn an_embed_over_6000_characters_in_total_fails() {
        let fields: Vec<Value> = (0..7)
            .map(|i| json!({ "name": format!("f{i}"), "value": "v".repeat(1000) }))
            .collect();
        let problems = violations(
            "POST",
            MESSAGES,
            &message(json!({ "title": "t", "fields": fields })),
        );
        assert!(
            problems.iter().any(|p| p.contains("embed total")),
            "{problems:?}"
        );
    }

    #[test]
    fn a_101_character_custom_id_fails() {
        let body = json!({ "content": "x", "components": [{ "type": 1, "components": [
            { "type": 2, "style": 1, "label": "go", "custom_id": "c".repeat(101) } ] }] });
        assert!(!violations("POST", MESSAGES, &body).is_empty());
    }

    #[test]
    fn a_wrongly_typed_value_fails() {
        let body = json!({ "content": 5 });
        assert!(!violations("POST", MESSAGES, &body).is_empty());
    }

    #[test]
    fn interaction_callbacks_are_checked_against_the_schema_of_their_type() {
        let path = "/api/v10/interactions/1/tok/callback";
        let ok = json!({ "type": 4, "data": { "content": "hi", "flags": 64 } });
        assert_eq!(violations("POST", path, &ok), Vec::<String>::new());
        let bad = json!({ "type": 4, "data": { "embeds": [{ "title": "x".repeat(300) }] } });
        assert!(!violations("POST", path, &bad).is_empty());
    }
}
