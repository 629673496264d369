//! `/admin stats`: the global statistics embed.

use chrono::{DateTime, Utc};
use serenity::all::{CreateEmbed, CreateEmbedFooter};

use super::INFO_COLOR;
use super::ranking::ranking;
use super::text::{discord_time, human_duration, thousands};
use crate::store::command_stats::CommandUses;

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

    CreateEmbed::new()
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
        .footer(CreateEmbedFooter::new(
            "Unique users: everyone who ever ran a command",
        ))
        .timestamp(stats.now)
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
        }
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
