//! Pure Discord rendering shared by the views: data in, builders out. Nothing
//! here touches the database, so every view can be unit-tested against
//! Discord's limits.

pub mod alerts;
pub mod audience;
pub mod blocklist;
pub mod broadcast;
mod broadcast_history;
pub mod charts;
pub mod csv;
pub mod custom_id;
pub mod developers;
pub mod followups;
pub mod health;
pub mod limits;
pub mod logs;
pub mod maintenance;
pub mod managers;
pub mod modules;
pub mod pager;
pub mod ranking;
pub mod servers;
pub mod stats;
pub mod text;
pub mod usage;

/// Blurple, the color of neutral informational embeds.
pub const INFO_COLOR: u32 = 0x5865F2;
