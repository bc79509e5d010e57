//! Predicting a measured configuration: the scenario that reproduces its benchmark — one
//! replica, a closed loop of clients, no failures, nothing on the edge — simulated, and the
//! figure read off the run as the benchmark would read it.

use super::file::{Metric, Setup, Statistic};
use crate::engine::{Streams, simulate};
use crate::error::InputError;
use crate::perf_model::Calibration;
use crate::scenario::{Scenario, from_yaml};
use crate::stats::{LatencySummary, RunSummary};
use crate::units::Seconds;
use rayon::prelude::*;

/// Seed of every prediction: the same configuration always gives the same figures.
const SEED: u64 = 1;

/// The YAML of the scenario that reproduces `setup` under `calibration` for `horizon`.
///
/// Lengths are log-normal around the setup's means (median = mean · e^(−σ²/2), so the
/// mean is kept) or fixed when σ = 0. The edge carries no bytes, so latencies are those of
/// the replica.
pub fn scenario_yaml(setup: &Setup, calibration: &Calibration, horizon: Seconds) -> String {
    let length = |mean: f64| {
        if setup.length_sigma > 0.0 {
            let median = mean * (-setup.length_sigma * setup.length_sigma / 2.0).exp();
            format!(
                "{{lognormal: {{median: {median:?}, sigma: {:?}}}}}",
                setup.length_sigma
            )
        } else {
            format!("{}", mean.round().max(1.0))
        }
    };
    let e = &calibration.efficiencies;
    let o = &calibration.overheads;
    format!(
        "name: validate
workload:
  concurrency: {concurrency}
  prompt_tokens: {prompt}
  output_tokens: {output}
model: {model}
precision: {{weights: {precision}, kv_cache: {precision}}}
hardware: {{gpu: {gpu}, gpus_per_server: {tp}}}
fleet: {{servers: 1, tensor_parallel: {tp}}}
scheduler: {{max_seqs: {max_seqs}}}
perf:
  compute_efficiency: {compute:?}
  memory_efficiency: {memory:?}
  link_efficiency: {link:?}
  step_overhead: {step:?}s
  collective_latency: {collective:?}s
failures: {{enabled: false}}
network: {{edge: {{request_overhead_bytes: 0, request_bytes_per_token: 0, response_bytes_per_token: 0}}}}
study: {{seed: {SEED}, horizon: {horizon:?}s, timeseries_interval: {horizon:?}s}}
",
        concurrency = setup.concurrency,
        prompt = length(setup.input_tokens),
        output = length(setup.output_tokens),
        model = setup.model,
        precision = setup.precision,
        gpu = setup.gpu,
        tp = setup.tensor_parallel,
        max_seqs = setup.max_seqs,
        compute = e.compute,
        memory = e.memory,
        link = e.link,
        step = o.step.0,
        collective = o.collective.0,
        horizon = horizon.0,
    )
}

/// The scenario of `setup`, or why it cannot be built (a model that does not fit, say).
pub fn scenario(
    setup: &Setup,
    calibration: &Calibration,
    horizon: Seconds,
) -> Result<Scenario, InputError> {
    from_yaml(&scenario_yaml(setup, calibration, horizon), "validate")
}

/// What one simulated configuration gave.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    summary: RunSummary,
    gpus: u32,
}

impl Outcome {
    /// The predicted value of `metric`'s `statistic`, in the metric's unit; `None` when the
    /// run has none (no request finished).
    pub fn value(&self, metric: Metric, statistic: Statistic) -> Option<f64> {
        let s = &self.summary;
        let pick = |l: &LatencySummary| match statistic {
            Statistic::Mean => l.mean_s,
            Statistic::P50 => l.p50_s,
            Statistic::P90 => l.p90_s,
            Statistic::P99 => l.p99_s,
        };
        let tokens = s.throughput.output_tokens as f64;
        match metric {
            Metric::ItlMs => pick(&s.latency.itl).map(|v| v * 1e3),
            Metric::TtftMs => pick(&s.latency.ttft).map(|v| v * 1e3),
            Metric::TpotMs => pick(&s.latency.tpot).map(|v| v * 1e3),
            Metric::ThroughputTokS => Some(s.throughput.output_tokens_per_s),
            Metric::GpuPowerW => Some(s.gpu_energy.power_mean_w * f64::from(self.gpus)),
            Metric::EnergyPerTokenJ => (tokens > 0.0).then(|| s.gpu_energy.kwh * 3.6e6 / tokens),
        }
    }
}

/// Simulates every scenario, in parallel; the outcomes come back in the order given.
pub fn simulate_all(scenarios: &[Scenario]) -> Vec<Outcome> {
    scenarios
        .par_iter()
        .map(|scenario| Outcome {
            summary: simulate(scenario, Streams { seed: SEED, run: 0 }).summary,
            gpus: scenario.fleet.gpus() as u32,
        })
        .collect()
}
