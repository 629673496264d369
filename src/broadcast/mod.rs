//! Broadcasts: a developer composes a message, previews it, and sends it (now
//! or at a scheduled time) to every server's broadcast channel. The draft and
//! schedule parsing live here; the delivery worker runs in every process.

pub mod category;
mod claims;
mod classify;
pub mod draft;
pub mod schedule;
pub mod worker;
