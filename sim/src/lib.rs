//! A local stand-in for Blue Dart's API gateway: token login, tracking (XML, many waybills per
//! call, every quirk in `bluedart-protocol.md`), waybill generation, and a control API to load
//! shipments, move them along, inject faults and read what the client did.
//!
//! Used as a library by the worker's end-to-end tests (`Simulator::start`) and as a program by
//! `npm run dev` (`cargo run -p bluedart-sim -- --demo`).

pub mod api;
pub mod control;
pub mod demo;
pub mod faults;
pub mod jwt;
pub mod model;
pub mod push;
pub mod server;
pub mod state;
pub mod xml;

pub use faults::{Endpoint, Fault, FaultRule};
pub use model::{AnswerShape, Consignee, Scan, Shipment};
pub use server::Simulator;
pub use state::{CallRecord, Settings, SimConfig, SimState};
