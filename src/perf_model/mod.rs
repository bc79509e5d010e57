//! The perf model: what one forward step of a replica costs in time, FLOPs and bytes, and
//! whether the replica fits in memory. Pure functions of the model shape, the GPU and the
//! parallelism; it never sees a queue.

pub mod memory;
pub mod shape;
pub mod step;

pub use memory::{DoesNotFit, MemoryPlan, default_activation_reserve, plan_memory};
pub use shape::ModelShape;
pub use step::{
    Activity, Efficiencies, Overheads, Parallelism, PerfModel, ReplicaSetup, StepCost, StepWork,
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

/// The defaults, fitted by hand to the decode inter-token latencies of vLLM 0.11 serving
/// Llama-3.1-8B (1×H100) and Llama-3.1-70B (4×H100, TP4) in the ML.ENERGY leaderboard v3
/// (`shared/data/measurements/mlenergy_v3_lm_arena_chat.csv`): at batch 8 the step is weight
/// reads at `η_memory` plus the fixed overheads. `docs/ARCHITECTURE.md` gives the residuals.
pub const DEFAULTS: Calibration = Calibration {
    efficiencies: Efficiencies {
        compute: 0.6,
        memory: 0.85,
        link: 0.75,
    },
    overheads: Overheads {
        step: Seconds(2e-3),
        collective: Seconds(10e-6),
    },
};
