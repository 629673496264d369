//! The integration tests, as one binary (one link of the harness, serenity and
//! poise instead of one per file). Each module is one feature; test names read
//! as sentences. `support` is the harness: a fake Discord (REST + gateway)
//! validating every request against Discord's OpenAPI spec, the reference bot
//! run in-process or as its own process, and a fresh database per test.

mod support;

mod admin_bot;
mod alerts;
mod architecture;
mod boot_burst;
mod broadcasts;
mod command_latency;
mod command_recording;
mod controls;
mod developers;
mod embedded_postgres;
mod fake_discord;
mod followups_killed;
mod health;
mod identify_budget;
mod interactions_endpoint;
mod logs;
mod managers;
mod outage;
mod owner_controls;
mod permission_snapshot;
mod permissions;
mod production_transport;
mod reconnects;
mod reference_binary;
mod revoked_token;
mod secrets;
mod servers;
mod settings;
mod usage;
