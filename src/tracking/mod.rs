//! The tracking domain: orders, events, the rules for merging carrier news into them.

pub mod breaker;
pub mod carrier;
pub mod merge;
pub mod model;
pub mod response;
pub mod schedule;
pub mod service;
pub mod sync;
