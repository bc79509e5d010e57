//! GPU power from activity: idle between steps; during a step, a floor (clocks and memory
//! ramped up as soon as kernels run) rising towards the board limit with the step's compute
//! and memory activity:
//!
//! `P = P_floor + (P_tdp − P_floor) · min(1, w_c·u_c + w_m·u_m)`,
//!
//! where `u_c` is the step's achieved share of peak tensor throughput and `u_m` its share of
//! peak memory bandwidth. The floor and weights are fitted per GPU to measured power
//! (`docs/examples/fit_gpu_power.rs`, `docs/POWER.md`).

use crate::catalog::Gpu;
use crate::perf_model::Activity;
use crate::units::Watts;

/// For GPUs without a fit of their own: the H100 SXM fit (floor 58% of TDP, `w_c` 1.62,
/// `w_m` 0.28) with the floor scaled to the GPU's TDP.
pub const FALLBACK_FLOOR_SHARE: f64 = 0.58;
/// See [`FALLBACK_FLOOR_SHARE`].
pub const FALLBACK_COMPUTE_WEIGHT: f64 = 1.62;
/// See [`FALLBACK_FLOOR_SHARE`].
pub const FALLBACK_MEMORY_WEIGHT: f64 = 0.28;

/// The power model of one GPU.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GpuPowerModel {
    /// Power with a model loaded and no kernel running.
    pub idle: Watts,
    /// Board power limit.
    pub tdp: Watts,
    /// Power at the lightest activity inside a step.
    pub active_floor: Watts,
    /// Weight of compute activity (`w_c`).
    pub compute_weight: f64,
    /// Weight of memory activity (`w_m`).
    pub memory_weight: f64,
}

impl GpuPowerModel {
    /// The model of `gpu`: its own fit, or the fallback.
    pub fn for_gpu(gpu: &Gpu) -> GpuPowerModel {
        let (floor, compute_weight, memory_weight) = match gpu.step_power {
            Some(fit) => (fit.floor, fit.compute_weight, fit.memory_weight),
            None => (
                Watts((gpu.tdp.0 * FALLBACK_FLOOR_SHARE).max(gpu.idle_power.0)),
                FALLBACK_COMPUTE_WEIGHT,
                FALLBACK_MEMORY_WEIGHT,
            ),
        };
        GpuPowerModel {
            idle: gpu.idle_power,
            tdp: gpu.tdp,
            active_floor: floor,
            compute_weight,
            memory_weight,
        }
    }

    /// The power of a GPU running a step of the given activity.
    pub fn power(&self, activity: Activity) -> Watts {
        let load = self.compute_weight * activity.compute + self.memory_weight * activity.memory;
        self.active_floor + (self.tdp - self.active_floor) * load.clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_power_runs_from_the_floor_to_the_limit() {
        let gpu = GpuPowerModel {
            idle: Watts(50.0),
            tdp: Watts(700.0),
            active_floor: Watts(100.0),
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
