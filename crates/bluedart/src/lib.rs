//! Blue Dart: the API gateway client and the push reader, over the tracking answer's reader
//! (`bluedart-tracking`, re-exported here, so that callers name one adapter).

pub use bluedart_tracking::{codes, events, location, parse, payload, time, xml};

pub mod client;
pub mod push;
