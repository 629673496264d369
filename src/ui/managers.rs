//! `/settings managers list`: a server's managers, who added them and when.

use serenity::all::{CreateEmbed, CreateEmbedFooter};

use super::INFO_COLOR;
use super::limits::EMBED_DESCRIPTION_CHARS;
use super::text::{discord_time, fit_lines};
use crate::store::managers::ManagerRow;

/// One manager as a line: mention, who added them, when.
pub fn manager_line(row: &ManagerRow) -> String {
    let by = row
        .added_by
        .map_or_else(|| "unknown".to_owned(), |id| format!("<@{id}>"));
    format!(
        "<@{}> ({}), added by {by} {}",
        row.user_id,
        row.role,
        discord_time(row.added_at, 'R')
    )
}

/// The list of `rows` out of at most `max` managers.
pub fn render_list(rows: &[ManagerRow], max: i64) -> CreateEmbed {
    let lines: Vec<String> = rows.iter().map(manager_line).collect();
    let description = if lines.is_empty() {
        "No managers yet. Members with Manage Server add one with `/settings managers add`."
            .to_owned()
    } else {
        fit_lines(&lines, EMBED_DESCRIPTION_CHARS)
    };
    CreateEmbed::new()
        .title(format!("Managers: {} of at most {max}", rows.len()))
        .color(INFO_COLOR)
        .description(description)
        .footer(CreateEmbedFooter::new(
            "Managers may change this server's /settings without Manage Server; \
             only members with Manage Server add or remove them.",
        ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::limits::embed_violations;
    use chrono::Utc;

    fn row(user_id: u64, added_by: Option<u64>) -> ManagerRow {
        ManagerRow {
            user_id,
            role: "editor".into(),
            added_by,
            added_at: Utc::now(),
        }
    }

    #[test]
    fn a_full_list_of_managers_fits_discords_limits() {
        let rows: Vec<ManagerRow> = (0..25)
            .map(|i| row(u64::MAX / 2 - i, Some(u64::MAX / 2)))
            .collect();
        let json = serde_json::to_value(render_list(&rows, 25)).unwrap();
        assert_eq!(embed_violations(&json), Vec::<String>::new());
        let text = json["description"].as_str().unwrap();
        assert_eq!(text.lines().count(), 25);
        assert!(text.starts_with(&format!("<@{}> (editor), added by <@", u64::MAX / 2)));
        assert_eq!(json["title"], "Managers: 25 of at most 25");
    }

    #[test]
    fn an_empty_list_says_how_to_add_one() {
        let json = serde_json::to_value(render_list(&[], 25)).unwrap();
        assert!(
            json["description"]
                .as_str()
                .unwrap()
                .contains("/settings managers add")
        );
        assert!(manager_line(&row(5, None)).contains("added by unknown"));
    }
}
