//! Blue Dart: the tracking XML, its status codes, its dates, and the API gateway client.

pub mod client;
pub mod codes;
pub mod events;
pub mod location;
pub mod parse;
pub mod payload;
pub mod push;
pub mod time;
pub mod xml;
