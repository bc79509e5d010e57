//! The run's report as data: the scenario's resolved configuration beside the results.
//! `summary.json` is this document; `summary.md` and the printed summary render it.

use crate::perf_model::ModelShape;
use crate::scenario::Scenario;
use crate::stats::RunSummary;
use serde::Serialize;

/// Version of the `summary.json` layout; raised when a field changes meaning or goes away.
pub const SCHEMA_VERSION: u32 = 1;

/// Everything `summary.json` holds.
#[derive(Clone, Debug, Serialize)]
pub struct RunDocument {
    /// Layout version.
    pub schema_version: u32,
    /// The fleetsim release that wrote it.
    pub fleetsim_version: &'static str,
    /// What was simulated.
    pub scenario: ScenarioInfo,
    /// How the fleet was built from it.
    pub configuration: Configuration,
    /// What came out.
    pub results: RunSummary,
}

/// The scenario's identity and study settings.
#[derive(Clone, Debug, Serialize)]
pub struct ScenarioInfo {
    /// Name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Seed.
    pub seed: u64,
    /// Simulated seconds.
    pub horizon_s: f64,
    /// Time-series row width, seconds.
    pub timeseries_interval_s: f64,
}

/// The resolved fleet and serving configuration.
#[derive(Clone, Debug, Serialize)]
pub struct Configuration {
    /// Model id.
    pub model: String,
    /// Model display name.
    pub model_name: String,
    /// Parameters, billions.
    pub params_billion: f64,
    /// Parameters active per token, billions.
    pub active_params_billion: f64,
    /// GPU id.
    pub gpu: String,
    /// GPU display name.
    pub gpu_name: String,
    /// Weight format.
    pub weights: String,
    /// KV-cache format.
    pub kv_cache: String,
    /// Servers.
    pub servers: u64,
    /// GPUs per server.
    pub gpus_per_server: u32,
    /// GPUs in the fleet.
    pub gpus: u64,
    /// Tensor-parallel degree.
    pub tensor_parallel: u32,
    /// Pipeline-parallel degree.
    pub pipeline_parallel: u32,
    /// Replicas.
    pub replicas: u64,
    /// Router policy.
    pub router: &'static str,
    /// Batching mode.
    pub batching: String,
    /// Most sequences per batch.
    pub max_seqs: u32,
    /// Most tokens per step.
    pub max_tokens_per_step: u32,
    /// Whether prompts are chunked.
    pub chunked_prefill: bool,
    /// Usable memory per GPU, GiB.
    pub memory_usable_gib: f64,
    /// Weights per GPU, GiB.
    pub memory_weights_gib: f64,
    /// Activation reserve per GPU, GiB.
    pub memory_activations_gib: f64,
    /// KV cache per GPU, GiB.
    pub memory_kv_cache_gib: f64,
    /// Tokens of KV cache per replica.
    pub kv_capacity_tokens: u64,
    /// Tokens per KV block.
    pub kv_block_tokens: u32,
    /// Mean arrival rate, per second.
    pub arrival_rate_mean_per_s: f64,
    /// Facility power ÷ IT power.
    pub pue: f64,
}

impl RunDocument {
    /// The document of a run of `scenario` that produced `results`.
    pub fn new(scenario: &Scenario, results: RunSummary) -> RunDocument {
        let r = &scenario.replica;
        let shape = ModelShape::of(&r.model);
        let m = &scenario.memory;
        RunDocument {
            schema_version: SCHEMA_VERSION,
            fleetsim_version: env!("CARGO_PKG_VERSION"),
            scenario: ScenarioInfo {
                name: scenario.name.clone(),
                description: scenario.description.clone(),
                seed: scenario.seed,
                horizon_s: scenario.horizon.0,
                timeseries_interval_s: scenario.timeseries_interval.0,
            },
            configuration: Configuration {
                model: r.model.id.clone(),
                model_name: r.model.name.clone(),
                params_billion: shape.total_params() / 1e9,
                active_params_billion: shape.active_params() / 1e9,
                gpu: r.gpu.id.clone(),
                gpu_name: r.gpu.name.clone(),
                weights: r.weights.to_string(),
                kv_cache: r.kv_cache.to_string(),
                servers: scenario.fleet.servers,
                gpus_per_server: scenario.fleet.gpus_per_server,
                gpus: scenario.fleet.gpus(),
                tensor_parallel: r.parallelism.tensor,
                pipeline_parallel: r.parallelism.pipeline,
                replicas: scenario.fleet.replicas,
                router: scenario.router.name(),
                batching: format!("{:?}", scenario.scheduler.batching).to_lowercase(),
                max_seqs: scenario.scheduler.max_seqs,
                max_tokens_per_step: scenario.scheduler.max_tokens_per_step,
                chunked_prefill: scenario.scheduler.chunked_prefill,
                memory_usable_gib: m.usable_per_gpu.gib(),
                memory_weights_gib: m.weights_per_gpu.gib(),
                memory_activations_gib: m.activations_per_gpu.gib(),
                memory_kv_cache_gib: m.kv_cache_per_gpu.gib(),
                kv_capacity_tokens: scenario.kv_blocks_per_replica
                    * u64::from(scenario.kv_block_tokens),
                kv_block_tokens: scenario.kv_block_tokens,
                arrival_rate_mean_per_s: scenario.workload.mean_rate,
                pue: scenario.facility.pue,
            },
            results,
        }
    }
}
