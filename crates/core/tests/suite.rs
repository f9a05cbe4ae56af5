//! Every integration test of this crate in one test binary: one link per build instead of one
//! per file, which keeps `cargo test` and each cargo-mutants mutant quick. Each module is a
//! file beside this one with a subject of its own.

mod breaker_counts;
mod cached_view;
mod deferred_cache;
mod intake;
mod push_service;
mod resilience;
mod rules_edges;
mod security;
mod service;
mod store_contract;
mod support;
mod sync_service;
mod webhooks;
