//! Command usage over days, for `/admin usage`. Every query reads the daily
//! rollup (50 commands × 90 days is a few thousand rows), never raw events:
//! counts, outcomes and latency histograms are all there, and a period's
//! histogram is the sum of its days'.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use sqlx::PgPool;

use super::latency::Histogram;

/// One UTC day of the period (of every command, or of the filtered one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayFigures {
    pub day: NaiveDate,
    pub uses: i64,
    pub internal_errors: i64,
    /// Time to the first response.
    pub response: Histogram,
}

/// One command over a period: how often it ran, how each run ended, and how
/// long it took to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandFigures {
    pub command: String,
    pub uses: i64,
    pub refused: i64,
    pub user_errors: i64,
    pub internal_errors: i64,
    /// Arrival to the first response.
    pub response: Histogram,
}

impl CommandFigures {
    /// Internal errors per invocation (refusals and users' mistakes are the
    /// command working as meant).
    pub fn error_rate(&self) -> f64 {
        if self.uses == 0 {
            0.0
        } else {
            self.internal_errors as f64 / self.uses as f64
        }
    }
}

/// A period of the daily rollup, both ways round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    /// Every UTC day from the first to the last, zero-filled, oldest first.
    pub days: Vec<DayFigures>,
    /// Every command used in the period, most used first (then by name).
    pub commands: Vec<CommandFigures>,
}

/// One row of `command_stats_daily`.
#[derive(sqlx::FromRow)]
struct DailyRow {
    day: NaiveDate,
    command: String,
    uses: i64,
    refused: i64,
    user_errors: i64,
    internal_errors: i64,
    response_ms: Vec<i64>,
}

/// The daily rollup from `from` to `to` inclusive (only `command` when
/// given), summed per day and per command.
///
/// The rows (commands × days: 4,500 for 50 commands over 90 days) are read
/// as they are and summed here: adding their histograms in SQL costs a
/// function call per row and array (measured: 130 ms for 90 days), adding
/// them here a few microseconds.
#[tracing::instrument(skip(pool))]
pub async fn period(
    pool: &PgPool,
    from: NaiveDate,
    to: NaiveDate,
    command: Option<&str>,
) -> Result<Period, sqlx::Error> {
    // language=PostgreSQL
    let rows: Vec<DailyRow> = sqlx::query_as(
        r#"
        SELECT day, command, uses, refused, user_errors, internal_errors, response_ms
          FROM command_stats_daily
         WHERE day BETWEEN $1 AND $2 AND ($3::text IS NULL OR command = $3)
        "#,
    )
    .bind(from)
    .bind(to)
    .bind(command)
    .fetch_all(pool)
    .await?;
    Ok(sum_up(from, to, rows))
}

fn sum_up(from: NaiveDate, to: NaiveDate, rows: Vec<DailyRow>) -> Period {
    let mut days: BTreeMap<NaiveDate, DayFigures> = from
        .iter_days()
        .take_while(|day| *day <= to)
        .map(|day| {
            let empty = DayFigures {
                day,
                uses: 0,
                internal_errors: 0,
                response: Histogram::default(),
            };
            (day, empty)
        })
        .collect();
    let mut commands: HashMap<String, CommandFigures> = HashMap::new();
    for row in rows {
        if let Some(day) = days.get_mut(&row.day) {
            day.uses += row.uses;
            day.internal_errors += row.internal_errors;
            day.response.add_counts(&row.response_ms);
        }
        let figures = commands
            .entry(row.command)
            .or_insert_with_key(|command| CommandFigures {
                command: command.clone(),
                uses: 0,
                refused: 0,
                user_errors: 0,
                internal_errors: 0,
                response: Histogram::default(),
            });
        figures.uses += row.uses;
        figures.refused += row.refused;
        figures.user_errors += row.user_errors;
        figures.internal_errors += row.internal_errors;
        figures.response.add_counts(&row.response_ms);
    }
    let mut commands: Vec<CommandFigures> = commands.into_values().collect();
    commands.sort_by(|a, b| b.uses.cmp(&a.uses).then_with(|| a.command.cmp(&b.command)));
    Period {
        days: days.into_values().collect(),
        commands,
    }
}

/// Commands used since `since` whose name contains `search`, most used first
/// (for autocomplete; at most 25, Discord's limit for suggestions).
pub async fn command_names(
    pool: &PgPool,
    since: NaiveDate,
    search: &str,
) -> Result<Vec<String>, sqlx::Error> {
    let pattern = super::like_pattern(search);
    // language=PostgreSQL
    sqlx::query_scalar(
        r#"
        SELECT command FROM command_stats_daily
         WHERE day >= $1 AND command ILIKE $2
         GROUP BY command
         ORDER BY sum(uses) DESC, command
         LIMIT 25
        "#,
    )
    .bind(since)
    .bind(pattern)
    .fetch_all(pool)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(day: u32, command: &str, uses: i64, response_ms: Vec<i64>) -> DailyRow {
        DailyRow {
            day: NaiveDate::from_ymd_opt(2026, 11, day).unwrap(),
            command: command.to_owned(),
            uses,
            refused: 0,
            user_errors: 0,
            internal_errors: 1,
            response_ms,
        }
    }

    #[test]
    fn rows_sum_up_per_zero_filled_day_and_per_command_most_used_first() {
        let from = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let to = NaiveDate::from_ymd_opt(2026, 11, 4).unwrap();
        let period = sum_up(
            from,
            to,
            vec![
                row(1, "b", 2, vec![2]),
                row(3, "a", 1, vec![0, 1]),
                row(3, "b", 3, vec![3]),
            ],
        );
        let uses: Vec<i64> = period.days.iter().map(|d| d.uses).collect();
        assert_eq!(uses, [2, 0, 4, 0]);
        assert_eq!(period.days[2].response.count(), 4);
        assert_eq!(period.days[2].internal_errors, 2);
        let order: Vec<(&str, i64)> = period
            .commands
            .iter()
            .map(|c| (c.command.as_str(), c.uses))
            .collect();
        assert_eq!(order, [("b", 5), ("a", 1)]);
        assert_eq!(period.commands[0].response.0[0], 5);
    }
}
