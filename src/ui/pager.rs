//! The pager's controls: first / previous / "page x of y" / next / last, plus a
//! select menu to open one of the page's items. Custom ids carry a prefix bound
//! to the invoking interaction, so presses on another pager never match.

use serenity::all::{
    ButtonStyle, CreateActionRow, CreateButton, CreateSelectMenu, CreateSelectMenuKind,
    CreateSelectMenuOption,
};

use super::text::truncate;

/// A pager button or the select menu.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    First,
    Previous,
    Next,
    Last,
    Open,
}

impl Control {
    fn suffix(self) -> &'static str {
        match self {
            Self::First => "first",
            Self::Previous => "prev",
            Self::Next => "next",
            Self::Last => "last",
            Self::Open => "open",
        }
    }

    pub fn custom_id(self, prefix: &str) -> String {
        format!("{prefix}:{}", self.suffix())
    }

    /// The control a custom id names, if it belongs to this pager.
    pub fn parse(prefix: &str, custom_id: &str) -> Option<Self> {
        let suffix = custom_id.strip_prefix(prefix)?.strip_prefix(':')?;
        [
            Self::First,
            Self::Previous,
            Self::Next,
            Self::Last,
            Self::Open,
        ]
        .into_iter()
        .find(|control| control.suffix() == suffix)
    }
}

/// The custom-id prefix for a pager opened by interaction `interaction_id`.
pub fn prefix(interaction_id: u64) -> String {
    format!("pg{interaction_id}")
}

/// An item of the page that the select menu can open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectItem {
    pub label: String,
    pub value: String,
    pub description: Option<String>,
}

/// A button next to the pager that acts on the whole list (e.g. "Download").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionButton {
    /// Short and stable: it ends the custom id (`{prefix}:x:{key}`).
    pub key: &'static str,
    pub label: String,
}

/// The custom id of action `key` on the pager with `prefix`.
pub fn action_id(prefix: &str, key: &str) -> String {
    format!("{prefix}:x:{key}")
}

/// The action key a custom id names, if it is an action of this pager.
pub fn parse_action<'a>(prefix: &str, custom_id: &'a str) -> Option<&'a str> {
    custom_id.strip_prefix(prefix)?.strip_prefix(":x:")
}

/// One row of up to 5 action buttons (none when there are no actions).
pub fn action_row(
    prefix: &str,
    actions: &[ActionButton],
    disabled: bool,
) -> Option<CreateActionRow> {
    if actions.is_empty() {
        return None;
    }
    let buttons = actions
        .iter()
        .take(5)
        .map(|action| {
            CreateButton::new(action_id(prefix, action.key))
                .label(truncate(&action.label, 80))
                .style(ButtonStyle::Primary)
                .disabled(disabled)
        })
        .collect();
    Some(CreateActionRow::Buttons(buttons))
}

/// The action rows for page `page` (0-based) of `pages`. `disabled` greys out
/// everything (after the pager times out).
pub fn controls(
    prefix: &str,
    page: usize,
    pages: usize,
    items: &[SelectItem],
    disabled: bool,
) -> Vec<CreateActionRow> {
    let at_start = disabled || page == 0;
    let at_end = disabled || page + 1 >= pages;
    let button = |control: Control, label: &str, off: bool| {
        CreateButton::new(control.custom_id(prefix))
            .label(label)
            .style(ButtonStyle::Secondary)
            .disabled(off)
    };
    let position = CreateButton::new(format!("{prefix}:page"))
        .label(format!("Page {} of {}", page + 1, pages.max(1)))
        .style(ButtonStyle::Secondary)
        .disabled(true);
    let mut rows = vec![CreateActionRow::Buttons(vec![
        button(Control::First, "« First", at_start),
        button(Control::Previous, "‹ Prev", at_start),
        position,
        button(Control::Next, "Next ›", at_end),
        button(Control::Last, "Last »", at_end),
    ])];
    if !items.is_empty() {
        let options = items
            .iter()
            .take(25)
            .map(|item| {
                let option = CreateSelectMenuOption::new(
                    truncate(&item.label, 100),
                    truncate(&item.value, 100),
                );
                match &item.description {
                    Some(description) => option.description(truncate(description, 100)),
                    None => option,
                }
            })
            .collect();
        rows.push(CreateActionRow::SelectMenu(
            CreateSelectMenu::new(
                Control::Open.custom_id(prefix),
                CreateSelectMenuKind::String { options },
            )
            .placeholder("Open one…")
            .disabled(disabled),
        ));
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(rows: Vec<CreateActionRow>) -> serde_json::Value {
        serde_json::to_value(rows).unwrap()
    }

    #[test]
    fn custom_ids_round_trip_and_never_match_another_pager() {
        let mine = prefix(123);
        assert_eq!(
            Control::parse(&mine, &Control::Next.custom_id(&mine)),
            Some(Control::Next)
        );
        assert_eq!(
            Control::parse(&mine, &Control::Next.custom_id(&prefix(1234))),
            None
        );
        assert_eq!(Control::parse(&mine, "pg123:page"), None);
        assert_eq!(parse_action(&mine, &action_id(&mine, "csv")), Some("csv"));
        assert_eq!(parse_action(&mine, &action_id(&prefix(1234), "csv")), None);
        assert_eq!(Control::parse(&mine, &action_id(&mine, "csv")), None);
    }

    #[test]
    fn the_first_page_cannot_go_back_and_the_last_cannot_go_forward() {
        let rows = json(controls("p", 0, 3, &[], false));
        let buttons = &rows[0]["components"];
        assert_eq!(buttons[0]["disabled"], true);
        assert_eq!(buttons[3]["disabled"], false);
        assert_eq!(buttons[2]["label"], "Page 1 of 3");
        let rows = json(controls("p", 2, 3, &[], false));
        assert_eq!(rows[0]["components"][3]["disabled"], true);
    }

    #[test]
    fn controls_stay_within_discords_limits() {
        let items: Vec<SelectItem> = (0..40)
            .map(|i| SelectItem {
                label: "l".repeat(300),
                value: format!("{i}"),
                description: Some("d".repeat(300)),
            })
            .collect();
        let prefix = prefix(u64::MAX);
        let rows = json(controls(&prefix, 0, 10_000, &items, true));
        let rows = rows.as_array().unwrap();
        assert!(rows.len() <= 5);
        assert!(rows[0]["components"].as_array().unwrap().len() <= 5);
        let select = &rows[1]["components"][0];
        assert_eq!(select["options"].as_array().unwrap().len(), 25);
        assert!(select["custom_id"].as_str().unwrap().len() <= 100);
        assert!(
            select["options"][0]["label"]
                .as_str()
                .unwrap()
                .chars()
                .count()
                <= 100
        );
        assert!(rows.iter().all(|row| {
            row["components"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["disabled"] == true)
        }));
    }
}
