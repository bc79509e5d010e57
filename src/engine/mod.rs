//! The engine: simulated time, the event queue, seeded random streams, and the loop that
//! runs one simulated day. It knows nothing of money.

pub mod queue;
pub mod rng;
pub mod simulation;
pub mod time;
pub mod tournament;

pub use queue::EventQueue;
pub use rng::{Stream, Streams};
pub use simulation::{simulate, simulate_keeping_completions};
pub use time::SimTime;

/// How the engine advances a replica's steps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Stepping {
    /// A run of decode steps in which the batch does not change is one event, and a batch's
    /// decoding sequences advance in lockstep without a pass over them (exact: the same
    /// results as one step at a time, at a cost per run and per batch change instead of per
    /// step and per sequence).
    #[default]
    Runs,
    /// Every step is an event and takes the scheduler's pass over the whole batch: the
    /// reference the runs and the lockstep are checked against.
    Single,
}
