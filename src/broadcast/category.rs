//! The one list of broadcast categories. Servers choose which they accept
//! (`/settings broadcast-categories`); a broadcast has exactly one.

/// What kind of message it is; servers choose which kinds they accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poise::ChoiceParameter)]
pub enum Category {
    #[name = "changelog"]
    Changelog,
    #[name = "announcement"]
    Announcement,
    #[name = "maintenance"]
    Maintenance,
}

impl Category {
    /// Every category, in the order servers see them. The database's CHECK
    /// constraints (migration 0001) list the same names; a test keeps them in step.
    pub const ALL: [Self; 3] = [Self::Changelog, Self::Announcement, Self::Maintenance];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Changelog => "changelog",
            Self::Announcement => "announcement",
            Self::Maintenance => "maintenance",
        }
    }

    /// The category stored as `value`, if there is one.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|category| category.as_str() == value)
    }

    /// The embed color when the developer gives none.
    pub fn default_color(self) -> u32 {
        match self {
            Self::Changelog => 0x5865F2,
            Self::Announcement => 0x57F287,
            Self::Maintenance => 0xFEE75C,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Changelog => "📋 Changelog",
            Self::Announcement => "📣 Announcement",
            Self::Maintenance => "🛠️ Maintenance",
        }
    }
}
