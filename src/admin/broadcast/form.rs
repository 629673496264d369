//! The broadcast form: the modal a developer composes in (and edits with),
//! and reading what was submitted. Discord limits a modal to 5 text inputs of
//! at most 4000 characters, labels of 45; the server re-checks every value
//! (`Draft::validate`), since a forged submit can carry anything.

use serenity::all::{
    ActionRowComponent, CreateActionRow, CreateInputText, CreateModal, InputTextStyle,
    ModalInteraction,
};

use crate::broadcast::draft::{
    Category, DraftInput, MAX_CONTENT_CHARS, MAX_FOOTER_CHARS, MAX_IMAGE_URL_CHARS, MAX_TITLE_CHARS,
};

/// The compose form, filled with `input` (empty for a new broadcast).
pub fn modal(custom_id: &str, category: Category, input: &DraftInput) -> CreateModal {
    titled_modal(
        custom_id,
        format!("New {} broadcast", category.as_str()),
        input,
    )
}

/// The form under another title (at most 45 characters, Discord's limit for
/// a modal's title): editing a sent broadcast.
pub fn titled_modal(custom_id: &str, title: String, input: &DraftInput) -> CreateModal {
    let field = |style, label: &str, id: &str, max: usize, required: bool, value: &str| {
        let mut text = CreateInputText::new(style, label, id)
            .max_length(max as u16)
            .required(required);
        if !value.is_empty() {
            text = text.value(value);
        }
        CreateActionRow::InputText(text)
    };
    CreateModal::new(custom_id, title).components(vec![
        field(
            InputTextStyle::Short,
            "Title",
            "title",
            MAX_TITLE_CHARS,
            true,
            &input.title,
        ),
        field(
            InputTextStyle::Paragraph,
            "Content",
            "content",
            MAX_CONTENT_CHARS,
            false,
            &input.content,
        ),
        field(
            InputTextStyle::Short,
            "Color (hex, e.g. #5865F2)",
            "color",
            7,
            false,
            &input.color,
        ),
        field(
            InputTextStyle::Short,
            "Image URL (http/https)",
            "image_url",
            MAX_IMAGE_URL_CHARS.min(4000),
            false,
            &input.image_url,
        ),
        field(
            InputTextStyle::Short,
            "Footer",
            "footer",
            MAX_FOOTER_CHARS.min(4000),
            false,
            &input.footer,
        ),
    ])
}

/// The submitted fields, whatever the client sent (checked by `Draft::validate`).
pub fn input_of(submit: &ModalInteraction) -> DraftInput {
    let mut input = DraftInput::default();
    for row in &submit.data.components {
        for component in &row.components {
            if let ActionRowComponent::InputText(text) = component {
                let value = text.value.clone().unwrap_or_default();
                match text.custom_id.as_str() {
                    "title" => input.title = value,
                    "content" => input.content = value,
                    "color" => input.color = value,
                    "image_url" => input.image_url = value,
                    "footer" => input.footer = value,
                    _ => {}
                }
            }
        }
    }
    input
}

/// A form with one required paragraph, `reason` (read it back with
/// [`input_of_field`]), of at most `max_chars`.
pub fn reason_form(custom_id: String, title: String, label: &str, max_chars: usize) -> CreateModal {
    CreateModal::new(custom_id, title).components(vec![CreateActionRow::InputText(
        CreateInputText::new(InputTextStyle::Paragraph, label, REASON_FIELD)
            .max_length(u16::try_from(max_chars).unwrap_or(u16::MAX))
            .required(true),
    )])
}

/// The field of [`reason_form`].
pub const REASON_FIELD: &str = "reason";

/// One submitted text field by its custom id (empty when absent).
pub fn input_of_field(submit: &ModalInteraction, field: &str) -> String {
    submit
        .data
        .components
        .iter()
        .flat_map(|row| &row.components)
        .find_map(|component| match component {
            ActionRowComponent::InputText(text) if text.custom_id == field => {
                Some(text.value.clone().unwrap_or_default())
            }
            _ => None,
        })
        .unwrap_or_default()
}
