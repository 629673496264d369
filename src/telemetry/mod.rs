//! What the panel observes about the bot: command events (batched into
//! PostgreSQL) and this process's heartbeat.

pub mod heartbeat;
pub mod recorder;
