//! Shared test harness: a fake Discord (REST + gateway) with an OpenAPI request
//! validator, and throwaway PostgreSQL databases.
#![allow(dead_code)]

pub mod db;
