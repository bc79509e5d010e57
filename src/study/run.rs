//! One run of a scenario, taken from the engine's measurements through the facility's energy
//! to the day's bill.

use crate::cost::{Ledger, Usage, ledger};
use crate::engine::{Streams, simulate};
use crate::facility::{EnergySummary, FacilityRow};
use crate::scenario::Scenario;
use crate::stats::{LatencyDistributions, RunSummary, TimeSeriesRow};

/// Everything one run produces.
#[derive(Clone, Debug)]
pub struct RunResult {
    /// The engine's measurements.
    pub summary: RunSummary,
    /// Energy by where it goes.
    pub energy: EnergySummary,
    /// The bill.
    pub cost: Ledger,
    /// The engine's series, one row per interval.
    pub timeseries: Vec<TimeSeriesRow>,
    /// The facility's power in the same intervals.
    pub power: Vec<FacilityRow>,
    /// Latency distributions.
    pub latency: LatencyDistributions,
}

/// Simulates `scenario` (its run's streams come from its seed and run index) and prices it.
pub fn run(scenario: &Scenario) -> RunResult {
    let output = simulate(
        scenario,
        Streams {
            seed: scenario.seed,
            run: scenario.run,
        },
    );
    let s = scenario;
    let provisioned = s
        .facility
        .provisioned_server_power(s.fleet.gpus_per_server, s.replica.gpu.tdp);
    let provisioned_it_kw = provisioned.0 * s.fleet.servers as f64 / 1e3;
    let power = s
        .facility
        .rows(&output.timeseries, s.fleet.servers, provisioned);
    let summary = output.summary;
    let completed = summary.requests.completed;
    let output_tokens = summary.throughput.output_tokens;
    let energy = s.facility.summary(
        &output.timeseries,
        &power,
        provisioned_it_kw,
        completed,
        output_tokens,
    );
    let cost = ledger(
        &s.prices,
        &Usage {
            horizon_s: s.horizon.0,
            servers: s.fleet.servers,
            servers_on_mean: summary.utilization.servers_on_mean,
            gpus_per_server: s.fleet.gpus_per_server,
            provisioned_it_kw,
            rows: &output.timeseries,
            power: &power,
            egress_gb: summary.network.edge_egress_gb,
            completed,
            output_tokens,
        },
    );
    RunResult {
        summary,
        energy,
        cost,
        timeseries: output.timeseries,
        power,
        latency: output.latency,
    }
}
