//! GPU power from activity: idle between steps, rising towards the board limit with the
//! step's compute and memory activity.
//!
//! `P = P_idle + (P_tdp − P_idle) · min(1, w_c·u_c + w_m·u_m)`, where `u_c` is the step's
//! achieved share of peak tensor throughput and `u_m` its share of peak memory bandwidth.

use crate::perf_model::Activity;
use crate::units::Watts;

/// The power model of one GPU.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GpuPowerModel {
    /// Power with a model loaded and no kernel running.
    pub idle: Watts,
    /// Board power limit.
    pub tdp: Watts,
    /// Weight of compute activity (`w_c`).
    pub compute_weight: f64,
    /// Weight of memory activity (`w_m`).
    pub memory_weight: f64,
}

/// Activity weights fitted to the ML.ENERGY v3 GPU power of Llama-3.1-8B and -70B on H100
/// at batch 8 and 512 (see `docs/ARCHITECTURE.md`, "Calibration").
pub const DEFAULT_COMPUTE_WEIGHT: f64 = 1.0;
/// See [`DEFAULT_COMPUTE_WEIGHT`].
pub const DEFAULT_MEMORY_WEIGHT: f64 = 0.85;

impl GpuPowerModel {
    /// The power of a GPU running a step of the given activity.
    pub fn power(&self, activity: Activity) -> Watts {
        let load = self.compute_weight * activity.compute + self.memory_weight * activity.memory;
        self.idle + (self.tdp - self.idle) * load.clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn power_runs_from_idle_to_the_limit() {
        let gpu = GpuPowerModel {
            idle: Watts(100.0),
            tdp: Watts(700.0),
            compute_weight: 1.0,
            memory_weight: 0.5,
        };
        let at = |compute, memory| gpu.power(Activity { compute, memory });
        assert_eq!(at(0.0, 0.0), Watts(100.0));
        // 100 + 600·(0.2 + 0.5·0.6) = 400 W.
        assert_eq!(at(0.2, 0.6), Watts(400.0));
        assert_eq!(at(0.9, 0.9), Watts(700.0));
    }
}
