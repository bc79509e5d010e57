//! The figures a run reports: counts, throughput, latency, utilisation and energy, and the
//! per-interval rows of the time series.

use super::ExactSum;
use super::latency::LatencySummary;
use super::recorder::Recorder;
use super::timeseries::TimeSeries;
use crate::units::Joules;
use serde::{Deserialize, Serialize};

/// What the fleet could do at most, to turn measured amounts into utilisations.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Capacity {
    /// Servers in the fleet (with autoscaling, the most that may be on). Every other
    /// figure is of all of them, and is scaled by the share of them on.
    pub servers: u64,
    /// GPUs in the fleet.
    pub gpus: u64,
    /// Replicas in the fleet.
    pub replicas: u64,
    /// KV-cache blocks over all replicas.
    pub kv_blocks: u64,
    /// Peak tensor throughput of the fleet, FLOP/s.
    pub peak_flops: f64,
    /// Peak memory bandwidth of the fleet, bytes/s.
    pub memory_bandwidth: f64,
    /// Idle power of the fleet's GPUs, W.
    pub idle_power_w: f64,
    /// Tokens of a cached prompt block, with prefix caching (`None` without).
    pub prefix_block_tokens: Option<u32>,
}

/// Request counts; `arrived = completed + rejected + failed + in_flight`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequestCounts {
    /// Requests that reached the edge before the horizon.
    pub arrived: u64,
    /// Requests whose last token was emitted before the horizon.
    pub completed: u64,
    /// Requests no replica could ever serve (longer than its KV cache, or than the step
    /// budget without chunked prefill).
    pub rejected: u64,
    /// Of those, too long for the KV cache.
    pub rejected_kv_cache: u64,
    /// Of those, too long for the step budget.
    pub rejected_step_budget: u64,
    /// Requests given up after failures: retries exhausted, or no replica up.
    pub failed: u64,
    /// Times a request was resent after its replica failed.
    pub retries: u64,
    /// Requests waiting or running at the horizon.
    pub in_flight: u64,
    /// Of those, still waiting.
    pub waiting_at_horizon: u64,
    /// Times a running request lost its KV cache and was recomputed.
    pub preemptions: u64,
}

/// Tokens and rates over the horizon.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Throughput {
    /// Output tokens that reached their users.
    pub output_tokens: u64,
    /// Completed requests per second.
    pub requests_per_s: f64,
    /// Output tokens emitted per second.
    pub output_tokens_per_s: f64,
    /// Prompt tokens processed per second (recomputation included).
    pub prefill_tokens_per_s: f64,
}

/// Latency distributions of completed requests (TTFT of every first token).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Latencies {
    /// Time to first token, from arrival.
    pub ttft: LatencySummary,
    /// Time per output token after the first, per request.
    pub tpot: LatencySummary,
    /// Inter-token latency: the gap before each output token after a request's first.
    pub itl: LatencySummary,
    /// Arrival to last token.
    pub e2e: LatencySummary,
}

/// How busy the fleet was, as time averages over the horizon.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Utilization {
    /// Share of GPU-time inside a step.
    pub gpu_busy: f64,
    /// Achieved FLOPs ÷ peak FLOPs.
    pub flops: f64,
    /// Achieved memory traffic ÷ peak bandwidth.
    pub memory_bandwidth: f64,
    /// Mean share of the KV-cache blocks of the servers on in use.
    pub kv_cache_mean: f64,
    /// Largest share of its KV-cache blocks any one replica held at once.
    pub kv_cache_peak: f64,
    /// Mean requests waiting, fleet-wide.
    pub waiting_mean: f64,
    /// Most requests waiting at once, fleet-wide.
    pub waiting_max: u64,
    /// Mean requests running, fleet-wide.
    pub running_mean: f64,
    /// Mean running batch per replica on.
    pub batch_mean: f64,
    /// Mean servers on (billed and powered): the fleet, or less with autoscaling.
    pub servers_on_mean: f64,
}

/// GPU energy over the horizon.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct GpuEnergy {
    /// Energy of all GPUs.
    pub kwh: f64,
    /// Of which they would have drawn idle.
    pub idle_kwh: f64,
    /// Mean power per GPU.
    pub power_mean_w: f64,
}

/// Traffic over the edge link and the links inside replicas.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Network {
    /// Request bytes in over the edge, GB.
    pub edge_ingress_gb: f64,
    /// Response bytes out over the edge (billed egress), GB.
    pub edge_egress_gb: f64,
    /// Share of the horizon the edge spent transmitting requests.
    pub edge_ingress_busy: f64,
    /// Time the replicas' response streams spent transmitting, added up, ÷ the horizon: the
    /// egress link's offered load (above 1 when oversubscribed).
    pub edge_egress_busy: f64,
    /// Bytes tensor-parallel all-reduces carried over scale-up or scale-out links, GB.
    pub tensor_parallel_gb: f64,
    /// Bytes pipeline hand-offs carried between stages, GB.
    pub pipeline_parallel_gb: f64,
}

/// Failures and what they cost in capacity and requests.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reliability {
    /// GPU failures.
    pub gpu_failures: u64,
    /// Server failures (host, network, NICs).
    pub server_failures: u64,
    /// GPU-hours of replicas down, whole replicas counted.
    pub lost_gpu_hours: f64,
    /// Share of GPU-time up.
    pub availability: f64,
}

/// What prefix caching found and saved over a run. The hit rates are of requests joining a
/// replica's batch for the first time (a request retried after a failure joins its new
/// replica for the first time); requests joining again after a preemption find mostly
/// their own blocks, and count only in the prefill saved.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PrefixCacheSummary {
    /// Tokens of a prompt block.
    pub block_tokens: u32,
    /// Requests that joined a batch and looked up their prompt's blocks.
    pub lookups: u64,
    /// Prompt blocks looked up.
    pub blocks: u64,
    /// Of those, found cached (from each prompt's first block).
    pub hit_blocks: u64,
    /// Hit blocks ÷ blocks looked up (0 when none was).
    pub block_hit_rate: f64,
    /// Prompt tokens looked up.
    pub prompt_tokens: u64,
    /// Of those, in the blocks found: not prefilled.
    pub hit_tokens: u64,
    /// Hit tokens ÷ prompt tokens looked up (0 when none was).
    pub token_hit_rate: f64,
    /// Requests that joined a batch again after a preemption.
    pub rejoins: u64,
    /// Tokens not prefilled thanks to the cache: the hit tokens, and those of the rejoins.
    pub prefill_tokens_saved: u64,
    /// Prefill tokens saved per second.
    pub prefill_tokens_saved_per_s: f64,
    /// Prompt blocks evicted to make room.
    pub evictions: u64,
}

/// The headline figures of one run.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// Counts.
    pub requests: RequestCounts,
    /// Rates.
    pub throughput: Throughput,
    /// Latencies.
    pub latency: Latencies,
    /// Utilisation.
    pub utilization: Utilization,
    /// GPU energy.
    pub gpu_energy: GpuEnergy,
    /// Network traffic.
    pub network: Network,
    /// Failures.
    pub reliability: Reliability,
    /// Prefix caching, when it is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix_cache: Option<PrefixCacheSummary>,
}

/// A ratio that is 0 when the denominator is.
fn ratio(numerator: f64, denominator: f64) -> f64 {
    if denominator > 0.0 {
        numerator / denominator
    } else {
        0.0
    }
}

impl RunSummary {
    /// The summary of a finished record.
    pub(super) fn from_record(r: &Recorder, horizon_s: f64, c: &Capacity) -> RunSummary {
        let bins = r.series.bins();
        let total = |f: fn(&super::timeseries::Bin) -> ExactSum| {
            bins.iter().map(f).sum::<ExactSum>().value()
        };
        let n = &r.counts;
        let servers_on_mean = total(|b| b.servers_on_s) / horizon_s;
        // Seconds of the whole fleet's capacity on: the horizon when every server is.
        let on_s = ratio(servers_on_mean, c.servers as f64) * horizon_s;
        let idle_j = c.idle_power_w * on_s;
        let gpu_j = idle_j + total(|b| b.active_energy_j);
        let running_mean = total(|b| b.running_s) / horizon_s;
        let levels = r.levels();
        let gpu_time_s = c.gpus as f64 * on_s;
        RunSummary {
            requests: RequestCounts {
                arrived: n.arrived,
                completed: n.completed,
                rejected: n.rejected_kv + n.rejected_budget,
                rejected_kv_cache: n.rejected_kv,
                rejected_step_budget: n.rejected_budget,
                failed: n.failed,
                retries: n.retries,
                in_flight: levels.waiting + levels.running,
                waiting_at_horizon: levels.waiting,
                preemptions: n.preemptions,
            },
            throughput: Throughput {
                output_tokens: n.output_tokens,
                requests_per_s: n.completed as f64 / horizon_s,
                output_tokens_per_s: n.output_tokens as f64 / horizon_s,
                prefill_tokens_per_s: bins.iter().map(|b| b.prefill_tokens).sum::<u64>() as f64
                    / horizon_s,
            },
            latency: Latencies {
                ttft: r.ttft.summary(),
                tpot: r.tpot.summary(),
                itl: r.itl.summary(),
                e2e: r.e2e.summary(),
            },
            utilization: Utilization {
                gpu_busy: ratio(total(|b| b.gpu_busy_s), gpu_time_s),
                flops: ratio(total(|b| b.flops), c.peak_flops * on_s),
                memory_bandwidth: ratio(total(|b| b.memory_bytes), c.memory_bandwidth * on_s),
                kv_cache_mean: ratio(total(|b| b.kv_blocks_s), c.kv_blocks as f64 * on_s),
                kv_cache_peak: ratio(
                    r.peak_replica_kv_blocks() as f64 * c.replicas as f64,
                    c.kv_blocks as f64,
                ),
                waiting_mean: total(|b| b.waiting_s) / horizon_s,
                waiting_max: r.peak_waiting(),
                running_mean,
                batch_mean: ratio(running_mean * horizon_s, c.replicas as f64 * on_s),
                servers_on_mean,
            },
            gpu_energy: GpuEnergy {
                kwh: Joules(gpu_j).kwh(),
                idle_kwh: Joules(idle_j).kwh(),
                power_mean_w: ratio(gpu_j, gpu_time_s),
            },
            network: Network {
                edge_ingress_gb: n.edge_ingress_bytes / 1e9,
                edge_egress_gb: n.edge_egress_bytes / 1e9,
                edge_ingress_busy: n.edge_ingress_busy_s / horizon_s,
                edge_egress_busy: n.edge_egress_busy_s / horizon_s,
                tensor_parallel_gb: n.tensor_link_bytes.value() / 1e9,
                pipeline_parallel_gb: n.pipeline_link_bytes.value() / 1e9,
            },
            reliability: Reliability {
                gpu_failures: n.gpu_failures,
                server_failures: n.server_failures,
                lost_gpu_hours: n.lost_gpu_s / 3600.0,
                availability: 1.0 - ratio(n.lost_gpu_s, gpu_time_s),
            },
            prefix_cache: c.prefix_block_tokens.map(|block_tokens| {
                let p = &n.prefix;
                PrefixCacheSummary {
                    block_tokens,
                    lookups: p.lookups,
                    blocks: p.blocks,
                    hit_blocks: p.hit_blocks,
                    block_hit_rate: ratio(p.hit_blocks as f64, p.blocks as f64),
                    prompt_tokens: p.prompt_tokens,
                    hit_tokens: p.hit_tokens,
                    token_hit_rate: ratio(p.hit_tokens as f64, p.prompt_tokens as f64),
                    rejoins: p.rejoins,
                    prefill_tokens_saved: p.hit_tokens + p.rejoin_hit_tokens,
                    prefill_tokens_saved_per_s: (p.hit_tokens + p.rejoin_hit_tokens) as f64
                        / horizon_s,
                    evictions: p.evictions,
                }
            }),
        }
    }
}

/// One interval of the time series, normalised to rates, means and shares.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct TimeSeriesRow {
    /// Interval start, seconds from midnight.
    pub t_start_s: f64,
    /// Interval length, seconds.
    pub duration_s: f64,
    /// Requests that arrived.
    pub arrivals: u64,
    /// Requests that completed.
    pub completions: u64,
    /// Requests refused.
    pub rejected: u64,
    /// Requests given up after failures.
    pub failed: u64,
    /// Preemptions.
    pub preemptions: u64,
    /// Prompt blocks looked up in prefix caches.
    pub prefix_blocks: u64,
    /// Of those, found cached.
    pub prefix_hit_blocks: u64,
    /// Output tokens per second.
    pub output_tokens_per_s: f64,
    /// Prefill tokens per second.
    pub prefill_tokens_per_s: f64,
    /// Mean requests waiting.
    pub waiting_mean: f64,
    /// Mean requests running.
    pub running_mean: f64,
    /// Share of GPU-time inside steps.
    pub gpu_busy: f64,
    /// Achieved ÷ peak FLOPs.
    pub flops_util: f64,
    /// Achieved ÷ peak memory bandwidth.
    pub memory_bw_util: f64,
    /// Mean share of KV-cache blocks in use.
    pub kv_cache: f64,
    /// Edge egress, megabits per second.
    pub egress_mbit_per_s: f64,
    /// Mean GPU power of the fleet, kW.
    pub gpu_power_kw: f64,
    /// Mean servers on (billed and powered).
    pub servers_on: f64,
}

/// The rows of `series`, normalised by `c`.
pub(super) fn series_rows(series: &TimeSeries, c: &Capacity) -> Vec<TimeSeriesRow> {
    series
        .bins()
        .iter()
        .enumerate()
        .map(|(index, bin)| {
            let (start, dt) = series.span(index);
            let servers_on_s = bin.servers_on_s.value();
            let active_energy_j = bin.active_energy_j.value();
            let servers_on = servers_on_s / dt;
            // Seconds of the whole fleet's capacity on in this interval.
            let on_s = ratio(servers_on_s, c.servers as f64);
            let gpu_power_w = (c.idle_power_w * on_s + active_energy_j) / dt;
            TimeSeriesRow {
                t_start_s: start,
                duration_s: dt,
                arrivals: bin.arrivals,
                completions: bin.completions,
                rejected: bin.rejected,
                failed: bin.failed,
                preemptions: bin.preemptions,
                prefix_blocks: bin.prefix_blocks,
                prefix_hit_blocks: bin.prefix_hit_blocks,
                output_tokens_per_s: bin.output_tokens as f64 / dt,
                prefill_tokens_per_s: bin.prefill_tokens as f64 / dt,
                waiting_mean: bin.waiting_s.value() / dt,
                running_mean: bin.running_s.value() / dt,
                gpu_busy: ratio(bin.gpu_busy_s.value(), c.gpus as f64 * on_s),
                flops_util: ratio(bin.flops.value(), c.peak_flops * on_s),
                memory_bw_util: ratio(bin.memory_bytes.value(), c.memory_bandwidth * on_s),
                kv_cache: ratio(bin.kv_blocks_s.value(), c.kv_blocks as f64 * on_s),
                egress_mbit_per_s: bin.egress_bytes.value() * 8.0 / 1e6 / dt,
                gpu_power_kw: gpu_power_w / 1e3,
                servers_on,
            }
        })
        .collect()
}
