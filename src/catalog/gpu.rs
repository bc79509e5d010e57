//! A GPU as the perf and power models see it: memory, bandwidth, tensor throughput, power.

use super::precision::Precision;
use crate::check;
use crate::error::InputError;
use crate::units::{Bytes, BytesPerSec, FlopsPerSec, Watts};
use serde::{Deserialize, Serialize};

/// Dense tensor-core throughput by number format (sparse figures are not used).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TensorPeak {
    /// FP16 dense throughput.
    pub fp16: FlopsPerSec,
    /// BF16 dense throughput.
    pub bf16: FlopsPerSec,
    /// FP8 dense throughput, where the GPU has FP8 tensor cores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fp8: Option<FlopsPerSec>,
    /// INT8 dense throughput (TOPS), where supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub int8: Option<FlopsPerSec>,
    /// INT4 dense throughput (TOPS), where supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub int4: Option<FlopsPerSec>,
}

/// How much power a GPU draws inside a step: a floor, plus activity-weighted shares of the
/// way to its TDP (see `facility::power`). Fitted to measurements where they exist.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StepPower {
    /// Power at the lightest activity inside a step.
    pub floor: Watts,
    /// Weight of the compute activity.
    pub compute_weight: f64,
    /// Weight of the memory activity.
    pub memory_weight: f64,
}

/// One GPU model, from the catalog or defined inline in a scenario.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Gpu {
    /// Short identifier used in scenarios, such as `h100-sxm`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// HBM or GDDR capacity.
    pub memory: Bytes,
    /// Peak memory bandwidth.
    pub memory_bandwidth: BytesPerSec,
    /// Dense tensor throughput by format.
    pub tensor: TensorPeak,
    /// Board power limit (TDP / TGP): the power at full activity.
    pub tdp: Watts,
    /// Power drawn when powered on with nothing running.
    pub idle_power: Watts,
    /// Per-GPU scale-up bandwidth (NVLink, Infinity Fabric or PCIe), both directions
    /// together as datasheets state it; collectives use half of it in each direction.
    pub scale_up_link: BytesPerSec,
    /// Power inside steps; the H100 fit scaled to this GPU's TDP when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_power: Option<StepPower>,
    /// Typical on-demand cloud price, $ per GPU-hour: the default for rented fleets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rent_per_hour: Option<f64>,
    /// Where the figures come from.
    #[serde(default)]
    pub source: String,
}

impl Gpu {
    /// The peak a matrix product runs at when weights are stored in `weights`, and the
    /// format it runs in. Formats the GPU has no tensor cores for run as BF16 after
    /// dequantisation (weight-only quantisation, as AWQ/GPTQ kernels do).
    pub fn matmul_peak(&self, weights: Precision) -> (FlopsPerSec, Precision) {
        let native = match weights {
            Precision::Fp16 => Some(self.tensor.fp16),
            Precision::Bf16 => Some(self.tensor.bf16),
            Precision::Fp8 => self.tensor.fp8,
            Precision::Int8 => self.tensor.int8,
            Precision::Int4 => self.tensor.int4,
        };
        match native {
            Some(peak) => (peak, weights),
            None => (self.tensor.bf16, Precision::Bf16),
        }
    }

    /// Checks that every figure is physically possible.
    pub fn validate(&self) -> Result<(), InputError> {
        check::positive("memory", self.memory.0)?;
        check::positive("memory_bandwidth", self.memory_bandwidth.0)?;
        check::positive("tensor.fp16", self.tensor.fp16.0)?;
        check::positive("tensor.bf16", self.tensor.bf16.0)?;
        for (field, peak) in [
            ("tensor.fp8", self.tensor.fp8),
            ("tensor.int8", self.tensor.int8),
            ("tensor.int4", self.tensor.int4),
        ] {
            if let Some(peak) = peak {
                check::positive(field, peak.0)?;
            }
        }
        check::positive("tdp", self.tdp.0)?;
        check::positive("scale_up_link", self.scale_up_link.0)?;
        if let Some(p) = self.step_power {
            check::non_negative("step_power.compute_weight", p.compute_weight)?;
            check::non_negative("step_power.memory_weight", p.memory_weight)?;
            if !(p.floor.0 >= self.idle_power.0 && p.floor.0 <= self.tdp.0) {
                return Err(InputError::field(
                    "step_power.floor",
                    format!(
                        "must lie between idle_power ({} W) and tdp ({} W), got {} W",
                        self.idle_power.0, self.tdp.0, p.floor.0
                    ),
                ));
            }
        }
        if let Some(price) = self.rent_per_hour {
            check::non_negative("rent_per_hour", price)?;
        }
        check::non_negative("idle_power", self.idle_power.0)?;
        if self.idle_power.0 >= self.tdp.0 {
            return Err(InputError::field(
                "idle_power",
                format!(
                    "must be below the tdp of {} W, got {} W",
                    self.tdp.0, self.idle_power.0
                ),
            ));
        }
        Ok(())
    }
}
