//! The tracking domain, free of any platform type: what an order and its shipment are, who may
//! read them, the rules for merging carrier news and scheduling checks within a budget, the
//! narrow ports the domain talks to the world through, and the application services built on
//! them. The worker implements the ports with D1, KV and `fetch`; `testing` implements them in
//! memory.

pub mod access;
pub mod base64;
pub mod breaker;
pub mod carrier;
pub mod error;
pub mod json_text;
pub mod model;
pub mod ports;
pub mod push;
pub mod queue;
pub mod rules;
pub mod runs;
pub mod service;
pub mod sorting;
#[cfg(feature = "store-contract")]
pub mod store_contract;
pub mod utc;
pub mod webhooks;

#[cfg(feature = "testing")]
pub mod testing;
