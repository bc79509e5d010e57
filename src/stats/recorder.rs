//! Everything a run measures, gathered as the simulation goes: counters, latency
//! distributions, time-weighted levels and the per-interval series.
//!
//! Each replica's levels (requests waiting and running, KV blocks) are integrated over time
//! on their own and added into the shared bins, every real-valued sum is an [`ExactSum`], and
//! the fleet's peak queue is taken over the levels between instants: so the record depends
//! on each replica's changes coming in time order, not on the order in which different
//! replicas report, and records of replicas simulated apart add up to the record of one
//! simulation of them all ([`Recorder::absorb`]).

use super::ExactSum;
use super::latency::LatencyStats;
use super::summary::{Capacity, RunSummary, TimeSeriesRow};
use super::timeseries::{BinFinder, BinSums, TimeSeries};
use crate::engine::time::SimTime;
use crate::serve::{Observer, PlannedStep, PrefixLookup, Rejection};
use crate::units::{Seconds, Watts};
use crate::workload::Request;
use serde::{Deserialize, Serialize};

/// Levels that change at events and are integrated over time: a replica's, or the fleet's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Levels {
    /// Requests waiting in replica queues.
    pub waiting: u64,
    /// Requests in running batches.
    pub running: u64,
    /// KV-cache blocks in use.
    pub kv_blocks: u64,
}

/// The most a fleet-wide level reached, taken over the levels it held between instants: a
/// request leaving one replica and another joining a second at the same nanosecond count as
/// one level, whichever replica reports first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PeakLevel {
    level: u64,
    at: SimTime,
    peak: u64,
}

impl PeakLevel {
    /// The level changes by `delta` at `at` (changes come in time order).
    pub fn change(&mut self, at: SimTime, delta: i64) {
        if at > self.at {
            self.peak = self.peak.max(self.level);
            self.at = at;
        }
        self.level = self.level.checked_add_signed(delta).expect("level ≥ 0");
    }

    /// The highest level held so far, the present one included.
    pub fn peak(&self) -> u64 {
        self.peak.max(self.level)
    }
}

/// What a record keeps of one replica.
#[derive(Clone, Debug, Default)]
struct ReplicaRecord {
    /// Its levels now.
    levels: Levels,
    /// Since when they hold, seconds.
    since_s: f64,
    /// The most KV blocks it held.
    peak_kv: u64,
    /// The bin its `sums` are for.
    bin: usize,
    /// Its sums not yet added to that bin.
    sums: BinSums,
    /// The bins of its times.
    finder: BinFinder,
    /// Bytes its tensor-parallel all-reduces carried.
    tensor_link_bytes: f64,
    /// Bytes its pipeline hand-offs carried.
    pipeline_link_bytes: f64,
}

impl ReplicaRecord {
    /// Its sums for bin `bin` of `series`; those of the bin it reported into before are added
    /// there first.
    fn sums(&mut self, series: &mut TimeSeries, bin: usize) -> &mut BinSums {
        if bin != self.bin {
            series.bin_mut(self.bin).add_sums(&self.sums);
            self.sums = BinSums::default();
            self.bin = bin;
        }
        &mut self.sums
    }
}

/// Tokens a step sent down a replica's edge stream: `tokens` of them, `bytes` in all, that
/// reached their users at `at`.
#[derive(Clone, Copy, Debug)]
pub struct TokensOut {
    /// When they reached their users.
    pub at: SimTime,
    /// How many.
    pub tokens: u64,
    /// Their bytes over the edge.
    pub bytes: f64,
}

/// A step that starts, as [`Recorder::step`] records it, with the KV blocks it takes as it
/// starts.
#[derive(Clone, Copy, Debug)]
pub struct RunStep<'a> {
    /// Its start and end, seconds ([`SimTime::secs`]).
    pub secs: (f64, f64),
    /// KV blocks it takes as it starts.
    pub blocks: u64,
    /// GPUs of its replica.
    pub gpus: u32,
    /// What it does and costs.
    pub step: &'a PlannedStep,
    /// Watts per GPU above idle while it runs.
    pub above_idle: Watts,
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
    pub tensor_link_bytes: ExactSum,
    /// Bytes pipeline hand-offs carried.
    pub pipeline_link_bytes: ExactSum,
    /// Edge bytes in (requests).
    pub edge_ingress_bytes: f64,
    /// Edge seconds transmitting requests.
    pub edge_ingress_busy_s: f64,
    /// Edge bytes out (streamed tokens).
    pub edge_egress_bytes: f64,
    /// Edge seconds transmitting responses.
    pub edge_egress_busy_s: f64,
    /// What the prefix caches found.
    pub prefix: PrefixCounts,
}

/// What the replicas' prefix caches found over a run: every request joining a batch looks
/// up its prompt's blocks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PrefixCounts {
    /// Requests that joined a replica's batch for the first time and looked up their prompt.
    pub lookups: u64,
    /// Prompt blocks they looked up.
    pub blocks: u64,
    /// Of those, found cached.
    pub hit_blocks: u64,
    /// Prompt tokens they looked up.
    pub prompt_tokens: u64,
    /// Of those, found cached.
    pub hit_tokens: u64,
    /// Requests that joined a batch again after a preemption.
    pub rejoins: u64,
    /// Prompt tokens those found cached.
    pub rejoin_hit_tokens: u64,
    /// Prompt blocks evicted to make room.
    pub evictions: u64,
}

impl std::ops::AddAssign for PrefixCounts {
    fn add_assign(&mut self, other: PrefixCounts) {
        self.lookups += other.lookups;
        self.blocks += other.blocks;
        self.hit_blocks += other.hit_blocks;
        self.prompt_tokens += other.prompt_tokens;
        self.hit_tokens += other.hit_tokens;
        self.rejoins += other.rejoins;
        self.rejoin_hit_tokens += other.rejoin_hit_tokens;
        self.evictions += other.evictions;
    }
}

impl std::ops::AddAssign for Counters {
    fn add_assign(&mut self, other: Counters) {
        self.arrived += other.arrived;
        self.completed += other.completed;
        self.rejected_kv += other.rejected_kv;
        self.rejected_budget += other.rejected_budget;
        self.failed += other.failed;
        self.retries += other.retries;
        self.preemptions += other.preemptions;
        self.output_tokens += other.output_tokens;
        self.gpu_failures += other.gpu_failures;
        self.server_failures += other.server_failures;
        self.lost_gpu_s += other.lost_gpu_s;
        self.tensor_link_bytes += other.tensor_link_bytes;
        self.pipeline_link_bytes += other.pipeline_link_bytes;
        self.edge_ingress_bytes += other.edge_ingress_bytes;
        self.edge_ingress_busy_s += other.edge_ingress_busy_s;
        self.edge_egress_bytes += other.edge_egress_bytes;
        self.edge_egress_busy_s += other.edge_egress_busy_s;
        self.prefix += other.prefix;
    }
}

/// The full latency distributions of a run, mergeable across runs.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
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
    /// Every completed request, by sequence number, when the run was asked to keep them
    /// ([`Recorder::keep_completions`]); memory then grows with the requests.
    pub completions: Option<Vec<Completion>>,
}

/// One completed request's latencies.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Completion {
    /// The request's sequence number.
    pub id: u64,
    /// Time to first token, seconds.
    pub ttft_s: f64,
    /// Arrival to last token, seconds.
    pub e2e_s: f64,
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
    /// The fleet's requests waiting, for their peak.
    waiting: PeakLevel,
    /// Changes of the waiting requests, when the fleet's peak is taken elsewhere
    /// ([`Recorder::log_waiting`]).
    waiting_log: Option<Vec<(SimTime, i64)>>,
    /// What is kept of each replica.
    replicas: Vec<ReplicaRecord>,
    servers_on: u64,
    servers_on_since_s: f64,
    completions: Option<Vec<Completion>>,
}

impl Recorder {
    /// An empty record for a run of `horizon_s` seconds over `replicas` replicas, with series
    /// bins of `interval_s`.
    pub fn new(horizon_s: f64, interval_s: f64, replicas: usize) -> Recorder {
        Recorder {
            horizon_s,
            series: TimeSeries::new(interval_s, horizon_s),
            ttft: LatencyStats::default(),
            tpot: LatencyStats::default(),
            itl: LatencyStats::default(),
            e2e: LatencyStats::default(),
            counts: Counters::default(),
            waiting: PeakLevel::default(),
            waiting_log: None,
            replicas: vec![ReplicaRecord::default(); replicas],
            servers_on: 0,
            servers_on_since_s: 0.0,
            completions: None,
        }
    }

    /// Keeps every completed request's latencies, for checks that compare runs request by
    /// request.
    pub fn keep_completions(&mut self) {
        self.completions = Some(Vec::new());
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

    /// A step of a replica of `gpus` GPUs ran from `t0` to `t1` (seconds:
    /// [`SimTime::secs`] of its start and end), drawing `above_idle` watts per GPU more than
    /// idle.
    pub fn step(
        &mut self,
        replica: usize,
        (t0, t1): (f64, f64),
        gpus: u32,
        step: &PlannedStep,
        above_idle: Watts,
    ) {
        let duration = t1 - t0;
        let gpus = f64::from(gpus);
        let record = &mut self.replicas[replica];
        record.tensor_link_bytes += step.cost.tensor_link_bytes.0;
        record.pipeline_link_bytes += step.cost.pipeline_link_bytes.0;
        let first = record.finder.index_at(&self.series, t0);
        if step.prefill_tokens > 0 {
            self.series.bin_mut(first).prefill_tokens += step.prefill_tokens;
        }
        if duration <= 0.0 {
            return;
        }
        let (flops, bytes) = (step.cost.flops.0, step.cost.memory_bytes.0);
        if record.finder.one_span(t0, t1) {
            // What the loop below does for one span, without it.
            let sums = record.sums(&mut self.series, first);
            sums.add_whole_step(gpus, duration, (flops, bytes), above_idle);
            return;
        }
        for (bin, dt) in self.series.spans_from(first, t0, t1) {
            // The same bits as the division, which a step within one bin need not make.
            let share = if dt == duration { 1.0 } else { dt / duration };
            let sums = record.sums(&mut self.series, bin);
            sums.gpu_busy_s += gpus * dt;
            sums.flops += flops * share;
            sums.memory_bytes += bytes * share;
            sums.active_energy_j += above_idle.0 * gpus * dt;
        }
    }

    /// `tokens` output tokens of replica `replica`, `bytes` over the edge, reached their
    /// users at `at`.
    pub fn output_tokens(&mut self, replica: usize, at: SimTime, tokens: u64, bytes: f64) {
        self.counts.output_tokens += tokens;
        let record = &mut self.replicas[replica];
        let bin = record.finder.index_at(&self.series, at.secs());
        self.series.bin_mut(bin).output_tokens += tokens;
        record.sums(&mut self.series, bin).egress_bytes += bytes;
    }

    /// Replica `replica`'s levels change at `at` by the given amounts.
    pub fn change_levels(
        &mut self,
        replica: usize,
        at: SimTime,
        waiting: i64,
        running: i64,
        kv_blocks: i64,
    ) {
        self.integrate_replica(replica, at.secs());
        let add = |level: u64, delta: i64| level.checked_add_signed(delta).expect("level ≥ 0");
        let record = &mut self.replicas[replica];
        let levels = &mut record.levels;
        levels.waiting = add(levels.waiting, waiting);
        levels.running = add(levels.running, running);
        levels.kv_blocks = add(levels.kv_blocks, kv_blocks);
        record.peak_kv = record.peak_kv.max(levels.kv_blocks);
        if waiting != 0 {
            self.waiting.change(at, waiting);
            if let Some(log) = &mut self.waiting_log {
                log.push((at, waiting));
            }
        }
    }

    /// Replicas' prefix caches evicted `blocks` prompt blocks (told once, at the end).
    pub fn prefix_evictions(&mut self, blocks: u64) {
        self.counts.prefix.evictions += blocks;
    }

    /// The servers on (billed and powered) change at `at` by `delta`.
    pub fn change_servers_on(&mut self, at: SimTime, delta: i64) {
        let t = at.secs();
        let servers_on = self.servers_on as f64;
        for (bin, dt) in self.series.spans(self.servers_on_since_s, t) {
            self.series.bin_mut(bin).servers_on_s.add(servers_on * dt);
        }
        self.servers_on_since_s = self.servers_on_since_s.max(t);
        self.servers_on = self
            .servers_on
            .checked_add_signed(delta)
            .expect("servers on ≥ 0");
    }

    /// Replica `replica` takes `blocks` more KV blocks at `at_s` ([`SimTime::secs`]):
    /// [`Recorder::change_levels`] of the KV blocks alone, as a run's steps take them.
    pub fn take_kv_blocks(&mut self, replica: usize, at_s: f64, blocks: u64) {
        self.integrate_replica(replica, at_s);
        let record = &mut self.replicas[replica];
        record.levels.kv_blocks += blocks;
        record.peak_kv = record.peak_kv.max(record.levels.kv_blocks);
    }

    /// One step of a run of decode steps ends at replica `replica`: `out`, the tokens the
    /// step sent (none for step one, which finishes as a single step), then `next`, the step
    /// after it, if any. The same record as [`Recorder::output_tokens`], then
    /// [`Recorder::take_kv_blocks`] (if the next step takes blocks) and [`Recorder::step`],
    /// in one call: the steps of a run mostly fall in the bin of the step before, where one
    /// check of the bin's bounds stands for the three calls' finding of their bins.
    pub fn run_step(&mut self, replica: usize, out: Option<TokensOut>, next: Option<RunStep>) {
        if self.run_step_in_bin(replica, out, next) {
            return;
        }
        if let Some(out) = out {
            self.output_tokens(replica, out.at, out.tokens, out.bytes);
        }
        if let Some(next) = next {
            if next.blocks > 0 {
                self.take_kv_blocks(replica, next.secs.0, next.blocks);
            }
            self.step(replica, next.secs, next.gpus, next.step, next.above_idle);
        }
    }

    /// [`Recorder::run_step`] where every time it records falls in the bin the replica's
    /// sums are for, within one span: its adds, in the same order, to the same sums (so the
    /// same bits). Returns `false`, having changed nothing, where a time falls elsewhere.
    fn run_step_in_bin(
        &mut self,
        replica: usize,
        out: Option<TokensOut>,
        next: Option<RunStep>,
    ) -> bool {
        let record = &mut self.replicas[replica];
        let finder = record.finder;
        let Some(bin) = finder.bin().filter(|&bin| bin == record.bin) else {
            return false;
        };
        if out.is_some_and(|out| !finder.holds(out.at.secs())) {
            return false;
        }
        if let Some(next) = &next {
            let ((t0, t1), since) = (next.secs, record.since_s);
            let levels_in_bin = next.blocks == 0 || (finder.holds(since) && since <= t0);
            if !(finder.holds(t0) && finder.one_span(t0, t1) && levels_in_bin) {
                return false;
            }
        }
        if let Some(out) = out {
            self.counts.output_tokens += out.tokens;
            self.series.bin_mut(bin).output_tokens += out.tokens;
            record.sums.egress_bytes += out.bytes;
        }
        if let Some(next) = next {
            let (t0, t1) = next.secs;
            if next.blocks > 0 {
                if record.since_s < t0 {
                    record.sums.add_levels(&record.levels, t0 - record.since_s);
                    record.since_s = t0;
                }
                record.levels.kv_blocks += next.blocks;
                record.peak_kv = record.peak_kv.max(record.levels.kv_blocks);
            }
            let cost = &next.step.cost;
            record.tensor_link_bytes += cost.tensor_link_bytes.0;
            record.pipeline_link_bytes += cost.pipeline_link_bytes.0;
            if next.step.prefill_tokens > 0 {
                self.series.bin_mut(bin).prefill_tokens += next.step.prefill_tokens;
            }
            let work = (cost.flops.0, cost.memory_bytes.0);
            let gpus = f64::from(next.gpus);
            record
                .sums
                .add_whole_step(gpus, t1 - t0, work, next.above_idle);
        }
        true
    }

    /// Adds replica `replica`'s levels from their last change up to `t` into the bins.
    fn integrate_replica(&mut self, replica: usize, t: f64) {
        let record = &mut self.replicas[replica];
        let levels = record.levels;
        let first = record.finder.index_at(&self.series, record.since_s);
        if record.finder.one_span(record.since_s, t) {
            // What the loop below does for one span, without it.
            let dt = t - record.since_s;
            record.sums(&mut self.series, first).add_levels(&levels, dt);
            record.since_s = t;
            return;
        }
        for (bin, dt) in self.series.spans_from(first, record.since_s, t) {
            record.sums(&mut self.series, bin).add_levels(&levels, dt);
        }
        record.since_s = record.since_s.max(t);
    }

    /// The fleet's levels now: its replicas' together.
    pub(super) fn levels(&self) -> Levels {
        let mut fleet = Levels::default();
        for record in &self.replicas {
            fleet.waiting += record.levels.waiting;
            fleet.running += record.levels.running;
            fleet.kv_blocks += record.levels.kv_blocks;
        }
        fleet
    }

    /// The most requests waiting in the fleet at once.
    pub(super) fn peak_waiting(&self) -> u64 {
        self.waiting.peak()
    }

    /// Logs every change of the waiting requests, for a record that holds only some of the
    /// fleet's replicas: the fleet's peak is then taken from all parts' logs together
    /// ([`Recorder::waiting_changes`]).
    pub fn log_waiting(&mut self) {
        self.waiting_log = Some(Vec::new());
    }

    /// The changes logged since the last call, in time order.
    pub fn take_waiting_log(&mut self) -> Vec<(SimTime, i64)> {
        self.waiting_log
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Applies the fleet's changes of waiting requests `changes`, in time order, to the
    /// peak (for a record whose replicas were simulated apart).
    pub fn waiting_changes(&mut self, changes: &[(SimTime, i64)]) {
        for &(at, delta) in changes {
            self.waiting.change(at, delta);
        }
    }

    /// Adds the record of some of the fleet's replicas simulated apart (their steps, levels,
    /// latencies and counts), leaving the peak of waiting requests to
    /// [`Recorder::waiting_changes`]. The replicas' own records come along whole, sums not
    /// yet added to a bin included, and are closed at [`Recorder::finish`] as if they had
    /// been simulated here.
    pub fn absorb(&mut self, part: Recorder) {
        self.series.absorb(&part.series);
        self.ttft.merge(&part.ttft);
        self.tpot.merge(&part.tpot);
        self.itl.merge(&part.itl);
        self.e2e.merge(&part.e2e);
        self.counts += part.counts;
        self.replicas.extend(part.replicas);
        if let (Some(log), Some(more)) = (&mut self.completions, part.completions) {
            log.extend(more);
        }
    }

    /// The most KV blocks any one replica held at once.
    pub(super) fn peak_replica_kv_blocks(&self) -> u64 {
        self.replicas.iter().map(|r| r.peak_kv).max().unwrap_or(0)
    }

    /// Closes the record at the horizon and works out the summary, the series rows and the
    /// latency distributions.
    pub fn finish(mut self, capacity: &Capacity) -> RunMeasurements {
        for replica in 0..self.replicas.len() {
            self.integrate_replica(replica, self.horizon_s);
            let record = &mut self.replicas[replica];
            self.series.bin_mut(record.bin).add_sums(&record.sums);
            self.counts.tensor_link_bytes.add(record.tensor_link_bytes);
            self.counts
                .pipeline_link_bytes
                .add(record.pipeline_link_bytes);
        }
        self.change_servers_on(SimTime::from_secs(self.horizon_s), 0);
        if let Some(log) = &mut self.completions {
            log.sort_by_key(|c| c.id);
        }
        RunMeasurements {
            summary: RunSummary::from_record(&self, self.horizon_s, capacity),
            timeseries: super::summary::series_rows(&self.series, capacity),
            latency: LatencyDistributions {
                ttft: self.ttft,
                tpot: self.tpot,
                itl: self.itl,
                e2e: self.e2e,
            },
            completions: self.completions,
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
        if let Some(log) = &mut self.completions {
            log.push(Completion {
                id: request.id,
                ttft_s: (first_token - request.arrival).0,
                e2e_s: (at - request.arrival).0,
            });
        }
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

    fn prefix_lookup(&mut self, at: SimTime, lookup: &PrefixLookup) {
        let counts = &mut self.counts.prefix;
        if lookup.again {
            counts.rejoins += 1;
            counts.rejoin_hit_tokens += lookup.hit_tokens;
            return;
        }
        counts.lookups += 1;
        counts.blocks += lookup.blocks;
        counts.hit_blocks += lookup.hit_blocks;
        counts.prompt_tokens += lookup.prompt_tokens;
        counts.hit_tokens += lookup.hit_tokens;
        let bin = self.series.at(at.secs());
        bin.prefix_blocks += lookup.blocks;
        bin.prefix_hit_blocks += lookup.hit_blocks;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capacity() -> Capacity {
        Capacity {
            servers: 1,
            gpus: 2,
            replicas: 2,
            kv_blocks: 200,
            peak_flops: 1e15,
            memory_bandwidth: 1e12,
            idle_power_w: 100.0,
            prefix_block_tokens: None,
        }
    }

    fn at(secs: f64) -> SimTime {
        SimTime::from_secs(secs)
    }

    /// Replica 0: 2 waiting from 10 s, 1 running with 40 blocks from 30 s; replica 1: 3
    /// running with 90 blocks from 20 to 50 s. Reported replica by replica in `order`.
    fn record(order: [usize; 2]) -> RunMeasurements {
        let mut r = Recorder::new(60.0, 30.0, 2);
        r.change_servers_on(at(0.0), 1);
        for replica in order {
            if replica == 0 {
                r.change_levels(0, at(10.0), 2, 0, 0);
                r.change_levels(0, at(30.0), -1, 1, 40);
            } else {
                r.change_levels(1, at(20.0), 0, 3, 90);
                r.change_levels(1, at(50.0), 0, -3, -90);
            }
        }
        r.finish(&capacity())
    }

    #[test]
    fn levels_integrate_per_replica_in_any_order_of_replicas() {
        let (a, b) = (record([0, 1]), record([1, 0]));
        assert_eq!(a.timeseries, b.timeseries);
        assert_eq!(a.summary, b.summary);
        // Waiting: 2 × 20 s + 1 × 30 s = 70 s over 60 s.
        assert!((a.summary.utilization.waiting_mean - 70.0 / 60.0).abs() < 1e-12);
        // Running: 3 × 30 s + 1 × 30 s = 120 s over 60 s.
        assert!((a.summary.utilization.running_mean - 2.0).abs() < 1e-12);
        // The first bin (0–30 s) holds 3 running × 10 s of replica 1.
        assert!((a.timeseries[0].running_mean - 1.0).abs() < 1e-12);
        // The fullest replica held 90 of its 100 blocks.
        assert!((a.summary.utilization.kv_cache_peak - 0.9).abs() < 1e-12);
        assert_eq!(a.summary.utilization.waiting_max, 2);
    }

    #[test]
    fn taking_kv_blocks_is_a_change_of_the_kv_level_alone() {
        let levels = |take: bool| {
            let mut r = Recorder::new(60.0, 30.0, 1);
            r.change_servers_on(at(0.0), 1);
            r.change_levels(0, at(10.0), 1, 2, 30);
            // Within a bin, then across one, then at the horizon.
            for (t, blocks) in [(12.5, 4), (40.0, 1), (60.0, 7)] {
                if take {
                    r.take_kv_blocks(0, at(t).secs(), blocks);
                } else {
                    r.change_levels(0, at(t), 0, 0, blocks as i64);
                }
            }
            r.finish(&capacity())
        };
        let (taken, changed) = (levels(true), levels(false));
        assert_eq!(taken.timeseries, changed.timeseries);
        assert_eq!(taken.summary, changed.summary);
        // 30 blocks for 2.5 s, 34 for 27.5 s, then 35 for 20 s, of the 200 `capacity` counts,
        // over 60 s.
        let mean = (30.0 * 2.5 + 34.0 * 27.5 + 35.0 * 20.0) / 60.0 / 200.0;
        assert!((taken.summary.utilization.kv_cache_mean - mean).abs() < 1e-12);
        assert!((taken.summary.utilization.kv_cache_peak - 0.42).abs() < 1e-12);
    }

    #[test]
    fn a_run_step_records_what_its_three_calls_record() {
        use crate::perf_model::{StepCost, StepWork};
        use crate::units::{Bytes, Flops};
        let record = |fused: bool| {
            let mut r = Recorder::new(60.0, 30.0, 1);
            r.change_servers_on(at(0.0), 1);
            r.change_levels(0, at(1.0), 1, 3, 30);
            let mut t = at(1.0);
            // Steps of uneven lengths and costs, some taking blocks. The 15th (28.82 s to
            // 31.60 s) crosses the bin at 30 s, and the tokens of the one before it reach
            // their users only in the next bin (31.32 s); the 30th crosses the horizon.
            for i in 0..40u32 {
                let end = t + Seconds(1.3 + 0.37 * f64::from(i % 5));
                let step = PlannedStep {
                    cost: StepCost {
                        flops: Flops(1e12 * (1.0 + f64::from(i) / 7.0)),
                        memory_bytes: Bytes(3e9 / (1.0 + f64::from(i))),
                        tensor_link_bytes: Bytes(1e6 / 3.0),
                        ..StepCost::default()
                    },
                    work: StepWork::default(),
                    prefill_tokens: 0,
                };
                let out = (i > 0).then(|| TokensOut {
                    at: t + Seconds(if i == 14 { 2.5 } else { 0.01 }),
                    tokens: 3,
                    bytes: 12.1 + f64::from(i),
                });
                let next = RunStep {
                    secs: (t.secs(), end.secs()),
                    blocks: u64::from(i % 3),
                    gpus: 2,
                    step: &step,
                    above_idle: Watts(300.0 + f64::from(i) / 3.0),
                };
                if fused {
                    r.run_step(0, out, Some(next));
                } else {
                    if let Some(out) = out {
                        r.output_tokens(0, out.at, out.tokens, out.bytes);
                    }
                    if next.blocks > 0 {
                        r.take_kv_blocks(0, next.secs.0, next.blocks);
                    }
                    r.step(0, next.secs, next.gpus, &step, next.above_idle);
                }
                t = end;
            }
            r.finish(&capacity())
        };
        let (fused, apart) = (record(true), record(false));
        assert_eq!(fused.timeseries, apart.timeseries);
        assert_eq!(fused.summary, apart.summary);
        assert_eq!(fused.summary.throughput.output_tokens, 39 * 3);
    }
}
