//! Shared test harness: a fake Discord (REST + gateway) with an OpenAPI request
//! validator, the reference bot run in-process, and throwaway PostgreSQL databases.
#![allow(dead_code)]

pub mod binary;
pub mod binary_broadcast;
pub mod bot;
pub mod broadcast;
pub mod db;
pub mod discord;
pub mod fake_discord;
pub mod fault_proxy;
pub mod fixtures;
pub mod http;
pub mod interact;
pub mod spec;
