//! Blue Dart's tracking answer, read: the XML, its status codes, places and IST times, turned
//! into the service's tracking events and the payload kept for admins. What every synced
//! shipment goes through, so a crate of its own, compiled for speed (`opt-level = 3`) while the
//! gateway client and the push reader in `bluedart` compile for size.

pub mod codes;
pub mod events;
pub mod location;
#[cfg(test)]
mod numbers;
pub mod parse;
pub mod payload;
pub mod time;
pub mod xml;
