//! The pager's controls: first / previous / "page x of y" / next / last, a
//! select menu to open one of the page's items, and a row of buttons acting
//! on the whole list. The custom ids come signed from the caller (they carry
//! the page each button leads to); this module only lays them out.

use serenity::all::{
    ActionRow, ActionRowComponent, ButtonKind, ButtonStyle, CreateActionRow, CreateButton,
    CreateSelectMenu, CreateSelectMenuKind, CreateSelectMenuOption,
};

use super::text::truncate;

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
    pub custom_id: String,
    pub label: String,
}

/// The custom ids of one page's controls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PagerIds {
    pub first: String,
    pub previous: String,
    /// The disabled "page x of y" button (Discord wants an id on it too).
    pub position: String,
    pub next: String,
    pub last: String,
    pub open: String,
}

/// One row of up to 5 action buttons (none when there are no actions).
pub fn action_row(actions: &[ActionButton], disabled: bool) -> Option<CreateActionRow> {
    if actions.is_empty() {
        return None;
    }
    let buttons = actions
        .iter()
        .take(5)
        .map(|action| {
            CreateButton::new(&action.custom_id)
                .label(truncate(&action.label, 80))
                .style(ButtonStyle::Primary)
                .disabled(disabled)
        })
        .collect();
    Some(CreateActionRow::Buttons(buttons))
}

/// The action rows for page `page` (0-based) of `pages`. `disabled` greys out
/// everything (controls that expired).
pub fn controls(
    ids: &PagerIds,
    page: usize,
    pages: usize,
    items: &[SelectItem],
    disabled: bool,
) -> Vec<CreateActionRow> {
    let at_start = disabled || page == 0;
    let at_end = disabled || page + 1 >= pages;
    let button = |id: &str, label: &str, off: bool| {
        CreateButton::new(id)
            .label(label)
            .style(ButtonStyle::Secondary)
            .disabled(off)
    };
    let position = CreateButton::new(&ids.position)
        .label(format!("Page {} of {}", page + 1, pages.max(1)))
        .style(ButtonStyle::Secondary)
        .disabled(true);
    let mut rows = vec![CreateActionRow::Buttons(vec![
        button(&ids.first, "« First", at_start),
        button(&ids.previous, "‹ Prev", at_start),
        position,
        button(&ids.next, "Next ›", at_end),
        button(&ids.last, "Last »", at_end),
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
            CreateSelectMenu::new(&ids.open, CreateSelectMenuKind::String { options })
                .placeholder("Open one…")
                .disabled(disabled),
        ));
    }
    rows
}

/// The buttons of a message as they are, every one disabled: what a message
/// shows once its controls expired. Select menus are dropped (a disabled menu
/// would need its options, which a received message does not carry whole).
pub fn disabled_copy(rows: &[ActionRow]) -> Vec<CreateActionRow> {
    rows.iter()
        .filter_map(|row| {
            let buttons: Vec<CreateButton> = row
                .components
                .iter()
                .filter_map(|component| match component {
                    ActionRowComponent::Button(button) => {
                        let mut copy = match &button.data {
                            ButtonKind::NonLink { custom_id, style } => {
                                CreateButton::new(custom_id).style(*style)
                            }
                            ButtonKind::Link { url } => CreateButton::new_link(url),
                            ButtonKind::Premium { sku_id } => CreateButton::new_premium(*sku_id),
                        };
                        if let Some(label) = &button.label {
                            copy = copy.label(label);
                        }
                        Some(copy.disabled(true))
                    }
                    _ => None,
                })
                .collect();
            (!buttons.is_empty()).then_some(CreateActionRow::Buttons(buttons))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(rows: Vec<CreateActionRow>) -> serde_json::Value {
        serde_json::to_value(rows).unwrap()
    }

    fn ids() -> PagerIds {
        let id = |name: &str| format!("{name}-{}", "x".repeat(90));
        PagerIds {
            first: id("first"),
            previous: id("prev"),
            position: id("at"),
            next: id("next"),
            last: id("last"),
            open: id("open"),
        }
    }

    #[test]
    fn the_first_page_cannot_go_back_and_the_last_cannot_go_forward() {
        let rows = json(controls(&ids(), 0, 3, &[], false));
        let buttons = &rows[0]["components"];
        assert_eq!(buttons[0]["disabled"], true);
        assert_eq!(buttons[3]["disabled"], false);
        assert_eq!(buttons[2]["label"], "Page 1 of 3");
        let rows = json(controls(&ids(), 2, 3, &[], false));
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
        let rows = json(controls(&ids(), 0, 10_000, &items, true));
        let rows = rows.as_array().unwrap();
        assert!(rows.len() <= 5);
        assert!(rows[0]["components"].as_array().unwrap().len() <= 5);
        let select = &rows[1]["components"][0];
        assert_eq!(select["options"].as_array().unwrap().len(), 25);
        let label = select["options"][0]["label"].as_str().unwrap();
        assert!(label.chars().count() <= 100);
        assert!(rows.iter().all(|row| {
            row["components"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["disabled"] == true)
        }));
    }
}
