//! `/admin modules`: how many active servers have each module enabled.

use serenity::all::{CreateEmbed, CreateEmbedFooter};

use super::INFO_COLOR;
use super::charts::{self, Bar, ChartError};
use super::limits::EMBED_DESCRIPTION_CHARS;
use super::text::{fit_lines, thousands, truncate};

pub const CHART_FILE: &str = "modules.png";

/// The host bot's modules containing what was typed, as autocomplete
/// suggestions (at most 25, Discord's limit).
pub fn module_choices(
    modules: &[String],
    partial: &str,
) -> serenity::all::CreateAutocompleteResponse {
    let partial = partial.to_lowercase();
    let choices = modules
        .iter()
        .filter(|module| module.contains(&partial))
        .take(25)
        .map(|module| serenity::all::AutocompleteChoice::new(module.clone(), module.clone()))
        .collect();
    serenity::all::CreateAutocompleteResponse::new().set_choices(choices)
}

/// One module's adoption.
#[derive(Debug, Clone, PartialEq)]
pub struct ModuleAdoption {
    pub module: String,
    pub enabled_guilds: i64,
    /// Of active servers, 0 to 100.
    pub percent: f64,
}

/// Adoption per module, most adopted first (name breaks ties), with every
/// module the host declares present even when no server enabled it.
pub fn adoption(
    declared: &[String],
    counted: &[(String, i64)],
    active_guilds: i64,
) -> Vec<ModuleAdoption> {
    let mut modules: Vec<ModuleAdoption> = counted
        .iter()
        .map(|(module, enabled)| (module.clone(), *enabled))
        .chain(
            declared
                .iter()
                .filter(|module| !counted.iter().any(|(name, _)| name == *module))
                .map(|module| (module.clone(), 0)),
        )
        .map(|(module, enabled_guilds)| ModuleAdoption {
            percent: if active_guilds > 0 {
                enabled_guilds as f64 * 100.0 / active_guilds as f64
            } else {
                0.0
            },
            module,
            enabled_guilds,
        })
        .collect();
    modules.sort_by(|a, b| {
        b.enabled_guilds
            .cmp(&a.enabled_guilds)
            .then_with(|| a.module.cmp(&b.module))
    });
    modules
}

pub fn render(modules: &[ModuleAdoption], active_guilds: i64) -> CreateEmbed {
    let lines: Vec<String> = modules
        .iter()
        .map(|m| {
            format!(
                "`{}` {} servers ({:.1}%)",
                truncate(&m.module, 40),
                thousands(m.enabled_guilds),
                m.percent
            )
        })
        .collect();
    let description = if lines.is_empty() {
        "No modules are declared and no server has module settings yet.".to_owned()
    } else {
        fit_lines(&lines, EMBED_DESCRIPTION_CHARS)
    };
    CreateEmbed::new()
        .title("Module adoption")
        .color(INFO_COLOR)
        .description(description)
        .image(format!("attachment://{CHART_FILE}"))
        .footer(CreateEmbedFooter::new(format!(
            "Share of {} active servers with each module enabled",
            thousands(active_guilds)
        )))
}

/// Bars of the percentage per module (the 25 most adopted).
pub fn chart(modules: &[ModuleAdoption]) -> Result<Vec<u8>, ChartError> {
    let bars: Vec<Bar> = modules
        .iter()
        .take(25)
        .map(|m| Bar {
            label: truncate(&m.module, 14),
            value: m.percent,
        })
        .collect();
    charts::bar_chart(
        "Servers with each module enabled",
        "module",
        "% of active servers",
        &bars,
        Some(100.0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_modules_without_rows_show_as_zero_and_order_is_by_adoption() {
        let declared = vec!["music".to_owned(), "welcome".to_owned()];
        let counted = vec![("moderation".to_owned(), 30), ("music".to_owned(), 50)];
        let modules = adoption(&declared, &counted, 200);
        let names: Vec<&str> = modules.iter().map(|m| m.module.as_str()).collect();
        assert_eq!(names, ["music", "moderation", "welcome"]);
        assert_eq!(modules[0].percent, 25.0);
        assert_eq!(modules[2].enabled_guilds, 0);
    }

    #[test]
    fn no_active_servers_means_zero_percent_not_a_division_by_zero() {
        let modules = adoption(&[], &[("music".to_owned(), 0)], 0);
        assert_eq!(modules[0].percent, 0.0);
    }
}
