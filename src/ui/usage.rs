//! `/admin usage`: commands per UTC day with a PNG chart (of commands,
//! internal errors or p95 latency), the period's total, daily average and
//! peak, and the top commands with their share, p50 / p95 time to the first
//! response and error rate.

use chrono::NaiveDate;
use serenity::all::{CreateEmbed, CreateEmbedFooter};

use super::INFO_COLOR;
use super::charts::{self, ChartError};
use super::ranking::ranked;
use super::text::{thousands, truncate};
use crate::store::latency::{Histogram, Quantile};
use crate::store::usage::{CommandFigures, DayFigures};

/// The chart's file name; the embed shows it with `attachment://`.
pub const CHART_FILE: &str = "usage.png";
/// How many commands the unfiltered view ranks.
pub const TOP_COMMANDS: usize = 10;

/// What the chart shows per day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Metric {
    #[default]
    Commands,
    /// Internal errors.
    Errors,
    /// The 95th percentile of the time to the first response.
    P95Latency,
}

impl Metric {
    fn per_day(self) -> &'static str {
        match self {
            Self::Commands => "per day",
            Self::Errors => "errors per day",
            Self::P95Latency => "p95 time to first response per day",
        }
    }

    fn axis(self) -> &'static str {
        match self {
            Self::Commands => "commands",
            Self::Errors => "internal errors",
            Self::P95Latency => "p95 (ms, bucket bound)",
        }
    }
}

/// Everything the view shows, gathered from the daily rollup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageReport {
    /// One entry per UTC day of the period, oldest first, zero-filled.
    pub days: Vec<DayFigures>,
    /// The command filter, if any.
    pub command: Option<String>,
    /// The period's most used commands (only the filtered one with a filter).
    pub top: Vec<CommandFigures>,
    pub metric: Metric,
}

impl UsageReport {
    pub fn total(&self) -> i64 {
        self.days.iter().map(|day| day.uses).sum()
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
            .map(|day| (day.day, day.uses))
            .filter(|(_, uses)| *uses > 0)
            .fold(None, |best: Option<(NaiveDate, i64)>, day| match best {
                Some(best) if best.1 >= day.1 => Some(best),
                _ => Some(day),
            })
    }

    /// The period's time to the first response, every day together.
    pub fn response(&self) -> Histogram {
        let mut total = Histogram::default();
        self.days.iter().for_each(|day| total.add(&day.response));
        total
    }

    /// "Commands per day, last 30 days" or "/ping errors per day, last 7 days".
    pub fn title(&self) -> String {
        let what = match &self.command {
            Some(command) => format!("/{}", truncate(command, 100)),
            None => "Commands".to_owned(),
        };
        let period = match self.days.len() {
            1 => "today".to_owned(),
            n => format!("last {n} days"),
        };
        format!("{what} {}, {period}", self.metric.per_day())
    }

    /// The chart's bars: the chosen metric per day.
    pub fn series(&self) -> Vec<(NaiveDate, i64)> {
        self.days
            .iter()
            .map(|day| {
                let value = match self.metric {
                    Metric::Commands => day.uses,
                    Metric::Errors => day.internal_errors,
                    Metric::P95Latency => day.response.quantile(0.95).millis().map_or(0, i64::from),
                };
                (day.day, value)
            })
            .collect()
    }

    /// The chart PNG (the data is exactly [`Self::series`]).
    pub fn chart(&self) -> Result<Vec<u8>, ChartError> {
        let title = format!("{} (UTC)", self.title());
        charts::daily_chart(&title, self.metric.axis(), &self.series())
    }
}

/// "≤ 91 ms", "> 65.5 s" or "n/a": a percentile read from a histogram says
/// which bucket it fell in, so it is shown as the bucket's bound.
pub fn quantile_text(quantile: Quantile) -> String {
    let millis = |ms: u32| {
        if ms >= 10_000 {
            format!("{:.1} s", f64::from(ms) / 1000.0)
        } else {
            format!("{ms} ms")
        }
    };
    match quantile {
        Quantile::NoData => "n/a".to_owned(),
        Quantile::AtMost(ms) => format!("≤{}", millis(ms)),
        Quantile::Over(ms) => format!(">{}", millis(ms)),
    }
}

pub fn render(report: &UsageReport) -> CreateEmbed {
    let response = report.response();
    let summary = match report.peak() {
        Some((day, uses)) => format!(
            "**Total:** {}\n**Daily average:** {:.1}\n**Peak day:** {} with {}\n\
             **First response:** p50 {}, p95 {}, p99 {}",
            thousands(report.total()),
            report.daily_average(),
            day.format("%a %Y-%m-%d"),
            thousands(uses),
            quantile_text(response.quantile(0.5)),
            quantile_text(response.quantile(0.95)),
            quantile_text(response.quantile(0.99)),
        ),
        None => "No commands in this period.".to_owned(),
    };
    let field = if report.command.is_some() {
        "This command"
    } else {
        "Top commands"
    };
    CreateEmbed::new()
        .title(truncate(&report.title(), 256))
        .color(INFO_COLOR)
        .description(summary)
        .field(field, command_lines(report), false)
        .image(format!("attachment://{CHART_FILE}"))
        .footer(CreateEmbedFooter::new(
            "Days are UTC days. Latency: interaction arrival to the first response, \
             read from log-scale buckets (≤ bound). Errors: internal errors per run. \
             From the daily rollup.",
        ))
}

/// One line a command: uses and share, p50 / p95 to the first response,
/// error rate.
fn command_lines(report: &UsageReport) -> String {
    ranked(
        &report.top,
        TOP_COMMANDS,
        "No commands in this period.",
        |c| (c.command.as_str(), c.uses),
        |c| {
            format!(
                " · p50 {} · p95 {} · {:.1}% errors",
                quantile_text(c.response.quantile(0.5)),
                quantile_text(c.response.quantile(0.95)),
                c.error_rate() * 100.0,
            )
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::limits::embed_violations;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    fn figures(d: u32, uses: i64, errors: i64, response_ms: &[u32]) -> DayFigures {
        let mut response = Histogram::default();
        response_ms.iter().for_each(|&ms| response.record(ms));
        DayFigures {
            day: day(d),
            uses,
            internal_errors: errors,
            response,
        }
    }

    fn report(days: Vec<DayFigures>, command: Option<&str>, metric: Metric) -> UsageReport {
        UsageReport {
            days,
            command: command.map(str::to_owned),
            top: vec![],
            metric,
        }
    }

    #[test]
    fn summary_figures_come_from_the_days() {
        let days = vec![
            figures(1, 4, 0, &[10, 10, 10, 10]),
            figures(2, 0, 0, &[]),
            figures(3, 8, 1, &[20; 8]),
            figures(4, 8, 2, &[3_000; 8]),
        ];
        let report = report(days, None, Metric::Commands);
        assert_eq!(report.total(), 20);
        assert_eq!(report.daily_average(), 5.0);
        assert_eq!(report.peak(), Some((day(3), 8)));
        assert_eq!(report.title(), "Commands per day, last 4 days");
        assert_eq!(report.response().count(), 20);
        assert_eq!(report.response().quantile(0.5), Quantile::AtMost(23));
    }

    #[test]
    fn the_chart_shows_the_chosen_metric() {
        let days = vec![
            figures(1, 4, 1, &[10, 10, 10, 3_000]),
            figures(2, 0, 0, &[]),
        ];
        let errors = report(days.clone(), Some("ping"), Metric::Errors);
        assert_eq!(errors.series(), [(day(1), 1), (day(2), 0)]);
        assert_eq!(errors.title(), "/ping errors per day, last 2 days");
        let latency = report(days, None, Metric::P95Latency);
        assert_eq!(latency.series(), [(day(1), 4096), (day(2), 0)]);
        assert!(latency.chart().is_ok());
    }

    #[test]
    fn an_empty_period_has_no_peak() {
        let report = report(vec![figures(1, 0, 0, &[])], Some("ping"), Metric::Commands);
        assert_eq!(report.peak(), None);
        assert_eq!(report.title(), "/ping per day, today");
    }

    #[test]
    fn quantiles_read_as_bucket_bounds() {
        assert_eq!(quantile_text(Quantile::AtMost(91)), "≤91 ms");
        assert_eq!(quantile_text(Quantile::AtMost(11_585)), "≤11.6 s");
        assert_eq!(quantile_text(Quantile::Over(65_536)), ">65.5 s");
        assert_eq!(quantile_text(Quantile::NoData), "n/a");
    }

    #[test]
    fn the_embed_stays_within_discords_limits() {
        let mut slow = Histogram::default();
        (0..1000).for_each(|i| slow.record(i * 100));
        let report = UsageReport {
            days: (1..=30)
                .map(|d| figures(d, i64::MAX / 100, i64::MAX / 100, &[70_000]))
                .collect(),
            command: None,
            top: (0..50)
                .map(|i| CommandFigures {
                    command: format!("{}{i}", "c".repeat(100)),
                    uses: 1_000_000,
                    refused: 1,
                    user_errors: 2,
                    internal_errors: 999_999,
                    response: slow.clone(),
                })
                .collect(),
            metric: Metric::P95Latency,
        };
        let embed = serde_json::to_value(render(&report)).unwrap();
        assert_eq!(embed_violations(&embed), Vec::<String>::new());
        assert_eq!(embed["image"]["url"], "attachment://usage.png");
    }
}
