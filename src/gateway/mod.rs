//! What a process checks with Discord before it opens gateway sessions.
//!
//! Discord allows a bot 1,000 IDENTIFYs a day (`session_start_limit` in
//! `GET /gateway/bot`). Past that it ends every session and resets the
//! token: the whole bot is offline until someone puts a new one in place.
//! A crash loop under a service manager, or a deploy that restarts 40
//! processes of 25 shards, gets there in minutes. So a process reads the
//! budget first and does not connect while what is left is below its
//! shards plus `IDENTIFY_RESERVE` ([`wait_for_identify_budget`]).
//!
//! Spacing: serenity 0.12 starts a process's shards one at a time, 5 s
//! apart, whatever `max_concurrency` says, so shards of one bucket
//! (`shard_id % max_concurrency`) never identify closer than Discord allows.

mod identify_budget;

pub use identify_budget::{IdentifyBudget, wait_for_identify_budget};
