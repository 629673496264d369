//! What the panel observes about the bot: command events (batched into
//! PostgreSQL) and this process's heartbeat.

pub mod health_server;
pub mod heartbeat;
pub mod log_layer;
pub mod oplog;
pub mod recorder;
pub mod retention;
pub mod system;
