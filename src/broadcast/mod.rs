//! Broadcasts: a developer composes a message, previews it, and sends it (now
//! or at a scheduled time) to every server's broadcast channel. The draft and
//! schedule parsing live here; the delivery worker runs in every process and
//! also applies edits and recalls of delivered messages (`followup`).

pub mod audience;
pub mod category;
pub mod channel;
mod claims;
mod classify;
mod context;
pub mod draft;
mod followup;
pub mod gate;
mod pacing;
mod publish;
pub mod schedule;
pub mod worker;
