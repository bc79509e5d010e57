//! The engine: simulated time, the event queue, seeded random streams, and the loop that
//! runs one simulated day. It knows nothing of money.

pub mod queue;
pub mod rng;
pub mod simulation;
pub mod time;

pub use queue::EventQueue;
pub use rng::{Stream, Streams};
pub use simulation::simulate;
pub use time::SimTime;
