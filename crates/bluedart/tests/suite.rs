//! Every integration test of this crate in one test binary: one link per build instead of one
//! per file, which keeps `cargo test` and each cargo-mutants mutant quick. Each module is a
//! file beside this one with a subject of its own.

mod bluedart_client;
mod gateway_details;
mod push;
mod scripted_gateway;
mod support;
