//! Pure validation of what users type, shared by `/settings` and broadcasts.
//! Discord enforces option types and choices only in its client: a forged
//! interaction can carry anything, so the server re-checks here.

use crate::error::UserError;

/// Languages the bot supports, offered as choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poise::ChoiceParameter)]
pub enum Language {
    #[name = "en"]
    En,
    #[name = "de"]
    De,
    #[name = "fr"]
    Fr,
    #[name = "es"]
    Es,
    #[name = "pt-BR"]
    PtBr,
    #[name = "ja"]
    Ja,
}

/// `#5865F2` or `5865F2` (case-insensitive) as a 24-bit color.
pub fn parse_color(raw: &str) -> Result<u32, UserError> {
    let hex = raw.trim().trim_start_matches('#');
    if hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return u32::from_str_radix(hex, 16).map_err(|_| color_error(raw));
    }
    Err(color_error(raw))
}

fn color_error(raw: &str) -> UserError {
    UserError::new(format!(
        "`{}` is not a color: use six hex digits such as #5865F2 or 5865F2.",
        crate::ui::text::truncate(raw, 20).replace('`', "'")
    ))
}

/// A module the host bot declared, or an error listing the known ones.
pub fn known_module<'a>(declared: &'a [String], raw: &str) -> Result<&'a str, UserError> {
    let wanted = raw.trim().to_lowercase();
    declared
        .iter()
        .find(|module| **module == wanted)
        .map(String::as_str)
        .ok_or_else(|| {
            UserError::new(format!(
                "There is no module `{}`. Modules: {}.",
                crate::ui::text::truncate(raw, 32).replace('`', "'"),
                declared.join(", ")
            ))
        })
}

/// The longest message a module may be given (`/settings module ... message:`).
pub const MAX_MODULE_MESSAGE_CHARS: usize = 1000;

/// A module's message as typed: trimmed, not empty, at most
/// [`MAX_MODULE_MESSAGE_CHARS`], with `@everyone` and `@here` defused (see
/// [`defuse_mass_mentions`]), so the stored text cannot ping a whole server
/// whoever sends it and however they set their allowed mentions.
pub fn module_message(raw: &str) -> Result<String, UserError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(UserError::new("The message is empty. Nothing was changed."));
    }
    let chars = text.chars().count();
    if chars > MAX_MODULE_MESSAGE_CHARS {
        return Err(UserError::new(format!(
            "The message has {chars} characters; at most {MAX_MODULE_MESSAGE_CHARS} are allowed. Nothing was changed."
        )));
    }
    Ok(defuse_mass_mentions(text))
}

/// `@everyone` and `@here` (any case) with a zero-width space after the `@`:
/// they read the same and never ping.
pub fn defuse_mass_mentions(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('@') {
        out.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let lower = rest.get(..8).unwrap_or(rest).to_ascii_lowercase();
        if lower.starts_with("everyone") || lower.starts_with("here") {
            out.push('\u{200B}');
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_messages_are_bounded_and_never_ping_everyone() {
        assert_eq!(
            module_message("  Hi {user}!  "),
            Ok("Hi {user}!".to_owned())
        );
        assert!(module_message("   ").is_err());
        assert!(module_message(&"x".repeat(MAX_MODULE_MESSAGE_CHARS)).is_ok());
        let long = module_message(&"é".repeat(MAX_MODULE_MESSAGE_CHARS + 1)).unwrap_err();
        assert!(long.0.contains("1001 characters"), "{long}");
        let defused = module_message("@everyone @Here @@here mail@example.com").unwrap();
        assert_eq!(
            defused,
            "@\u{200B}everyone @\u{200B}Here @@\u{200B}here mail@example.com"
        );
        assert!(!defused.contains("@everyone") && !defused.to_lowercase().contains("@here"));
    }

    #[test]
    fn colors_take_six_hex_digits_with_or_without_a_hash() {
        assert_eq!(parse_color("#5865F2"), Ok(0x5865F2));
        assert_eq!(parse_color("5865f2"), Ok(0x5865F2));
        for bad in ["", "#FFF", "blue", "#GGGGGG", "1234567", "#-12345"] {
            assert!(parse_color(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_declared_modules_are_accepted() {
        let declared = vec!["welcome".to_owned(), "levels".to_owned()];
        assert_eq!(known_module(&declared, "Welcome"), Ok("welcome"));
        let error = known_module(&declared, "music").unwrap_err();
        assert!(error.0.contains("welcome, levels"), "{error}");
    }
}
