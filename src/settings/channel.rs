//! `/settings broadcast-channel`: before saving, make sure the bot can see the
//! channel, send messages and embed links there (the check lives with the
//! broadcasts, which also use it for test sends).

pub use crate::broadcast::channel::check_broadcast_channel;
