//! `/admin blocklist list`: ten entries a page, newest first, each with what
//! is blocked, why, who added it and when.

use serenity::all::{CreateEmbed, CreateEmbedFooter};

use super::INFO_COLOR;
use super::limits::EMBED_DESCRIPTION_CHARS;
use super::text::{bold_name, discord_time, fit_lines, thousands, truncate};
use crate::store::blocklist::{BlockEntry, BlockKind};

/// Reasons are cut to this in the list, so ten entries always fit an embed.
const REASON_CHARS: usize = 300;

/// One page of the blocklist.
pub fn render_page(entries: &[BlockEntry], total: i64, page: usize, pages: usize) -> CreateEmbed {
    let lines: Vec<String> = entries.iter().map(line).collect();
    let description = if lines.is_empty() {
        "Nobody is blocked. `/admin blocklist add` blocks a server or a user.".to_owned()
    } else {
        fit_lines(&lines, EMBED_DESCRIPTION_CHARS)
    };
    CreateEmbed::new()
        .title(format!("Blocklist: {} entries", thousands(total)))
        .color(INFO_COLOR)
        .description(description)
        .footer(CreateEmbedFooter::new(format!(
            "Blocked servers are left whenever they add the bot; blocked users are refused. Page {} of {pages}",
            page + 1
        )))
}

fn line(entry: &BlockEntry) -> String {
    let what = match (entry.kind, &entry.name) {
        (BlockKind::User, _) => format!("user <@{}> `{}`", entry.id, entry.id),
        (BlockKind::Server, Some(name)) => format!("server {} `{}`", bold_name(name, 60), entry.id),
        (BlockKind::Server, None) => format!("server `{}`", entry.id),
    };
    format!(
        "{what}: {}\n-# added by <@{}> {}",
        truncate(&entry.reason, REASON_CHARS).replace('\n', " "),
        entry.added_by,
        discord_time(entry.added_at, 'R')
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::limits::embed_violations;
    use chrono::Utc;

    #[test]
    fn a_full_page_of_the_longest_entries_fits_discords_limits() {
        let entries: Vec<BlockEntry> = (0..10)
            .map(|i| BlockEntry {
                kind: if i % 2 == 0 {
                    BlockKind::Server
                } else {
                    BlockKind::User
                },
                id: u64::MAX / 2 - i,
                name: Some("n".repeat(100)),
                reason: "r".repeat(500),
                added_by: u64::MAX / 2,
                added_at: Utc::now(),
            })
            .collect();
        let json = serde_json::to_value(render_page(&entries, 100_000, 0, 10_000)).unwrap();
        assert_eq!(embed_violations(&json), Vec::<String>::new());
        assert!(json["description"].as_str().unwrap().contains("user <@"));
    }

    #[test]
    fn an_empty_list_says_how_to_add() {
        let json = serde_json::to_value(render_page(&[], 0, 0, 1)).unwrap();
        assert!(
            json["description"]
                .as_str()
                .unwrap()
                .contains("/admin blocklist add")
        );
    }
}
