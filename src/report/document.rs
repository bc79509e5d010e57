//! The run's report as data: the scenario's resolved configuration beside the results.
//! `summary.json` is this document; `summary.md` and the printed summary render it.

use crate::cost::{Hardware, Ledger};
use crate::facility::{EnergySummary, PueModel};
use crate::perf_model::ModelShape;
use crate::scenario::Scenario;
use crate::stats::{RunSummary, SloTarget, Spread, spread};
use crate::study::{HEADLINES, RunDetail, StudyResult};
use crate::workload::Replay;
use serde::Serialize;

/// Version of the `summary.json` layout; raised when a field changes meaning or goes away.
/// 2: energy moved into `energy` (with servers and cooling), `cost` added. 3: a study of many
/// runs: `headlines`, `cost_breakdown`, `slo`, `inputs`; run 0's figures under `first_run`.
pub const SCHEMA_VERSION: u32 = 3;

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
    /// What came out of the engine.
    pub results: RunSummary,
    /// Energy by where it goes.
    pub energy: EnergySummary,
    /// The daily bill.
    pub cost: Ledger,
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
    /// Whether replicas cache prompt blocks and reuse them.
    pub prefix_caching: bool,
    /// Tokens of a cached prompt block, with prefix caching.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix_block_tokens: Option<u32>,
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
    /// Mean arrival rate, per second, of an open stream; null for a closed loop.
    pub arrival_rate_mean_per_s: Option<f64>,
    /// How requests arrive, in words.
    pub traffic: String,
    /// The trace replayed, if the requests come from one (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<TraceInfo>,
    /// How PUE is set.
    pub pue: String,
    /// Share of the facility overhead that is cooling.
    pub cooling_share: f64,
    /// How the servers are paid for.
    pub hardware_pricing: String,
    /// Failure rates, or `off`.
    pub failures: String,
    /// How the fleet autoscales, in words; `off` for a fixed fleet.
    pub autoscaling: String,
    /// The link tensor-parallel all-reduces cross, and its bandwidth each way.
    pub tensor_parallel_link: String,
    /// The link pipeline hand-offs cross, and its bandwidth each way.
    pub pipeline_parallel_link: String,
    /// Edge link bandwidth each way, Gb/s.
    pub edge_gbit_per_s: f64,
    /// Edge link one-way latency, ms.
    pub edge_latency_ms: f64,
}

/// PUE as a phrase.
fn describe_pue(model: &PueModel) -> String {
    match model {
        PueModel::Constant(pue) => format!("{pue}"),
        PueModel::Hourly(values) => {
            let (low, high) = values
                .iter()
                .fold((f64::MAX, f64::MIN), |(l, h), v| (l.min(*v), h.max(*v)));
            format!("hourly, {low}–{high}")
        }
        PueModel::Temperature {
            base,
            threshold_c,
            per_degree,
            low_load,
            ..
        } => format!(
            "{base} + {per_degree} per °C above {threshold_c} °C + {low_load} × (1 − IT load)"
        ),
    }
}

/// A replica-internal link as a phrase: which it is and its bandwidth each way.
fn describe_link(inside_server: bool, each_way: crate::units::BytesPerSec) -> String {
    let kind = if inside_server {
        "scale-up (NVLink or PCIe)"
    } else {
        "scale-out (NIC)"
    };
    format!("{kind}, {:.0} GB/s each way", each_way.0 / 1e9)
}

/// Hardware pricing as a phrase.
fn describe_hardware(hardware: &Hardware) -> String {
    match hardware {
        Hardware::Owned {
            server_usd,
            amortization_years,
            financing_rate,
            maintenance_rate,
        } => format!(
            "owned: ${server_usd:.0} per server over {amortization_years} years at \
             {:.1}% interest, maintenance {:.1}% a year",
            financing_rate * 100.0,
            maintenance_rate * 100.0
        ),
        Hardware::Rented {
            includes_facility,
            on_demand_usd,
            reserved_usd,
            reserved_share,
        } => format!(
            "rented: ${on_demand_usd} per GPU-hour on demand, ${reserved_usd} reserved for \
             {:.0}% of GPUs{}",
            reserved_share * 100.0,
            if *includes_facility {
                ", power and space included"
            } else {
                ", power and space billed apart"
            }
        ),
    }
}

impl RunDocument {
    /// The document of a run of `scenario` whose figures are `result`.
    pub fn new(scenario: &Scenario, result: &RunDetail) -> RunDocument {
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
                prefix_caching: scenario.prefix_caching.is_some(),
                prefix_block_tokens: scenario.prefix_caching.as_ref().map(|p| p.block_tokens()),
                memory_usable_gib: m.usable_per_gpu.gib(),
                memory_weights_gib: m.weights_per_gpu.gib(),
                memory_activations_gib: m.activations_per_gpu.gib(),
                memory_kv_cache_gib: m.kv_cache_per_gpu.gib(),
                kv_capacity_tokens: scenario.kv_blocks_per_replica
                    * u64::from(scenario.kv_block_tokens),
                kv_block_tokens: scenario.kv_block_tokens,
                arrival_rate_mean_per_s: scenario.workload.mean_rate(),
                traffic: scenario.workload.arrivals.to_string(),
                trace: scenario.workload.replay().map(TraceInfo::of),
                pue: describe_pue(&scenario.facility.pue),
                cooling_share: scenario.facility.cooling_share,
                hardware_pricing: describe_hardware(&scenario.prices.hardware),
                failures: scenario.failures.map_or("off".into(), |f| {
                    format!(
                        "GPU MTBF {:.0} h, MTTR {:.1} h; server MTBF {:.0} h, MTTR {:.1} h; \
                         {} retries",
                        f.gpu_mtbf.0 / 3600.0,
                        f.gpu_mttr.0 / 3600.0,
                        f.server_mtbf.0 / 3600.0,
                        f.server_mttr.0 / 3600.0,
                        f.max_retries
                    )
                }),
                autoscaling: scenario.autoscaling.map_or("off".into(), |a| a.to_string()),
                tensor_parallel_link: describe_link(
                    r.parallelism.tensor <= scenario.fleet.gpus_per_server,
                    r.tensor_link,
                ),
                pipeline_parallel_link: describe_link(
                    r.parallelism.gpus() <= scenario.fleet.gpus_per_server,
                    r.pipeline_link,
                ),
                edge_gbit_per_s: scenario.edge.bandwidth.0 * 8.0 / 1e9,
                edge_latency_ms: scenario.edge.latency.0 * 1e3,
            },
            results: result.summary,
            energy: result.energy,
            cost: result.cost.clone(),
        }
    }
}

/// A replayed trace: where its requests come from and which rows were left out.
#[derive(Clone, Debug, Serialize)]
pub struct TraceInfo {
    /// The trace's file name.
    pub file: String,
    /// Its format.
    pub format: &'static str,
    /// Requests read.
    pub requests: u64,
    /// Rows without prompt or output tokens, left out.
    pub rows_without_tokens: u64,
    /// Rows that could not be read, skipped (`--skip-bad-rows`).
    pub rows_skipped: u64,
    /// The first of them: its line and what was wrong.
    pub first_skipped: Option<String>,
    /// Multiplier of its timestamps.
    pub time_scale: f64,
    /// Multiplier of its rate.
    pub rate_scale: f64,
    /// Whether it repeats until the horizon.
    pub looped: bool,
}

impl TraceInfo {
    /// What a report says of `replay`.
    pub fn of(replay: &Replay) -> TraceInfo {
        let trace = replay.trace();
        let rows = trace.rows();
        TraceInfo {
            file: trace.name().to_string(),
            format: trace.format().name(),
            requests: rows.requests,
            rows_without_tokens: rows.empty,
            rows_skipped: rows.bad,
            first_skipped: rows.first_bad.clone(),
            time_scale: replay.time_scale(),
            rate_scale: replay.rate_scale(),
            looped: replay.looped(),
        }
    }
}

/// A headline figure's distribution, as `summary.json` holds it.
#[derive(Clone, Debug, Serialize)]
pub struct HeadlineEntry {
    /// Key (the `runs.csv` column).
    pub key: &'static str,
    /// Label.
    pub label: &'static str,
    /// Unit.
    pub unit: &'static str,
    /// The distribution across runs.
    #[serde(flatten)]
    pub spread: Spread,
}

/// An uncertain input, as `summary.json` holds it.
#[derive(Clone, Debug, Serialize)]
pub struct InputEntry {
    /// Field path.
    pub field: String,
    /// Distribution as written.
    pub distribution: String,
    /// The values drawn across runs.
    pub drawn: Spread,
    /// Spearman's rank correlation with the daily cost.
    pub rank_correlation_with_cost: Option<f64>,
}

/// A bill line's mean across runs.
#[derive(Clone, Debug, Serialize)]
pub struct CostLineEntry {
    /// Category.
    pub category: &'static str,
    /// Item.
    pub item: String,
    /// Mean $ per day.
    pub mean_usd_per_day: f64,
}

/// The SLO and how often the runs met it.
#[derive(Clone, Debug, Serialize)]
pub struct SloEntry {
    /// The targets (run 0's).
    pub targets: Vec<SloTarget>,
    /// Share of runs that met every target.
    pub attainment: f64,
}

/// Everything `summary.json` holds for a study.
#[derive(Clone, Debug, Serialize)]
pub struct StudyDocument {
    /// Layout version.
    pub schema_version: u32,
    /// The fleetsim release that wrote it.
    pub fleetsim_version: &'static str,
    /// What was simulated (with `runs`).
    pub scenario: ScenarioInfo,
    /// Runs in the study.
    pub runs: u64,
    /// How the fleet was built (run 0; uncertain inputs vary by run).
    pub configuration: Configuration,
    /// Headline figures across runs.
    pub headlines: Vec<HeadlineEntry>,
    /// Mean bill across runs.
    pub cost_breakdown: Vec<CostLineEntry>,
    /// Latency targets.
    pub slo: SloEntry,
    /// Uncertain inputs, strongest pull on the cost first.
    pub inputs: Vec<InputEntry>,
    /// Run 0 in full.
    pub first_run: FirstRun,
}

/// Run 0's detailed results.
#[derive(Clone, Debug, Serialize)]
pub struct FirstRun {
    /// The engine's figures.
    pub results: RunSummary,
    /// Energy.
    pub energy: EnergySummary,
    /// The bill.
    pub cost: Ledger,
}

impl StudyDocument {
    /// The document of `study`.
    pub fn new(study: &StudyResult) -> StudyDocument {
        let run = RunDocument::new(&study.first_scenario, &study.first_run);
        let slo_index = HEADLINES
            .iter()
            .position(|h| h.key == "slo_met")
            .expect("slo_met is a headline");
        StudyDocument {
            schema_version: SCHEMA_VERSION,
            fleetsim_version: env!("CARGO_PKG_VERSION"),
            scenario: run.scenario,
            runs: study.runs,
            configuration: run.configuration,
            headlines: HEADLINES
                .iter()
                .zip(&study.headlines)
                .map(|(h, spread)| HeadlineEntry {
                    key: h.key,
                    label: h.label,
                    unit: h.unit,
                    spread: *spread,
                })
                .collect(),
            cost_breakdown: study
                .cost_lines
                .iter()
                .map(|(category, item, usd)| CostLineEntry {
                    category,
                    item: item.clone(),
                    mean_usd_per_day: *usd,
                })
                .collect(),
            slo: SloEntry {
                targets: study.slo.targets.clone(),
                attainment: study.headlines[slo_index].mean,
            },
            inputs: study
                .sensitivity
                .iter()
                .map(|s| {
                    let values = &study
                        .inputs
                        .iter()
                        .find(|i| i.field == s.field)
                        .expect("every sensitivity has its input")
                        .values;
                    InputEntry {
                        field: s.field.clone(),
                        distribution: s.distribution.clone(),
                        drawn: spread(values),
                        rank_correlation_with_cost: s.rho,
                    }
                })
                .collect(),
            first_run: FirstRun {
                results: run.results,
                energy: run.energy,
                cost: run.cost,
            },
        }
    }
}
