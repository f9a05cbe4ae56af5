//! In-memory ports and a world to run the services in, for native tests (feature `testing`).

mod memory;
mod queues;
mod webhooks;

pub use memory::*;
pub use queues::*;
pub use webhooks::*;
