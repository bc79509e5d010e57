//! Everything a run measures, gathered as the simulation goes: counters, latency
//! distributions, time-weighted levels and the per-interval series.

use super::latency::LatencyStats;
use super::summary::{Capacity, RunSummary, TimeSeriesRow};
use super::timeseries::TimeSeries;
use crate::engine::time::SimTime;
use crate::serve::{Observer, PlannedStep, Rejection};
use crate::units::{Seconds, Watts};
use crate::workload::Request;

/// Fleet-wide levels that change at events and are integrated over time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Levels {
    /// Requests waiting in replica queues.
    pub waiting: u64,
    /// Requests in running batches.
    pub running: u64,
    /// KV-cache blocks in use.
    pub kv_blocks: u64,
}

/// Plain counts over the run.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Counters {
    /// Requests that reached the edge.
    pub arrived: u64,
    /// Requests whose last token reached the user.
    pub completed: u64,
    /// Requests longer than a replica's KV cache.
    pub rejected_kv: u64,
    /// Requests longer than the step budget without chunked prefill.
    pub rejected_budget: u64,
    /// Requests given up after failures (retries exhausted, or no replica up).
    pub failed: u64,
    /// Requests resent to another replica after theirs failed.
    pub retries: u64,
    /// KV-cache preemptions.
    pub preemptions: u64,
    /// Output tokens emitted.
    pub output_tokens: u64,
    /// GPU failures.
    pub gpu_failures: u64,
    /// Server failures.
    pub server_failures: u64,
    /// GPU-seconds of replicas down.
    pub lost_gpu_s: f64,
    /// Bytes tensor-parallel all-reduces carried.
    pub tensor_link_bytes: f64,
    /// Bytes pipeline hand-offs carried.
    pub pipeline_link_bytes: f64,
    /// Edge bytes in (requests).
    pub edge_ingress_bytes: f64,
    /// Edge seconds transmitting requests.
    pub edge_ingress_busy_s: f64,
    /// Edge bytes out (streamed tokens).
    pub edge_egress_bytes: f64,
    /// Edge seconds transmitting responses.
    pub edge_egress_busy_s: f64,
}

/// The full latency distributions of a run, mergeable across runs.
#[derive(Clone, Debug, Default)]
pub struct LatencyDistributions {
    /// Time to first token.
    pub ttft: LatencyStats,
    /// Time per output token.
    pub tpot: LatencyStats,
    /// Inter-token latency: the gap before each output token after a request's first.
    pub itl: LatencyStats,
    /// End to end.
    pub e2e: LatencyStats,
}

impl LatencyDistributions {
    /// Adds another run's samples.
    pub fn merge(&mut self, other: &LatencyDistributions) {
        self.ttft.merge(&other.ttft);
        self.tpot.merge(&other.tpot);
        self.itl.merge(&other.itl);
        self.e2e.merge(&other.e2e);
    }
}

/// Everything the engine measured in one run.
#[derive(Clone, Debug)]
pub struct RunMeasurements {
    /// Headline figures.
    pub summary: RunSummary,
    /// One row per time-series interval.
    pub timeseries: Vec<TimeSeriesRow>,
    /// Latency distributions.
    pub latency: LatencyDistributions,
}

/// The measurements of one run.
#[derive(Clone, Debug)]
pub struct Recorder {
    horizon_s: f64,
    pub(super) series: TimeSeries,
    pub(super) ttft: LatencyStats,
    pub(super) tpot: LatencyStats,
    pub(super) itl: LatencyStats,
    pub(super) e2e: LatencyStats,
    pub(super) counts: Counters,
    pub(super) levels: Levels,
    levels_since_s: f64,
    servers_on: u64,
    pub(super) peak_waiting: u64,
    /// Most KV blocks in use per server on, at any moment.
    pub(super) peak_kv_per_server: f64,
}

impl Recorder {
    /// An empty record for a run of `horizon_s` seconds with series bins of `interval_s`.
    pub fn new(horizon_s: f64, interval_s: f64) -> Recorder {
        Recorder {
            horizon_s,
            series: TimeSeries::new(interval_s, horizon_s),
            ttft: LatencyStats::default(),
            tpot: LatencyStats::default(),
            itl: LatencyStats::default(),
            e2e: LatencyStats::default(),
            counts: Counters::default(),
            levels: Levels::default(),
            levels_since_s: 0.0,
            servers_on: 0,
            peak_waiting: 0,
            peak_kv_per_server: 0.0,
        }
    }

    /// The counts so far.
    pub fn counts(&self) -> &Counters {
        &self.counts
    }

    /// A request reached the edge.
    pub fn arrival(&mut self, at: SimTime) {
        self.counts.arrived += 1;
        self.series.at(at.secs()).arrivals += 1;
    }

    /// A request was refused because no replica could ever serve it.
    pub fn rejected(&mut self, at: SimTime, why: Rejection) {
        match why {
            Rejection::ExceedsKvCache => self.counts.rejected_kv += 1,
            Rejection::ExceedsStepBudget => self.counts.rejected_budget += 1,
        }
        self.series.at(at.secs()).rejected += 1;
    }

    /// A request was given up: its retries ran out, or no replica was up to take it.
    pub fn failed(&mut self, at: SimTime) {
        self.counts.failed += 1;
        self.series.at(at.secs()).failed += 1;
    }

    /// A request thrown out of a failed replica was sent to another.
    pub fn retried(&mut self) {
        self.counts.retries += 1;
    }

    /// A GPU (`gpu` true) or a server failed.
    pub fn part_failed(&mut self, gpu: bool) {
        if gpu {
            self.counts.gpu_failures += 1;
        } else {
            self.counts.server_failures += 1;
        }
    }

    /// `gpus` GPUs of a replica were down from `from` to `to`.
    pub fn outage(&mut self, from: SimTime, to: SimTime, gpus: u32) {
        let (from, to) = (from.secs(), to.secs().min(self.horizon_s));
        if to > from {
            self.counts.lost_gpu_s += f64::from(gpus) * (to - from);
        }
    }

    /// Totals of the edge link at the end of the run.
    pub fn edge_traffic(&mut self, ingress: (f64, f64), egress: (f64, f64)) {
        (
            self.counts.edge_ingress_bytes,
            self.counts.edge_ingress_busy_s,
        ) = ingress;
        (
            self.counts.edge_egress_bytes,
            self.counts.edge_egress_busy_s,
        ) = egress;
    }

    /// A step of a replica of `gpus` GPUs ran from `start` to `end`, drawing `above_idle`
    /// watts per GPU more than idle.
    pub fn step(
        &mut self,
        start: SimTime,
        end: SimTime,
        gpus: u32,
        step: &PlannedStep,
        above_idle: Watts,
    ) {
        let (t0, t1) = (start.secs(), end.secs());
        let duration = t1 - t0;
        let gpus = f64::from(gpus);
        self.counts.tensor_link_bytes += step.cost.tensor_link_bytes.0;
        self.counts.pipeline_link_bytes += step.cost.pipeline_link_bytes.0;
        self.series.at(t0).prefill_tokens += step.prefill_tokens as f64;
        if duration <= 0.0 {
            return;
        }
        let (flops, bytes) = (step.cost.flops.0, step.cost.memory_bytes.0);
        self.series.spread(t0, t1, |bin, dt| {
            let share = dt / duration;
            bin.gpu_busy_s += gpus * dt;
            bin.flops += flops * share;
            bin.memory_bytes += bytes * share;
            bin.active_energy_j += above_idle.0 * gpus * dt;
        });
    }

    /// `tokens` output tokens of `bytes` reached their users at `at`.
    pub fn output_tokens(&mut self, at: SimTime, tokens: u64, bytes: f64) {
        self.counts.output_tokens += tokens;
        let bin = self.series.at(at.secs());
        bin.output_tokens += tokens;
        bin.egress_bytes += bytes;
    }

    /// The fleet's levels change at `at` by the given amounts.
    pub fn change_levels(&mut self, at: SimTime, waiting: i64, running: i64, kv_blocks: i64) {
        self.integrate_levels(at.secs());
        let add = |level: u64, delta: i64| level.checked_add_signed(delta).expect("level ≥ 0");
        self.levels.waiting = add(self.levels.waiting, waiting);
        self.levels.running = add(self.levels.running, running);
        self.levels.kv_blocks = add(self.levels.kv_blocks, kv_blocks);
        self.peak_waiting = self.peak_waiting.max(self.levels.waiting);
        self.note_kv_peak();
    }

    /// The servers on (billed and powered) change at `at` by `delta`.
    pub fn change_servers_on(&mut self, at: SimTime, delta: i64) {
        self.integrate_levels(at.secs());
        self.servers_on = self
            .servers_on
            .checked_add_signed(delta)
            .expect("servers on ≥ 0");
        self.note_kv_peak();
    }

    fn note_kv_peak(&mut self) {
        if self.servers_on > 0 {
            let per_server = self.levels.kv_blocks as f64 / self.servers_on as f64;
            self.peak_kv_per_server = self.peak_kv_per_server.max(per_server);
        }
    }

    /// Integrates the current levels from the last change up to `t`.
    fn integrate_levels(&mut self, t: f64) {
        let levels = self.levels;
        let servers_on = self.servers_on as f64;
        self.series.spread(self.levels_since_s, t, |bin, dt| {
            bin.waiting_s += levels.waiting as f64 * dt;
            bin.running_s += levels.running as f64 * dt;
            bin.kv_blocks_s += levels.kv_blocks as f64 * dt;
            bin.servers_on_s += servers_on * dt;
        });
        self.levels_since_s = self.levels_since_s.max(t);
    }

    /// Closes the record at the horizon and works out the summary, the series rows and the
    /// latency distributions.
    pub fn finish(mut self, capacity: &Capacity) -> RunMeasurements {
        self.integrate_levels(self.horizon_s);
        RunMeasurements {
            summary: RunSummary::from_record(&self, self.horizon_s, capacity),
            timeseries: super::summary::series_rows(&self.series, capacity),
            latency: LatencyDistributions {
                ttft: self.ttft,
                tpot: self.tpot,
                itl: self.itl,
                e2e: self.e2e,
            },
        }
    }
}

impl Observer for Recorder {
    fn first_token(&mut self, request: &Request, at: SimTime) {
        self.ttft.record((at - request.arrival).0);
    }

    fn completed(&mut self, request: &Request, first_token: SimTime, at: SimTime) {
        self.counts.completed += 1;
        self.e2e.record((at - request.arrival).0);
        if request.output_tokens > 1 {
            self.tpot
                .record((at - first_token).0 / f64::from(request.output_tokens - 1));
        }
        self.series.at(at.secs()).completions += 1;
    }

    fn preempted(&mut self, _request: &Request, at: SimTime) {
        self.counts.preemptions += 1;
        self.series.at(at.secs()).preemptions += 1;
    }

    fn inter_token(&mut self, gap: Seconds, tokens: u64) {
        self.itl.record_n(gap.0, tokens);
    }
}
