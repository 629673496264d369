//! Broadcasts: a developer composes a message, previews it, and sends it (now
//! or at a scheduled time) to every server's broadcast channel. The draft and
//! schedule parsing live here; the delivery worker runs in every process and
//! also applies edits and recalls of delivered messages ([`followup`]).

pub mod category;
mod claims;
mod classify;
pub mod draft;
mod followup;
mod pacing;
pub mod schedule;
pub mod worker;
