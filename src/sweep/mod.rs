//! Sweeps and capacity search: one scenario at many fleet sizes, configurations (a GPU at a
//! tensor-parallel degree) and loads, each point a Monte Carlo study, and the smallest fleet
//! that meets the SLO for each configuration at each load.
//!
//! Every point resolves the same scenario file as a [`Variant`] (servers, degree and GPU in
//! place of the file's, the offered load scaled) with the same seed, so run `i` of every point
//! draws the same uncertain values and the same arrivals and token lengths: **common random
//! numbers**. Differences between points are the fleet's and the load's, not noise, and the
//! SLO attainment of a load falls only where the fleet really is too small.
//!
//! Points are studied one after another, each over the study's threads, and kept in a cache,
//! so the capacity search never simulates a point twice and the grid's points serve it.

pub mod plan;
pub mod search;

pub use plan::{Configuration, LeftOut, Overrides, SweepGpu, SweepPlan};
pub use search::{smallest_passing, smallest_passing_from};

use crate::error::{Error, InputError};
use crate::scenario::{ScenarioFile, Variant};
use crate::stats::{Latencies, Slo, Spread, spread};
use crate::study::{Options, StudyResult, run_study};
use std::collections::BTreeMap;

/// One point of a sweep: a fleet size, GPU and tensor-parallel degree at a load, studied
/// over every run.
#[derive(Clone, Debug)]
pub struct Point {
    /// Servers in the fleet.
    pub servers: u64,
    /// The GPU's id.
    pub gpu: String,
    /// Tensor-parallel degree of a replica.
    pub tensor_parallel: u32,
    /// Multiplier of the scenario's offered load.
    pub load: f64,
    /// GPUs in the fleet.
    pub gpus: u64,
    /// Replicas in the fleet.
    pub replicas: u64,
    /// Requests per day offered, mean across runs: the open-loop rate × 86,400 s, or for a
    /// closed loop the requests it completed per day.
    pub offered_requests_per_day: f64,
    /// Runs studied.
    pub runs: u64,
    /// Total cost, $ per day.
    pub cost_usd_per_day: Spread,
    /// $ per million output tokens.
    pub usd_per_1m_output_tokens: Spread,
    /// Share of GPU-time inside steps.
    pub gpu_busy: Spread,
    /// Achieved ÷ peak FLOPs.
    pub flops_utilization: Spread,
    /// Latency headroom: `1 − value ÷ bound` of the SLO target closest to its bound, each
    /// target's percentile taken over the requests of all runs together; NaN without targets.
    pub headroom: f64,
    /// The target closest to its bound (`tpot_p99`), empty without targets.
    pub binding_target: String,
    /// Each run's p99 time to first token, seconds.
    pub ttft_p99_s: Spread,
    /// Each run's p99 time per output token, seconds.
    pub tpot_p99_s: Spread,
    /// Whether each run met every SLO target, in run order.
    pub slo_met: Vec<bool>,
}

impl Point {
    /// Share of runs that met every SLO target.
    pub fn slo_attainment(&self) -> f64 {
        self.slo_met.iter().filter(|m| **m).count() as f64 / self.slo_met.len().max(1) as f64
    }
}

/// What the capacity search found for one configuration (a GPU at a tensor-parallel degree)
/// at one load.
#[derive(Clone, Debug)]
pub struct Answer {
    /// The load multiplier.
    pub load: f64,
    /// The configuration's GPU id.
    pub gpu: String,
    /// The configuration's tensor-parallel degree.
    pub tensor_parallel: u32,
    /// Servers the fleet steps by: a replica spanning several servers needs whole ones.
    pub servers_unit: u64,
    /// Whether this is the cheapest answer at its load (lowest mean cost per day).
    pub cheapest: bool,
    /// The smallest fleet whose SLO attainment reaches the share; `None` when no fleet up to
    /// the maximum does.
    pub chosen: Option<Point>,
    /// The fleet one step smaller (the search's last failure), when there is one.
    pub next_smaller: Option<Point>,
    /// The largest fleet the search would try.
    pub max_servers: u64,
    /// Fleet sizes the search asked about, in order (cached points included).
    pub tried: Vec<u64>,
}

/// A whole sweep.
#[derive(Clone, Debug)]
pub struct SweepResult {
    /// The scenario's name.
    pub name: String,
    /// What was asked.
    pub plan: SweepPlan,
    /// The latency targets.
    pub slo: Slo,
    /// Every point studied (grid and search), by load, configuration, servers.
    pub points: Vec<Point>,
    /// The capacity search's answers per load and configuration, when it ran.
    pub answers: Vec<Answer>,
}

/// Studies every point of `plan` and, if asked, searches the smallest fleet per load and
/// configuration, and marks the cheapest per load. `file`'s variant is left as the last
/// point's.
pub fn run_sweep(
    file: &mut ScenarioFile,
    plan: &SweepPlan,
    options: &Options,
) -> Result<SweepResult, Error> {
    let saved = file.variant();
    file.set_variant(Variant::default());
    let first = file.scenario(0);
    file.set_variant(saved);
    let first = first?;
    // Points by (load, configuration) index and servers.
    let mut cache: BTreeMap<(usize, usize, u64), Point> = BTreeMap::new();
    let mut evaluate =
        |file: &mut ScenarioFile, load: usize, c: usize, servers: u64| -> Result<Point, Error> {
            if let Some(point) = cache.get(&(load, c, servers)) {
                return Ok(point.clone());
            }
            let point = study_point(file, plan.variant(load, c, servers), options)?;
            cache.insert((load, c, servers), point.clone());
            Ok(point)
        };

    for (load, c, servers) in plan.grid() {
        evaluate(file, load, c, servers)?;
    }
    let mut answers: Vec<Answer> = Vec::new();
    if let Some(max_servers) = plan.search_max_servers {
        for load in 0..plan.loads.len() {
            let first_of_load = answers.len();
            for (c, configuration) in plan.configurations.iter().enumerate() {
                let unit = configuration.servers_unit;
                let mut tried = Vec::new();
                let found = smallest_passing(unit, max_servers, |servers| {
                    tried.push(servers);
                    Ok(evaluate(file, load, c, servers)?.slo_attainment() >= plan.slo_share)
                })?;
                let chosen = found.map(|s| evaluate(file, load, c, s)).transpose()?;
                let next_smaller = match found {
                    Some(s) if s > unit => Some(evaluate(file, load, c, s - unit)?),
                    _ => None,
                };
                answers.push(Answer {
                    load: plan.loads[load],
                    gpu: plan.gpus[configuration.gpu].id.clone(),
                    tensor_parallel: configuration.tensor_parallel,
                    servers_unit: unit,
                    cheapest: false,
                    chosen,
                    next_smaller,
                    max_servers,
                    tried,
                });
            }
            // The cheapest configuration at this load; ties go to the earlier one (the GPU
            // listed first, then the smaller degree).
            let cheapest = answers[first_of_load..]
                .iter()
                .enumerate()
                .filter_map(|(i, a)| a.chosen.as_ref().map(|c| (i, c.cost_usd_per_day.mean)))
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(i, _)| first_of_load + i);
            if let Some(i) = cheapest {
                answers[i].cheapest = true;
            }
        }
    }
    Ok(SweepResult {
        name: first.name.clone(),
        plan: plan.clone(),
        slo: first.slo.clone(),
        points: cache.into_values().collect(),
        answers,
    })
}

/// Studies `file` resolved as `variant` (which it keeps) over every run and reduces the study
/// to the figures of a [`Point`]: the one evaluation that the sweep, its capacity search and
/// the growth plan share. The variant must name its servers.
pub fn study_point(
    file: &mut ScenarioFile,
    variant: Variant,
    options: &Options,
) -> Result<Point, Error> {
    let servers = variant.servers.expect("a point names its servers");
    let load = variant.load;
    file.set_variant(variant);
    let study = run_study(file, options)?;
    Ok(point_of(file, &study, servers, load)?)
}

/// The fewest servers a fleet of `scenario`'s servers and pipeline depth, at tensor-parallel
/// degree `tensor_parallel`, may step by: 1, or the servers one replica spans.
pub fn servers_unit(scenario: &crate::scenario::Scenario, tensor_parallel: u32) -> u64 {
    let parallelism = crate::perf_model::Parallelism {
        tensor: tensor_parallel,
        ..scenario.replica.parallelism
    };
    crate::fleet::layout::servers_step(scenario.fleet.gpus_per_server, parallelism)
}

/// Reduces a point's study to the figures a sweep reports.
fn point_of(
    file: &ScenarioFile,
    study: &StudyResult,
    servers: u64,
    load: f64,
) -> Result<Point, InputError> {
    let headline = |key: &str| *study.headline(key).expect("a known headline");
    let horizon_s = study.first_scenario.horizon.0;
    let offered = match study.first_scenario.workload.mean_rate() {
        Some(_) => {
            let rates = (0..study.runs)
                .map(|run| {
                    file.scenario(run)
                        .map(|s| s.workload.mean_rate().unwrap_or(0.0) * 86_400.0)
                })
                .collect::<Result<Vec<f64>, InputError>>()?;
            spread(&rates).mean
        }
        None => headline("requests_completed").mean / horizon_s * 86_400.0,
    };
    let slo_index = crate::study::HEADLINES
        .iter()
        .position(|h| h.key == "slo_met")
        .expect("slo_met is a headline");
    let l = &study.latency;
    let latencies = Latencies {
        ttft: l.ttft.summary(),
        tpot: l.tpot.summary(),
        itl: l.itl.summary(),
        e2e: l.e2e.summary(),
    };
    let (headroom, binding_target) = study
        .slo
        .targets
        .iter()
        .map(|t| {
            let margin = t
                .value(&latencies)
                .map_or(f64::NEG_INFINITY, |v| 1.0 - v / t.max_s);
            (margin, t.name())
        })
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .unwrap_or((f64::NAN, String::new()));
    Ok(Point {
        servers,
        gpu: study.first_scenario.replica.gpu.id.clone(),
        tensor_parallel: study.first_scenario.replica.parallelism.tensor,
        load,
        gpus: study.first_scenario.fleet.gpus(),
        replicas: study.first_scenario.fleet.replicas,
        offered_requests_per_day: offered,
        runs: study.runs,
        cost_usd_per_day: headline("cost_usd_per_day"),
        usd_per_1m_output_tokens: headline("usd_per_1m_output_tokens"),
        gpu_busy: headline("gpu_busy"),
        flops_utilization: headline("flops_utilization"),
        headroom,
        binding_target,
        ttft_p99_s: headline("ttft_p99_s"),
        tpot_p99_s: headline("tpot_p99_s"),
        slo_met: study.outputs.iter().map(|o| o[slo_index] == 1.0).collect(),
    })
}
