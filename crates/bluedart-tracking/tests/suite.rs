//! Every integration test of this crate in one test binary (one link per build, which keeps
//! each cargo-mutants mutant quick): Blue Dart's answers in `corpus/`, read as the worker reads
//! them.

mod corpus_answers;
mod event_details;
