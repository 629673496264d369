//! `/admin stats`: the global statistics embed.

use chrono::{DateTime, Utc};
use serenity::all::{CreateEmbed, CreateEmbedFooter};

use super::INFO_COLOR;
use super::ranking::ranking;
use super::text::{discord_time, human_duration, thousands};
use crate::store::command_stats::CommandUses;
use crate::store::maintenance::MaintenanceRow;
use crate::store::trends::Window;

/// How many commands the 24 h ranking shows.
pub const RANKING_SIZE: usize = 10;

/// Everything the stats embed shows, gathered by the view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalStats {
    pub active_guilds: i64,
    pub unique_users: i64,
    /// Every command used in the last 24 h, most used first.
    pub commands_24h: Vec<CommandUses>,
    pub process_started_at: DateTime<Utc>,
    pub last_restart: Option<DateTime<Utc>>,
    pub now: DateTime<Utc>,
    /// The last 24 h and the 24 h before, from the rollups.
    pub trend: (Window, Window),
    /// Maintenance mode's scopes (empty: off, and not shown).
    pub maintenance: Vec<MaintenanceRow>,
}

impl GlobalStats {
    pub fn total_commands_24h(&self) -> i64 {
        self.commands_24h.iter().map(|c| c.uses).sum()
    }
}

pub fn render(stats: &GlobalStats) -> CreateEmbed {
    let total = stats.total_commands_24h();
    let ranking = ranking(
        &stats.commands_24h,
        RANKING_SIZE,
        "No commands in the last 24 hours.",
    );
    let last_restart = stats.last_restart.map_or_else(
        || "never recorded".to_owned(),
        |at| format!("{} ({})", discord_time(at, 'f'), discord_time(at, 'R')),
    );

    let embed = CreateEmbed::new()
        .title("Bot statistics")
        .color(INFO_COLOR)
        .field("Servers", thousands(stats.active_guilds), true)
        .field("Unique users", thousands(stats.unique_users), true)
        .field("Commands (24 h)", thousands(total), true)
        .field(
            "Uptime (this process)",
            human_duration(stats.now - stats.process_started_at),
            true,
        )
        .field("Last restart", last_restart, true)
        .field("Top commands (24 h)", ranking, false)
        .field(
            "Last 24 h vs the 24 h before",
            trend_lines(&stats.trend.0, &stats.trend.1),
            false,
        )
        .footer(CreateEmbedFooter::new(
            "Unique users: everyone who ever ran a command · changes from the hourly rollups (whole hours)",
        ))
        .timestamp(stats.now);
    if stats.maintenance.is_empty() {
        return embed;
    }
    embed.field(
        "Maintenance",
        super::maintenance::field_value(&stats.maintenance),
        false,
    )
}

/// One line per figure: now, before, and the change.
fn trend_lines(now: &Window, before: &Window) -> String {
    let rate = |w: &Window| {
        w.error_rate()
            .map_or_else(|| "—".to_owned(), |r| format!("{r:.1}%"))
    };
    let points = match (now.error_rate(), before.error_rate()) {
        (Some(a), Some(b)) => format!(" ({:+.1} pts)", a - b),
        _ => String::new(),
    };
    [
        format!(
            "Commands: {} vs {} ({})",
            thousands(now.commands),
            thousands(before.commands),
            change(now.commands, before.commands)
        ),
        format!(
            "New users: {} vs {} ({})",
            thousands(now.new_users),
            thousands(before.new_users),
            change(now.new_users, before.new_users)
        ),
        format!(
            "Servers joined / left: +{} / −{} vs +{} / −{}",
            thousands(now.joined),
            thousands(now.left),
            thousands(before.joined),
            thousands(before.left)
        ),
        format!("Error rate: {} vs {}{points}", rate(now), rate(before)),
    ]
    .join("\n")
}

/// "▲ 12.5%", "▼ 3.0%", "no change", or "new" when there was nothing before.
fn change(now: i64, before: i64) -> String {
    if now == before {
        return "no change".to_owned();
    }
    if before == 0 {
        return "new".to_owned();
    }
    let percent = (now - before) as f64 * 100.0 / before as f64;
    if percent > 0.0 {
        format!("▲ {percent:.1}%")
    } else {
        format!("▼ {:.1}%", -percent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::limits::embed_violations;
    use chrono::TimeDelta;

    fn stats(commands: usize, name_len: usize) -> GlobalStats {
        let now = Utc::now();
        GlobalStats {
            active_guilds: 1_234,
            unique_users: 56_789,
            commands_24h: (0..commands)
                .map(|i| CommandUses {
                    command: format!("{i}{}", "x".repeat(name_len)),
                    uses: 1_000 - i as i64,
                })
                .collect(),
            process_started_at: now - TimeDelta::hours(5),
            last_restart: Some(now - TimeDelta::hours(5)),
            now,
            trend: (Window::default(), Window::default()),
            // The largest it can be: every scope, every message at its longest.
            maintenance: (0..50)
                .map(|i| MaintenanceRow {
                    command: if i == 0 { "*".into() } else { format!("c{i}") },
                    message: "m".repeat(1000),
                    since: now,
                    set_by: 42,
                })
                .collect(),
        }
    }

    #[test]
    fn each_figure_is_compared_with_the_day_before() {
        let now = Window {
            commands: 1_200,
            failures: 24,
            new_users: 30,
            joined: 5,
            left: 1,
        };
        let before = Window {
            commands: 1_000,
            failures: 10,
            new_users: 40,
            joined: 0,
            left: 2,
        };
        assert_eq!(
            trend_lines(&now, &before),
            "Commands: 1,200 vs 1,000 (▲ 20.0%)\nNew users: 30 vs 40 (▼ 25.0%)\nServers joined / left: +5 / −1 vs +0 / −2\nError rate: 2.0% vs 1.0% (+1.0 pts)"
        );
        assert_eq!(change(3, 0), "new");
        assert_eq!(change(0, 0), "no change");
        let quiet = trend_lines(&Window::default(), &Window::default());
        assert!(quiet.ends_with("Error rate: — vs —"), "{quiet}");
    }

    fn json(embed: CreateEmbed) -> serde_json::Value {
        serde_json::to_value(embed).expect("embeds serialize")
    }

    #[test]
    fn the_ranking_shows_the_top_ten_with_shares() {
        let embed = json(render(&stats(12, 3)));
        let ranking = embed["fields"][5]["value"].as_str().unwrap();
        assert_eq!(ranking.lines().count(), RANKING_SIZE);
        assert!(ranking.starts_with("1. `/0xxx` 1,000 ("), "{ranking}");
        assert!(!ranking.contains("/10xxx"));
    }

    #[test]
    fn long_command_names_stay_within_discords_limits() {
        let embed = json(render(&stats(50, 100)));
        assert_eq!(embed_violations(&embed), Vec::<String>::new());
    }

    #[test]
    fn an_empty_day_says_so() {
        let embed = json(render(&stats(0, 0)));
        assert_eq!(embed["fields"][2]["value"], "0");
        assert!(
            embed["fields"][5]["value"]
                .as_str()
                .unwrap()
                .contains("No commands")
        );
    }
}
