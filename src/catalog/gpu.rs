//! A GPU as the perf and power models see it: memory, bandwidth, tensor throughput, power.

use super::precision::Precision;
use crate::check;
use crate::error::InputError;
use crate::uncertain::{Drawer, Value};
use crate::units::{Bytes, BytesPerSec, FlopsPerSec, Watts};
use serde::{Deserialize, Serialize};

/// Dense tensor-core throughput by number format (sparse figures are not used).
#[derive(Clone, Debug, Serialize, PartialEq)]
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
#[derive(Clone, Copy, Debug, Serialize, PartialEq)]
pub struct StepPower {
    /// Power at the lightest activity inside a step.
    pub floor: Watts,
    /// Weight of the compute activity.
    pub compute_weight: f64,
    /// Weight of the memory activity.
    pub memory_weight: f64,
}

/// One GPU model, from the catalog or defined inline in a scenario.
#[derive(Clone, Debug, Serialize, PartialEq)]
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_power: Option<StepPower>,
    /// Typical on-demand cloud price, $ per GPU-hour: the default for rented fleets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rent_per_hour: Option<f64>,
    /// Where the figures come from.
    pub source: String,
}

/// A GPU as written in the catalog or a scenario: the fields of [`Gpu`], each number fixed or
/// uncertain.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GpuSpec {
    id: String,
    name: String,
    memory: Value<Bytes>,
    memory_bandwidth: Value<BytesPerSec>,
    tensor: TensorPeakSpec,
    tdp: Value<Watts>,
    idle_power: Value<Watts>,
    scale_up_link: Value<BytesPerSec>,
    #[serde(default)]
    step_power: Option<StepPowerSpec>,
    #[serde(default)]
    rent_per_hour: Option<Value<f64>>,
    #[serde(default)]
    source: String,
}

/// [`TensorPeak`] as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TensorPeakSpec {
    fp16: Value<FlopsPerSec>,
    bf16: Value<FlopsPerSec>,
    #[serde(default)]
    fp8: Option<Value<FlopsPerSec>>,
    #[serde(default)]
    int8: Option<Value<FlopsPerSec>>,
    #[serde(default)]
    int4: Option<Value<FlopsPerSec>>,
}

/// [`StepPower`] as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StepPowerSpec {
    floor: Value<Watts>,
    compute_weight: Value<f64>,
    memory_weight: Value<f64>,
}

impl GpuSpec {
    /// The id it is named by.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The GPU with its numbers drawn (`field` is where it sits in the scenario, such as
    /// `hardware.gpu`), checked.
    pub fn resolve(&self, field: &str, d: &mut Drawer) -> Result<Gpu, InputError> {
        let f = |name: &str| format!("{field}.{name}");
        let t = &self.tensor;
        let gpu = Gpu {
            id: self.id.clone(),
            name: self.name.clone(),
            memory: d.value(&f("memory"), &self.memory),
            memory_bandwidth: d.value(&f("memory_bandwidth"), &self.memory_bandwidth),
            tensor: TensorPeak {
                fp16: d.value(&f("tensor.fp16"), &t.fp16),
                bf16: d.value(&f("tensor.bf16"), &t.bf16),
                fp8: t.fp8.as_ref().map(|v| d.value(&f("tensor.fp8"), v)),
                int8: t.int8.as_ref().map(|v| d.value(&f("tensor.int8"), v)),
                int4: t.int4.as_ref().map(|v| d.value(&f("tensor.int4"), v)),
            },
            tdp: d.value(&f("tdp"), &self.tdp),
            idle_power: d.value(&f("idle_power"), &self.idle_power),
            scale_up_link: d.value(&f("scale_up_link"), &self.scale_up_link),
            step_power: self.step_power.as_ref().map(|p| StepPower {
                floor: d.value(&f("step_power.floor"), &p.floor),
                compute_weight: d.value(&f("step_power.compute_weight"), &p.compute_weight),
                memory_weight: d.value(&f("step_power.memory_weight"), &p.memory_weight),
            }),
            rent_per_hour: self
                .rent_per_hour
                .as_ref()
                .map(|v| d.value(&f("rent_per_hour"), v)),
            source: self.source.clone(),
        };
        gpu.validate().map_err(|e| e.under(field))?;
        Ok(gpu)
    }
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
