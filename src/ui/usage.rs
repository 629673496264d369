//! `/admin usage`: commands per UTC day with a PNG chart, the period's total,
//! daily average and peak, and (unfiltered) the top commands with their share.

use chrono::NaiveDate;
use serenity::all::{CreateEmbed, CreateEmbedFooter};

use super::INFO_COLOR;
use super::charts::{self, ChartError};
use super::ranking::ranking;
use super::text::{thousands, truncate};
use crate::store::command_stats::CommandUses;

/// The chart's file name; the embed shows it with `attachment://`.
pub const CHART_FILE: &str = "usage.png";
/// How many commands the unfiltered view ranks.
pub const TOP_COMMANDS: usize = 10;

/// Everything the view shows, gathered from the daily rollup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageReport {
    /// One entry per UTC day of the period, oldest first, zero-filled.
    pub days: Vec<(NaiveDate, i64)>,
    /// The command filter, if any.
    pub command: Option<String>,
    /// The period's most used commands (only without a filter).
    pub top: Vec<CommandUses>,
}

impl UsageReport {
    pub fn total(&self) -> i64 {
        self.days.iter().map(|(_, uses)| uses).sum()
    }

    pub fn daily_average(&self) -> f64 {
        if self.days.is_empty() {
            0.0
        } else {
            self.total() as f64 / self.days.len() as f64
        }
    }

    /// The busiest day (the earliest of equals); `None` when nothing ran.
    pub fn peak(&self) -> Option<(NaiveDate, i64)> {
        self.days
            .iter()
            .copied()
            .filter(|(_, uses)| *uses > 0)
            .fold(None, |best: Option<(NaiveDate, i64)>, day| match best {
                Some(best) if best.1 >= day.1 => Some(best),
                _ => Some(day),
            })
    }

    /// "Commands per day, last 30 days" or "/ping per day, last 7 days".
    pub fn title(&self) -> String {
        let what = match &self.command {
            Some(command) => format!("/{}", truncate(command, 100)),
            None => "Commands".to_owned(),
        };
        let period = match self.days.len() {
            1 => "today".to_owned(),
            n => format!("last {n} days"),
        };
        format!("{what} per day, {period}")
    }

    /// The chart PNG (the data is exactly [`Self::days`]).
    pub fn chart(&self) -> Result<Vec<u8>, ChartError> {
        charts::daily_usage(&format!("{} (UTC)", self.title()), &self.days)
    }
}

pub fn render(report: &UsageReport) -> CreateEmbed {
    let summary = match report.peak() {
        Some((day, uses)) => format!(
            "**Total:** {}\n**Daily average:** {:.1}\n**Peak day:** {} with {}",
            thousands(report.total()),
            report.daily_average(),
            day.format("%a %Y-%m-%d"),
            thousands(uses)
        ),
        None => "No commands in this period.".to_owned(),
    };
    let mut embed = CreateEmbed::new()
        .title(truncate(&report.title(), 256))
        .color(INFO_COLOR)
        .description(summary)
        .image(format!("attachment://{CHART_FILE}"))
        .footer(CreateEmbedFooter::new(
            "Days are UTC days; times in UTC. From the daily rollup.",
        ));
    if report.command.is_none() {
        embed = embed.field("Top commands", top_commands(report), false);
    }
    embed
}

fn top_commands(report: &UsageReport) -> String {
    ranking(&report.top, TOP_COMMANDS, "No commands in this period.")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::limits::embed_violations;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    #[test]
    fn summary_figures_come_from_the_days() {
        let report = UsageReport {
            days: vec![(day(1), 4), (day(2), 0), (day(3), 8), (day(4), 8)],
            command: None,
            top: vec![],
        };
        assert_eq!(report.total(), 20);
        assert_eq!(report.daily_average(), 5.0);
        assert_eq!(report.peak(), Some((day(3), 8)));
        assert_eq!(report.title(), "Commands per day, last 4 days");
    }

    #[test]
    fn an_empty_period_has_no_peak() {
        let report = UsageReport {
            days: vec![(day(1), 0)],
            command: Some("ping".into()),
            top: vec![],
        };
        assert_eq!(report.peak(), None);
        assert_eq!(report.title(), "/ping per day, today");
    }

    #[test]
    fn the_embed_stays_within_discords_limits() {
        let report = UsageReport {
            days: (1..=30).map(|d| (day(d), i64::MAX / 100)).collect(),
            command: None,
            top: (0..50)
                .map(|i| CommandUses {
                    command: format!("{}{i}", "c".repeat(100)),
                    uses: 1_000_000,
                })
                .collect(),
        };
        let embed = serde_json::to_value(render(&report)).unwrap();
        assert_eq!(embed_violations(&embed), Vec::<String>::new());
        assert_eq!(embed["image"]["url"], "attachment://usage.png");
    }
}
