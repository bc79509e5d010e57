//! Everything a run measures, gathered as the simulation goes: counters, latency
//! distributions, time-weighted levels and the per-interval series.

use super::latency::LatencyStats;
use super::summary::{Capacity, RunSummary, TimeSeriesRow};
use super::timeseries::TimeSeries;
use crate::engine::time::SimTime;
use crate::serve::{Observer, PlannedStep, Rejection};
use crate::units::Watts;
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

/// The measurements of one run.
#[derive(Clone, Debug)]
pub struct Recorder {
    horizon_s: f64,
    pub(super) series: TimeSeries,
    pub(super) ttft: LatencyStats,
    pub(super) tpot: LatencyStats,
    pub(super) e2e: LatencyStats,
    pub(super) arrived: u64,
    pub(super) completed: u64,
    pub(super) rejected_kv: u64,
    pub(super) rejected_budget: u64,
    pub(super) preemptions: u64,
    pub(super) output_tokens: u64,
    pub(super) levels: Levels,
    levels_since_s: f64,
    pub(super) peak_waiting: u64,
    pub(super) peak_kv_blocks: u64,
}

impl Recorder {
    /// An empty record for a run of `horizon_s` seconds with series bins of `interval_s`.
    pub fn new(horizon_s: f64, interval_s: f64) -> Recorder {
        Recorder {
            horizon_s,
            series: TimeSeries::new(interval_s, horizon_s),
            ttft: LatencyStats::default(),
            tpot: LatencyStats::default(),
            e2e: LatencyStats::default(),
            arrived: 0,
            completed: 0,
            rejected_kv: 0,
            rejected_budget: 0,
            preemptions: 0,
            output_tokens: 0,
            levels: Levels::default(),
            levels_since_s: 0.0,
            peak_waiting: 0,
            peak_kv_blocks: 0,
        }
    }

    /// A request reached the edge.
    pub fn arrival(&mut self, at: SimTime) {
        self.arrived += 1;
        if let Some(bin) = self.series.at(at.secs()) {
            bin.arrivals += 1;
        }
    }

    /// A request was refused because no replica could ever serve it.
    pub fn rejected(&mut self, at: SimTime, why: Rejection) {
        match why {
            Rejection::ExceedsKvCache => self.rejected_kv += 1,
            Rejection::ExceedsStepBudget => self.rejected_budget += 1,
        }
        if let Some(bin) = self.series.at(at.secs()) {
            bin.rejected += 1;
        }
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
        if let Some(bin) = self.series.at(t0) {
            bin.prefill_tokens += step.prefill_tokens as f64;
        }
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

    /// A replica emitted `tokens` output tokens at `at`.
    pub fn output_tokens(&mut self, at: SimTime, tokens: u64) {
        self.output_tokens += tokens;
        if let Some(bin) = self.series.at(at.secs()) {
            bin.output_tokens += tokens;
        }
    }

    /// The fleet's levels change at `at` by the given amounts.
    pub fn change_levels(&mut self, at: SimTime, waiting: i64, running: i64, kv_blocks: i64) {
        self.integrate_levels(at.secs());
        let add = |level: u64, delta: i64| level.checked_add_signed(delta).expect("level ≥ 0");
        self.levels.waiting = add(self.levels.waiting, waiting);
        self.levels.running = add(self.levels.running, running);
        self.levels.kv_blocks = add(self.levels.kv_blocks, kv_blocks);
        self.peak_waiting = self.peak_waiting.max(self.levels.waiting);
        self.peak_kv_blocks = self.peak_kv_blocks.max(self.levels.kv_blocks);
    }

    /// Integrates the current levels from the last change up to `t`.
    fn integrate_levels(&mut self, t: f64) {
        let levels = self.levels;
        self.series.spread(self.levels_since_s, t, |bin, dt| {
            bin.waiting_s += levels.waiting as f64 * dt;
            bin.running_s += levels.running as f64 * dt;
            bin.kv_blocks_s += levels.kv_blocks as f64 * dt;
        });
        self.levels_since_s = self.levels_since_s.max(t);
    }

    /// Closes the record at the horizon and works out the summary and the series rows.
    pub fn finish(mut self, capacity: &Capacity) -> (RunSummary, Vec<TimeSeriesRow>) {
        self.integrate_levels(self.horizon_s);
        let rows = super::summary::series_rows(&self.series, capacity);
        (
            RunSummary::from_record(&self, self.horizon_s, capacity),
            rows,
        )
    }
}

impl Observer for Recorder {
    fn first_token(&mut self, request: &Request, at: SimTime) {
        self.ttft.record((at - request.arrival).0);
    }

    fn completed(&mut self, request: &Request, first_token: SimTime, at: SimTime) {
        self.completed += 1;
        self.e2e.record((at - request.arrival).0);
        if request.output_tokens > 1 {
            self.tpot
                .record((at - first_token).0 / f64::from(request.output_tokens - 1));
        }
        if let Some(bin) = self.series.at(at.secs()) {
            bin.completions += 1;
        }
    }

    fn preempted(&mut self, _request: &Request, at: SimTime) {
        self.preemptions += 1;
        if let Some(bin) = self.series.at(at.secs()) {
            bin.preemptions += 1;
        }
    }
}
