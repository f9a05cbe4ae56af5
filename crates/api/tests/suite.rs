//! Every integration test of this crate in one test binary: one link per build instead of one
//! per file, which keeps `cargo test` and each cargo-mutants mutant quick. Each module is a
//! file beside this one with a subject of its own.

mod cached_view;
mod contract;
mod edges;
mod hostile;
mod hostile_input;
mod push;
mod support;
