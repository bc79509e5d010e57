//! The perf model: what one forward step of a replica costs in time, FLOPs and bytes, and
//! whether the replica fits in memory. Pure functions of the model shape, the GPU and the
//! parallelism; it never sees a queue.

pub mod memory;
pub mod shape;
pub mod step;

pub use memory::{DoesNotFit, MemoryPlan, default_activation_reserve, plan_memory};
pub use shape::ModelShape;
pub use step::{
    Activity, Efficiencies, FixedPart, Overheads, Parallelism, PerfModel, ReplicaSetup, StepCost,
    StepWork,
};

use crate::units::Seconds;

/// Efficiencies and overheads a scenario gets when it sets none.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Calibration {
    /// Achieved fractions of peak.
    pub efficiencies: Efficiencies,
    /// Fixed times per step and per collective.
    pub overheads: Overheads,
}

/// The defaults: `fleetsim validate validation/mlenergy_v3.csv --fit` (vLLM 0.11 serving
/// Llama-3.1 8B and 70B on H100 and B200, ML.ENERGY leaderboard v3) gives `η_compute` 0.601,
/// `η_memory` 0.697 and a 2.0 ms step overhead, rounded here; link efficiency and collective
/// latency are not fitted (no row exercises them apart). `docs/VALIDATION.md` gives the errors.
pub const DEFAULTS: Calibration = Calibration {
    efficiencies: Efficiencies {
        compute: 0.6,
        memory: 0.7,
        link: 0.75,
    },
    overheads: Overheads {
        step: Seconds(2e-3),
        collective: Seconds(10e-6),
    },
};
