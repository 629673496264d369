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
//! Then it starts its shards at Discord's pace, the buckets of
//! `max_concurrency` side by side and the turns shared with every other
//! process through PostgreSQL ([`Shards`]).

mod identify_budget;
mod shards;

pub use identify_budget::{IdentifyBudget, wait_for_identify_budget};
pub use shards::{IDENTIFY_SPACING, ShardPlan, Shards, shutdown_all};
