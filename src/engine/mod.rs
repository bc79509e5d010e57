//! The engine: simulated time, the event queue, seeded random streams, and the loop that
//! runs one simulated day. It knows nothing of money.

pub mod queue;
pub mod rng;
pub mod simulation;
pub mod time;

pub use queue::EventQueue;
pub use rng::{Stream, Streams};
pub use simulation::{simulate, simulate_keeping_completions};
pub use time::SimTime;

/// How the engine advances a replica's steps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Stepping {
    /// A run of decode steps in which the batch does not change is one event (exact: the
    /// same results as one step at a time, at a cost per run instead of per step).
    #[default]
    Runs,
    /// Every step is an event: the reference the runs are checked against.
    Single,
}
