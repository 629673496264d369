//! What the panel observes about the bot and its host, and the background
//! tasks that keep it: the batched command recorder, the tracing layer that
//! stores operational log entries (and `oplog` for entries written at once),
//! retention of old logs and events, this process's heartbeat, the system
//! sampler (CPU, memory, disk), and the health-check HTTP server.

pub mod event_order;
pub mod guild_events;
pub mod health_server;
pub mod heartbeat;
pub mod log_layer;
pub mod metrics;
pub mod oplog;
pub mod recorder;
pub mod retention;
pub mod supervisor;
pub mod system;
