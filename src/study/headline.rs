//! The headline figures of a run: what a study reports the distribution of, and what
//! `runs.csv` holds a column for.

use super::run::RunResult;
use crate::stats::Slo;

/// One headline figure.
#[derive(Clone, Copy, Debug)]
pub struct Headline {
    /// Column name in `runs.csv` and key in `summary.json`.
    pub key: &'static str,
    /// Label for people.
    pub label: &'static str,
    /// Unit for people.
    pub unit: &'static str,
    /// How to read it off a run.
    value: fn(&RunResult, &Slo) -> f64,
}

impl Headline {
    /// This figure in `run`, judged against `slo`.
    pub fn value(&self, run: &RunResult, slo: &Slo) -> f64 {
        (self.value)(run, slo)
    }
}

/// The ledger total of `category`, $ per day (0 when the bill has no such line).
fn category(run: &RunResult, category: &str) -> f64 {
    run.cost
        .by_category
        .iter()
        .find(|(c, _)| *c == category)
        .map_or(0.0, |(_, usd)| *usd)
}

/// A figure that may be missing (no completed request), as NaN.
fn or_nan(value: Option<f64>) -> f64 {
    value.unwrap_or(f64::NAN)
}

macro_rules! headline {
    ($key:literal, $label:literal, $unit:literal, |$r:ident, $s:ident| $body:expr) => {
        Headline {
            key: $key,
            label: $label,
            unit: $unit,
            value: |$r: &RunResult, $s: &Slo| $body,
        }
    };
}

/// Every headline figure, in report order; the first is the one sensitivity analysis
/// explains.
pub const HEADLINES: &[Headline] = &[
    headline!("cost_usd_per_day", "cost per day", "$", |r, _s| r
        .cost
        .total_usd_per_day),
    headline!("cost_hardware_usd_per_day", "hardware", "$/day", |r, _s| {
        category(r, "hardware")
    }),
    headline!("cost_energy_usd_per_day", "energy", "$/day", |r, _s| {
        category(r, "energy")
    }),
    headline!("cost_network_usd_per_day", "network", "$/day", |r, _s| {
        category(r, "network")
    }),
    headline!(
        "cost_facility_usd_per_day",
        "colocation",
        "$/day",
        |r, _s| category(r, "facility")
    ),
    headline!("cost_fixed_usd_per_day", "fixed costs", "$/day", |r, _s| {
        category(r, "fixed")
    }),
    headline!(
        "cost_carbon_usd_per_day",
        "carbon price",
        "$/day",
        |r, _s| category(r, "carbon")
    ),
    headline!(
        "usd_per_1k_requests",
        "cost per 1,000 requests",
        "$",
        |r, _s| { or_nan(r.cost.usd_per_1k_requests) }
    ),
    headline!(
        "usd_per_1m_output_tokens",
        "cost per million output tokens",
        "$",
        |r, _s| { or_nan(r.cost.usd_per_1m_output_tokens) }
    ),
    headline!("facility_kwh", "facility energy", "kWh", |r, _s| r
        .energy
        .facility_kwh),
    headline!("it_kwh", "IT energy", "kWh", |r, _s| r.energy.it_kwh),
    headline!("pue", "PUE", "", |r, _s| r.energy.pue),
    headline!("wh_per_request", "energy per request", "Wh", |r, _s| {
        or_nan(r.energy.wh_per_request)
    }),
    headline!(
        "j_per_output_token",
        "energy per output token",
        "J",
        |r, _s| { or_nan(r.energy.j_per_output_token) }
    ),
    headline!("carbon_kg_per_day", "emissions", "kg CO2e/day", |r, _s| {
        r.cost.carbon_kg_per_day
    }),
    headline!(
        "requests_completed",
        "requests completed",
        "count",
        |r, _s| { r.summary.requests.completed as f64 }
    ),
    headline!(
        "requests_failed",
        "requests failed",
        "count",
        |r, _s| r.summary.requests.failed as f64
    ),
    headline!(
        "output_tokens_per_s",
        "output tokens per second",
        "/s",
        |r, _s| { r.summary.throughput.output_tokens_per_s }
    ),
    headline!("servers_on_mean", "servers on (mean)", "", |r, _s| r
        .summary
        .utilization
        .servers_on_mean),
    headline!("gpu_busy", "GPU busy", "share", |r, _s| r
        .summary
        .utilization
        .gpu_busy),
    headline!("flops_utilization", "FLOP utilisation", "share", |r, _s| {
        r.summary.utilization.flops
    }),
    headline!("kv_cache_mean", "KV cache in use", "share", |r, _s| {
        r.summary.utilization.kv_cache_mean
    }),
    headline!(
        "prefix_cache_hit_rate",
        "prefix cache hit rate (prompt blocks)",
        "share",
        |r, _s| or_nan(r.summary.prefix_cache.map(|p| p.block_hit_rate))
    ),
    headline!("waiting_mean", "requests waiting (mean)", "", |r, _s| r
        .summary
        .utilization
        .waiting_mean),
    headline!("ttft_p50_s", "TTFT p50", "s", |r, _s| or_nan(
        r.summary.latency.ttft.p50_s
    )),
    headline!("ttft_p99_s", "TTFT p99", "s", |r, _s| or_nan(
        r.summary.latency.ttft.p99_s
    )),
    headline!("tpot_p50_s", "TPOT p50", "s", |r, _s| or_nan(
        r.summary.latency.tpot.p50_s
    )),
    headline!("tpot_p99_s", "TPOT p99", "s", |r, _s| or_nan(
        r.summary.latency.tpot.p99_s
    )),
    headline!("itl_p99_s", "inter-token gap p99", "s", |r, _s| or_nan(
        r.summary.latency.itl.p99_s
    )),
    headline!("e2e_p50_s", "end to end p50", "s", |r, _s| or_nan(
        r.summary.latency.e2e.p50_s
    )),
    headline!("e2e_p99_s", "end to end p99", "s", |r, _s| or_nan(
        r.summary.latency.e2e.p99_s
    )),
    headline!("availability", "GPU availability", "share", |r, _s| {
        r.summary.reliability.availability
    }),
    headline!("slo_met", "SLO met", "1 = yes", |r, s| {
        f64::from(u8::from(s.met(&r.summary.latency)))
    }),
];
