//! A broadcast as the developer composes it: its category and the modal's
//! fields, validated on the server (modal limits can be forged), and the exact
//! embed every server receives.

use serenity::all::{CreateEmbed, CreateEmbedFooter};

pub use super::category::Category;
use crate::error::UserError;
use crate::store::broadcasts::MessageFields;
use crate::ui::broadcast::companion_chars;
use crate::ui::limits::{EMBED_TOTAL_CHARS, embed_total_chars};
use crate::validate::parse_color;

pub const MAX_TITLE_CHARS: usize = 256;
pub const MAX_CONTENT_CHARS: usize = 4000;
pub const MAX_FOOTER_CHARS: usize = 2048;
pub const MAX_IMAGE_URL_CHARS: usize = 2048;

/// The modal's raw text, as submitted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DraftInput {
    pub title: String,
    pub content: String,
    pub color: String,
    pub image_url: String,
    pub footer: String,
}

/// A validated broadcast message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub category: Category,
    pub title: String,
    pub content: Option<String>,
    /// `None`: the category's color.
    pub color: Option<u32>,
    pub image_url: Option<String>,
    pub footer: Option<String>,
}

fn optional(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

fn too_long(what: &str, count: usize, max: usize) -> UserError {
    UserError::new(format!(
        "The {what} has {count} characters; the most is {max}. Nothing was saved."
    ))
}

impl Draft {
    /// Checks every field; the first problem is the error, and nothing is saved.
    pub fn validate(category: Category, input: &DraftInput) -> Result<Self, UserError> {
        let title = input.title.trim().to_owned();
        if title.is_empty() {
            return Err(UserError::new("The title is required. Nothing was saved."));
        }
        let title_chars = title.chars().count();
        if title_chars > MAX_TITLE_CHARS {
            return Err(too_long("title", title_chars, MAX_TITLE_CHARS));
        }
        let content = optional(&input.content);
        if let Some(count) = content.as_ref().map(|c| c.chars().count())
            && count > MAX_CONTENT_CHARS
        {
            return Err(too_long("content", count, MAX_CONTENT_CHARS));
        }
        let color = optional(&input.color)
            .map(|raw| parse_color(&raw))
            .transpose()?;
        let image_url = optional(&input.image_url)
            .map(|url| validate_image_url(&url))
            .transpose()?;
        let footer = optional(&input.footer);
        if let Some(count) = footer.as_ref().map(|f| f.chars().count())
            && count > MAX_FOOTER_CHARS
        {
            return Err(too_long("footer", count, MAX_FOOTER_CHARS));
        }
        let draft = Self {
            category,
            title,
            content,
            color,
            image_url,
            footer,
        };
        draft.check_message_size()?;
        Ok(draft)
    }

    /// Discord allows 6000 characters across all the embeds of one message,
    /// and the broadcast travels with the panel's own embed in the preview and
    /// the progress message: refuse it now, with the numbers, rather than
    /// have the preview fail.
    fn check_message_size(&self) -> Result<(), UserError> {
        let own = embed_total_chars(&serde_json::to_value(self.embed()).unwrap_or_default());
        let companion = companion_chars();
        if own + companion <= EMBED_TOTAL_CHARS {
            return Ok(());
        }
        Err(UserError::new(format!(
            "This broadcast has {own} characters (title, content, footer and its label), and the \
             preview and progress messages add up to {companion} more: Discord allows \
             {EMBED_TOTAL_CHARS} per message. Shorten it by {} characters. Nothing was saved.",
            own + companion - EMBED_TOTAL_CHARS
        )))
    }

    /// The modal's fields for this draft (the Edit button refills the modal).
    pub fn to_input(&self) -> DraftInput {
        DraftInput {
            title: self.title.clone(),
            content: self.content.clone().unwrap_or_default(),
            color: self.color.map(|c| format!("#{c:06X}")).unwrap_or_default(),
            image_url: self.image_url.clone().unwrap_or_default(),
            footer: self.footer.clone().unwrap_or_default(),
        }
    }

    /// The stored form of this draft.
    pub fn to_fields(&self) -> MessageFields {
        MessageFields {
            category: self.category.as_str().to_owned(),
            title: self.title.clone(),
            content: self.content.clone(),
            color: self.color.map(|c| c as i32),
            image_url: self.image_url.clone(),
            footer: self.footer.clone(),
        }
    }

    /// The embed every server receives (the preview shows exactly this).
    pub fn embed(&self) -> CreateEmbed {
        let mut embed = CreateEmbed::new()
            .author(serenity::all::CreateEmbedAuthor::new(self.category.label()))
            .title(&self.title)
            .color(self.color.unwrap_or_else(|| self.category.default_color()));
        if let Some(content) = &self.content {
            embed = embed.description(content);
        }
        if let Some(url) = &self.image_url {
            embed = embed.image(url);
        }
        if let Some(footer) = &self.footer {
            embed = embed.footer(CreateEmbedFooter::new(footer));
        }
        embed
    }

    /// The same embed marked as a test in its footer (a test send goes to a
    /// channel the developer picks, never to a server's broadcast channel).
    pub fn test_embed(&self) -> CreateEmbed {
        let mark = "TEST, not a broadcast";
        let footer = match &self.footer {
            Some(footer) => {
                crate::ui::text::truncate(&format!("{mark} · {footer}"), MAX_FOOTER_CHARS)
            }
            None => mark.to_owned(),
        };
        self.embed().footer(CreateEmbedFooter::new(footer))
    }
}

/// A stored category this build does not know: the row was written by a newer
/// version or by hand. Refused rather than sent under a guessed category.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("broadcast has the category {0:?}, which this version does not know")]
pub struct UnknownCategory(pub String);

impl TryFrom<&MessageFields> for Draft {
    type Error = UnknownCategory;

    /// The stored message (it was validated when saved).
    fn try_from(fields: &MessageFields) -> Result<Self, Self::Error> {
        let category = Category::parse(&fields.category)
            .ok_or_else(|| UnknownCategory(fields.category.clone()))?;
        Ok(Self {
            category,
            title: fields.title.clone(),
            content: fields.content.clone(),
            color: fields.color.map(|c| c as u32),
            image_url: fields.image_url.clone(),
            footer: fields.footer.clone(),
        })
    }
}

/// An absolute http(s) URL with a host, no spaces, at most 2048 characters.
fn validate_image_url(url: &str) -> Result<String, UserError> {
    let refuse = || {
        UserError::new(format!(
            "`{}` is not an image URL: use an http:// or https:// address. Nothing was saved.",
            crate::ui::text::truncate(url, 60).replace('`', "'")
        ))
    };
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(refuse)?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || url.chars().any(char::is_whitespace) || url.len() > MAX_IMAGE_URL_CHARS {
        return Err(refuse());
    }
    Ok(url.to_owned())
}

/// The nonce of the message for (`broadcast`, `guild`): the same on every
/// attempt and in every process, so Discord's `enforce_nonce` turns a retry
/// after a crash into a no-op. Hex keeps it within Discord's 25 characters for
/// broadcast ids below 16^7 (268 million broadcasts).
pub fn nonce(broadcast_id: i64, guild_id: u64) -> String {
    format!("{broadcast_id:x}.{guild_id:x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::limits::embed_violations;
    use serenity::all::CreateEmbed;

    fn input(title: &str) -> DraftInput {
        DraftInput {
            title: title.into(),
            ..DraftInput::default()
        }
    }

    /// Title and content at their maxima, and the longest footer that
    /// still fits with them.
    fn longest_input() -> DraftInput {
        let base = DraftInput {
            title: "t".repeat(MAX_TITLE_CHARS),
            content: "c".repeat(MAX_CONTENT_CHARS),
            color: "#ff8800".into(),
            image_url: format!("https://example.com/{}.png", "i".repeat(2000)),
            footer: String::new(),
        };
        let used = Draft::validate(Category::Announcement, &base).unwrap();
        let used = embed_total_chars(&serde_json::to_value(used.embed()).unwrap());
        DraftInput {
            footer: "f".repeat(EMBED_TOTAL_CHARS - companion_chars() - used),
            ..base
        }
    }

    fn total(embeds: &[CreateEmbed]) -> usize {
        embeds
            .iter()
            .map(|embed| embed_total_chars(&serde_json::to_value(embed).unwrap()))
            .sum()
    }

    #[test]
    fn the_longest_broadcast_fits_every_message_that_carries_it() {
        let draft = Draft::validate(Category::Announcement, &longest_input()).unwrap();
        assert_eq!(draft.color, Some(0xFF8800));
        let embed = draft.embed();
        assert_eq!(
            embed_violations(&serde_json::to_value(&embed).unwrap()),
            Vec::<String>::new()
        );
        let most = i64::MAX / 4;
        let dry_run = crate::store::broadcasts::DryRun {
            targeted: most,
            no_channel: most,
            category_refused: most,
        };
        let counts = crate::store::broadcasts::Counts {
            targeted: most,
            pending: most,
            sent: most,
            skipped: most,
            failed: most,
            cancelled: most,
        };
        let at = Some(chrono::DateTime::<chrono::Utc>::MAX_UTC);
        let widest = crate::ui::audience::widest();
        let preview = crate::ui::broadcast::preview(&dry_run, "announcement", &widest, at);
        let pause = crate::ui::broadcast::invalid_request_pause(u32::MAX);
        let progress = crate::ui::broadcast::progress(most, &counts, false, Some(&pause));
        assert!(
            total(&[embed.clone(), preview]) <= EMBED_TOTAL_CHARS,
            "the preview"
        );
        assert!(
            total(&[embed.clone(), progress]) <= EMBED_TOTAL_CHARS,
            "the progress"
        );
        assert!(
            total(&[embed]) <= EMBED_TOTAL_CHARS,
            "the delivered message"
        );
        assert_eq!(
            Draft::validate(Category::Announcement, &draft.to_input()),
            Ok(draft)
        );
    }

    #[test]
    fn one_character_past_the_message_limit_is_refused_with_the_count_and_the_limit() {
        let mut input = longest_input();
        input.footer.push('f');
        let refused = Draft::validate(Category::Announcement, &input)
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains("Discord allows 6000 per message"),
            "{refused}"
        );
        assert!(refused.contains("Shorten it by 1 characters"), "{refused}");
    }

    #[test]
    fn every_field_at_its_own_maximum_is_accepted_and_one_past_is_refused() {
        let with = |title: usize, content: usize, footer: usize| DraftInput {
            title: "t".repeat(title),
            content: "c".repeat(content),
            footer: "f".repeat(footer),
            ..DraftInput::default()
        };
        for (input, what) in [
            (with(MAX_TITLE_CHARS, 0, 0), "title"),
            (with(1, MAX_CONTENT_CHARS, 0), "content"),
            (with(1, 0, MAX_FOOTER_CHARS), "footer"),
        ] {
            assert!(
                Draft::validate(Category::Changelog, &input).is_ok(),
                "{what} at its maximum"
            );
        }
        for (input, expected) in [
            (
                with(MAX_TITLE_CHARS + 1, 0, 0),
                "The title has 257 characters",
            ),
            (
                with(1, MAX_CONTENT_CHARS + 1, 0),
                "The content has 4001 characters",
            ),
            (
                with(1, 0, MAX_FOOTER_CHARS + 1),
                "The footer has 2049 characters",
            ),
        ] {
            let refused = Draft::validate(Category::Changelog, &input)
                .unwrap_err()
                .to_string();
            assert!(refused.contains(expected), "{refused}");
        }
    }

    #[test]
    fn every_bad_field_is_refused_with_what_was_wrong() {
        let refuse = |i: DraftInput| {
            Draft::validate(Category::Changelog, &i)
                .unwrap_err()
                .to_string()
        };
        assert!(refuse(input("  ")).contains("title is required"));
        assert!(refuse(input(&"t".repeat(257))).contains("257 characters; the most is 256"));
        assert!(
            refuse(DraftInput {
                content: "c".repeat(4001),
                ..input("t")
            })
            .contains("4001")
        );
        assert!(
            refuse(DraftInput {
                color: "blue".into(),
                ..input("t")
            })
            .contains("not a color")
        );
        for url in [
            "ftp://x/a.png",
            "javascript:alert(1)",
            "https://",
            "https://a b",
        ] {
            assert!(
                refuse(DraftInput {
                    image_url: url.into(),
                    ..input("t")
                })
                .contains("not an image URL"),
                "{url}"
            );
        }
    }

    #[test]
    fn nonces_are_stable_distinct_and_short_enough() {
        assert_eq!(nonce(1, 2), nonce(1, 2));
        assert_ne!(nonce(1, 23), nonce(12, 3));
        assert!(nonce(0xFF_FFFF, i64::MAX as u64).len() <= 25);
    }
}
