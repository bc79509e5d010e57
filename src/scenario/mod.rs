//! Scenarios: the YAML a user writes ([`spec`]), and the validated, typed scenario the
//! simulator runs ([`Scenario`]), joined by [`resolve`](resolve::resolve) and read from files
//! by [`load()`].

pub mod load;
pub mod resolve;
pub mod spec;

pub use crate::uncertain::{Drawn, Value};
pub use load::{Overrides, ScenarioFile, from_yaml, load};

use crate::cost::Prices;
use crate::facility::{Facility, GpuPowerModel};
use crate::fleet::{Autoscaling, EdgeConfig, FailureModel, FleetLayout, RouterPolicy};
use crate::perf_model::{MemoryPlan, ReplicaSetup};
use crate::serve::{PromptTable, SchedulerConfig};
use crate::stats::Slo;
use crate::units::Seconds;
use crate::workload::Workload;

/// A variant of a scenario file, applied as each run is resolved: a fleet size in place of
/// `fleet.servers`, a tensor-parallel degree in place of `fleet.tensor_parallel`, a GPU in
/// place of `hardware.gpu`, and a multiplier of the offered load. `fleetsim sweep` resolves
/// every point as a variant of one file, and `fleetsim grow` every fleet and month, so every
/// point draws the same values from the same streams.
#[derive(Clone, Debug, PartialEq)]
pub struct Variant {
    /// Servers instead of `fleet.servers`; the file's when `None`.
    pub servers: Option<u64>,
    /// Tensor-parallel degree instead of `fleet.tensor_parallel`; the file's when `None`.
    pub tensor_parallel: Option<u32>,
    /// GPU instead of `hardware.gpu`, with its prices; the file's when `None`.
    pub gpu: Option<GpuVariant>,
    /// Multiplier of the open-loop mean rate, or of the closed-loop clients (rounded, at
    /// least one).
    pub load: f64,
    /// Whether `fleet.autoscaling` applies; off, the fleet is fixed at `fleet.servers`.
    pub autoscaling: bool,
}

impl Default for Variant {
    fn default() -> Self {
        Variant {
            servers: None,
            tensor_parallel: None,
            gpu: None,
            load: 1.0,
            autoscaling: true,
        }
    }
}

/// A GPU in place of the scenario's `hardware.gpu`. The scenario's prices are those of its
/// own GPU: a price that depends on the GPU (an owned `server_price`, a rented `gpu_hour` or
/// `reserved_gpu_hour`) must be given here for any other, while a fleet rented at catalog
/// prices takes this GPU's.
#[derive(Clone, Debug, PartialEq)]
pub struct GpuVariant {
    /// The GPU and its prices, as written.
    pub spec: spec::SweepGpuSpec,
    /// Where it was written (`sweep.gpus[1]`, `--gpus`): errors about it name this field.
    pub field: String,
}

/// A scenario ready to simulate: every value checked and every default applied.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Name, used for the default output folder.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Seed of every random stream.
    pub seed: u64,
    /// How the engine advances steps (runs of decode steps as one event, or one by one).
    pub stepping: crate::engine::Stepping,
    /// Threads one run may simulate its replicas on, where they are independent given their
    /// arrivals (1: the fleet as one simulation). The study sets it from its threads and
    /// runs; the results are the same bits whatever it is.
    pub run_threads: usize,
    /// Which run of the study this is.
    pub run: u64,
    /// The uncertain inputs as this run drew them.
    pub inputs: Vec<Drawn>,
    /// Simulated time from midnight.
    pub horizon: Seconds,
    /// Width of a time-series row.
    pub timeseries_interval: Seconds,
    /// The traffic.
    pub workload: Workload,
    /// Model, GPU, formats, parallelism, efficiencies: what the step model needs.
    pub replica: ReplicaSetup,
    /// One GPU's memory budget.
    pub memory: MemoryPlan,
    /// Batch limits.
    pub scheduler: SchedulerConfig,
    /// The prompt blocks replicas cache and reuse; `None` without prefix caching.
    pub prefix_caching: Option<PromptTable>,
    /// Tokens per KV block.
    pub kv_block_tokens: u32,
    /// KV blocks per replica.
    pub kv_blocks_per_replica: u64,
    /// Servers and replicas.
    pub fleet: FleetLayout,
    /// Router policy.
    pub router: RouterPolicy,
    /// Servers switched on and off with the load; `None` for a fixed fleet. When present,
    /// `fleet` lays out its maximum.
    pub autoscaling: Option<Autoscaling>,
    /// GPU power from activity.
    pub gpu_power: GpuPowerModel,
    /// The servers' non-GPU parts, cooling and distribution overhead.
    pub facility: Facility,
    /// The user-facing edge link.
    pub edge: EdgeConfig,
    /// GPU and server failures, if enabled.
    pub failures: Option<FailureModel>,
    /// Prices.
    pub prices: Prices,
    /// Latency targets.
    pub slo: Slo,
}
