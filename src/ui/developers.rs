//! `/admin developers list`: the primary developer and everyone in the table.

use serenity::all::{CreateEmbed, CreateEmbedFooter};

use super::INFO_COLOR;
use super::limits::EMBED_DESCRIPTION_CHARS;
use super::text::{discord_time, fit_lines};
use crate::store::developers::DeveloperRow;

pub fn render_list(primary: u64, developers: &[DeveloperRow]) -> CreateEmbed {
    let mut lines = vec![format!(
        "<@{primary}> `{primary}`: **primary** (DEVELOPER_USER_ID, cannot be removed)"
    )];
    lines.extend(developers.iter().map(|developer| {
        format!(
            "<@{}> `{}`: added by <@{}> {}",
            developer.user_id,
            developer.user_id,
            developer.added_by,
            discord_time(developer.added_at, 'R')
        )
    }));
    CreateEmbed::new()
        .title(format!("Developers ({})", developers.len() + 1))
        .color(INFO_COLOR)
        .description(fit_lines(&lines, EMBED_DESCRIPTION_CHARS))
        .footer(CreateEmbedFooter::new(
            "Developers can use /admin. Server administrators cannot.",
        ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::limits::embed_violations;

    #[test]
    fn the_primary_comes_first_and_a_long_list_fits() {
        let rows: Vec<DeveloperRow> = (1..=500)
            .map(|i| DeveloperRow {
                user_id: i,
                added_by: 1,
                added_at: chrono::Utc::now(),
            })
            .collect();
        let json = serde_json::to_value(render_list(42, &rows)).unwrap();
        assert!(
            json["description"]
                .as_str()
                .unwrap()
                .starts_with("<@42> `42`: **primary**")
        );
        assert_eq!(embed_violations(&json), Vec::<String>::new());
    }
}
