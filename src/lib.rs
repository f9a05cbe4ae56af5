//! Blue Dart shipment tracking at the edge.
//!
//! `config` and the domain modules are plain Rust, tested natively; `platform` is the thin layer
//! that binds them to Workers (HTTP routes, the cron trigger, D1, KV, outbound fetch).

pub mod auth;
pub mod config;
mod platform;
pub mod response;
pub mod store_rows;
