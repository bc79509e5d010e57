//! Per-interval accumulators over the simulated horizon: counts land in the bin of their
//! time (tokens that reach users after the horizon, in the last), spans (steps, queue
//! levels) are split across the bins they overlap. Real-valued sums are [`ExactSum`]s, so a
//! bin is the same whatever the order its terms came in.

use super::ExactSum;
use super::recorder::Levels;
use crate::units::{Watts, u64_to_f64};

/// What one interval accumulates.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Bin {
    /// Requests that arrived.
    pub arrivals: u64,
    /// Requests refused as impossible to serve.
    pub rejected: u64,
    /// Requests given up after failures.
    pub failed: u64,
    /// Requests that completed.
    pub completions: u64,
    /// Output tokens that reached their users.
    pub output_tokens: u64,
    /// Bytes of those tokens over the edge link.
    pub egress_bytes: ExactSum,
    /// Prompt (or recomputed) tokens processed.
    pub prefill_tokens: u64,
    /// Preemptions.
    pub preemptions: u64,
    /// Prompt blocks looked up in prefix caches.
    pub prefix_blocks: u64,
    /// Of those, found cached.
    pub prefix_hit_blocks: u64,
    /// GPU-seconds spent inside steps.
    pub gpu_busy_s: ExactSum,
    /// FLOPs done.
    pub flops: ExactSum,
    /// Bytes moved in GPU memory.
    pub memory_bytes: ExactSum,
    /// GPU energy above idle, in joules.
    pub active_energy_j: ExactSum,
    /// ∫ requests waiting dt.
    pub waiting_s: ExactSum,
    /// ∫ requests running dt.
    pub running_s: ExactSum,
    /// ∫ KV blocks in use dt.
    pub kv_blocks_s: ExactSum,
    /// ∫ servers on (billed and powered) dt.
    pub servers_on_s: ExactSum,
}

impl std::ops::AddAssign<&Bin> for Bin {
    fn add_assign(&mut self, other: &Bin) {
        self.arrivals += other.arrivals;
        self.rejected += other.rejected;
        self.failed += other.failed;
        self.completions += other.completions;
        self.output_tokens += other.output_tokens;
        self.egress_bytes += other.egress_bytes;
        self.prefill_tokens += other.prefill_tokens;
        self.preemptions += other.preemptions;
        self.prefix_blocks += other.prefix_blocks;
        self.prefix_hit_blocks += other.prefix_hit_blocks;
        self.gpu_busy_s += other.gpu_busy_s;
        self.flops += other.flops;
        self.memory_bytes += other.memory_bytes;
        self.active_energy_j += other.active_energy_j;
        self.waiting_s += other.waiting_s;
        self.running_s += other.running_s;
        self.kv_blocks_s += other.kv_blocks_s;
        self.servers_on_s += other.servers_on_s;
    }
}

/// Real-valued sums one replica adds to one bin, in plain floating point in the order the
/// replica reports them; they join the bin's [`ExactSum`]s when the replica moves on to
/// another bin, so the costly exact sums are taken once per replica and bin, not per step.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BinSums {
    /// Bytes of output tokens over the edge link.
    pub egress_bytes: f64,
    /// GPU-seconds spent inside steps.
    pub gpu_busy_s: f64,
    /// FLOPs done.
    pub flops: f64,
    /// Bytes moved in GPU memory.
    pub memory_bytes: f64,
    /// GPU energy above idle, in joules.
    pub active_energy_j: f64,
    /// ∫ requests waiting dt.
    pub waiting_s: f64,
    /// ∫ requests running dt.
    pub running_s: f64,
    /// ∫ KV blocks in use dt.
    pub kv_blocks_s: f64,
}

impl BinSums {
    /// A step of `gpus` GPUs within one bin: `duration` seconds, `(flops, bytes)` of work,
    /// drawing `above_idle` watts per GPU above idle.
    #[inline]
    pub fn add_whole_step(
        &mut self,
        gpus: f64,
        duration: f64,
        (flops, bytes): (f64, f64),
        above_idle: Watts,
    ) {
        self.gpu_busy_s += gpus * duration;
        self.flops += flops;
        self.memory_bytes += bytes;
        self.active_energy_j += above_idle.0 * gpus * duration;
    }

    /// `levels` held for `dt` seconds.
    #[inline]
    pub fn add_levels(&mut self, levels: &Levels, dt: f64) {
        self.waiting_s += u64_to_f64(levels.waiting) * dt;
        self.running_s += u64_to_f64(levels.running) * dt;
        self.kv_blocks_s += u64_to_f64(levels.kv_blocks) * dt;
    }
}

impl Bin {
    /// Adds one replica's sums.
    pub fn add_sums(&mut self, sums: &BinSums) {
        self.egress_bytes.add(sums.egress_bytes);
        self.gpu_busy_s.add(sums.gpu_busy_s);
        self.flops.add(sums.flops);
        self.memory_bytes.add(sums.memory_bytes);
        self.active_energy_j.add(sums.active_energy_j);
        self.waiting_s.add(sums.waiting_s);
        self.running_s.add(sums.running_s);
        self.kv_blocks_s.add(sums.kv_blocks_s);
    }
}

/// Bins of equal width from time zero to the horizon (the last may be shorter).
#[derive(Clone, Debug)]
pub struct TimeSeries {
    interval_s: f64,
    horizon_s: f64,
    bins: Vec<Bin>,
}

impl TimeSeries {
    /// Bins of `interval_s` seconds covering `[0, horizon_s)`.
    pub fn new(interval_s: f64, horizon_s: f64) -> TimeSeries {
        let count = (horizon_s / interval_s).ceil().max(1.0) as usize;
        TimeSeries {
            interval_s,
            horizon_s,
            bins: vec![Bin::default(); count],
        }
    }

    /// The bins in time order.
    pub fn bins(&self) -> &[Bin] {
        &self.bins
    }

    /// Start and width of bin `index` in seconds.
    pub fn span(&self, index: usize) -> (f64, f64) {
        let start = index as f64 * self.interval_s;
        (start, (start + self.interval_s).min(self.horizon_s) - start)
    }

    /// Adds the bins of `other`, a series over the same intervals.
    pub fn absorb(&mut self, other: &TimeSeries) {
        debug_assert_eq!(self.bins.len(), other.bins.len());
        for (bin, more) in self.bins.iter_mut().zip(&other.bins) {
            *bin += more;
        }
    }

    /// The bin containing time `t`; the last bin for times at or after the horizon.
    pub fn at(&mut self, t: f64) -> &mut Bin {
        let index = self.index_at(t);
        &mut self.bins[index]
    }

    /// The index of the bin containing time `t` (the last for times at or after the horizon).
    pub fn index_at(&self, t: f64) -> usize {
        ((t.max(0.0) / self.interval_s) as usize).min(self.bins.len() - 1)
    }

    /// Bin `index`.
    pub fn bin_mut(&mut self, index: usize) -> &mut Bin {
        &mut self.bins[index]
    }

    /// The bins that `[start, end)` overlaps after clipping to the horizon, with the seconds
    /// of overlap: pairs of (bin index, seconds).
    pub fn spans(&self, start: f64, end: f64) -> impl Iterator<Item = (usize, f64)> + use<> {
        self.spans_from(self.index_at(start), start, end)
    }

    /// [`TimeSeries::spans`], given `index`, the bin containing `start` (from
    /// [`TimeSeries::index_at`] or a [`BinFinder`]).
    pub fn spans_from(
        &self,
        mut index: usize,
        start: f64,
        end: f64,
    ) -> impl Iterator<Item = (usize, f64)> + use<> {
        debug_assert_eq!(index, self.index_at(start));
        let (interval, bins) = (self.interval_s, self.bins.len());
        let end = end.min(self.horizon_s);
        let mut from = start;
        std::iter::from_fn(move || {
            if from >= end || index >= bins {
                return None;
            }
            let bin_end = (u64_to_f64(index as u64 + 1) * interval).min(end);
            let span = (index, bin_end - from);
            from = bin_end;
            index += 1;
            Some(span)
        })
    }
}

/// Finds the bins of times that mostly come in order, with one division per bin rather than
/// per time: it keeps the exact bounds of the last bin found, the times from the first that
/// [`TimeSeries::index_at`] puts in it to the first it puts in the next (the index never
/// falls as the time grows, so a bin's times are one interval).
#[derive(Clone, Copy, Debug)]
pub struct BinFinder {
    bin: usize,
    /// The first time in `bin`.
    from: f64,
    /// The first time after `bin`.
    to: f64,
    /// Where [`TimeSeries::spans_from`] ends `bin`'s span: its end or the horizon.
    edge: f64,
}

impl Default for BinFinder {
    /// Knows no bin yet.
    fn default() -> BinFinder {
        BinFinder {
            bin: 0,
            from: f64::INFINITY,
            to: f64::NEG_INFINITY,
            edge: f64::NEG_INFINITY,
        }
    }
}

impl BinFinder {
    /// [`TimeSeries::index_at`] of `t` in `series`.
    #[inline]
    pub fn index_at(&mut self, series: &TimeSeries, t: f64) -> usize {
        if self.holds(t) {
            return self.bin;
        }
        self.find(series, t)
    }

    /// [`BinFinder::index_at`] for a time outside the bin it knows.
    #[cold]
    fn find(&mut self, series: &TimeSeries, t: f64) -> usize {
        let bin = series.index_at(t);
        *self = BinFinder {
            bin,
            from: series.first_time_in(bin),
            to: series.first_time_in(bin + 1),
            edge: series.span_edge(bin),
        };
        bin
    }

    /// The bin it knows, if any.
    #[inline]
    pub fn bin(&self) -> Option<usize> {
        (self.from < self.to).then_some(self.bin)
    }

    /// Whether `t` is in the bin it knows: [`BinFinder::index_at`] would give that bin
    /// without looking further.
    #[inline]
    pub fn holds(&self, t: f64) -> bool {
        self.from <= t && t < self.to
    }

    /// Whether [`TimeSeries::spans_from`] gives `[start, end)` as one span, `end − start`
    /// in the bin of `start`, which [`BinFinder::index_at`] found last.
    #[inline]
    pub fn one_span(&self, start: f64, end: f64) -> bool {
        debug_assert!(self.from <= start && start < self.to);
        start < end && end <= self.edge
    }
}

impl TimeSeries {
    /// Where [`TimeSeries::spans_from`] ends the span of bin `index`, before the end given it.
    fn span_edge(&self, index: usize) -> f64 {
        (u64_to_f64(index as u64 + 1) * self.interval_s).min(self.horizon_s)
    }

    /// The least time that [`TimeSeries::index_at`] puts in bin `index` or later: −∞ for the
    /// first bin, +∞ past the last. The division rounds, so the bound is found by stepping
    /// from `index × interval` to the neighbouring floats where it says otherwise.
    fn first_time_in(&self, index: usize) -> f64 {
        if index == 0 {
            return f64::NEG_INFINITY;
        }
        if index >= self.bins.len() {
            return f64::INFINITY;
        }
        let mut t = u64_to_f64(index as u64) * self.interval_s;
        while self.index_at(t) >= index {
            t = next_down(t);
        }
        while self.index_at(t) < index {
            t = next_up(t);
        }
        t
    }
}

/// The float after `t`, a positive finite time (`f64::next_up`, which is newer than the
/// crate's minimum Rust).
fn next_up(t: f64) -> f64 {
    f64::from_bits(t.to_bits() + 1)
}

/// The float before `t`, a positive finite time.
fn next_down(t: f64) -> f64 {
    f64::from_bits(t.to_bits() - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_split_across_bins_and_clip_at_the_horizon() {
        let mut series = TimeSeries::new(60.0, 150.0);
        assert_eq!(series.bins().len(), 3);
        assert_eq!(series.span(2), (120.0, 30.0));
        let spans: Vec<(usize, f64)> = series.spans(50.0, 200.0).collect();
        assert_eq!(spans, vec![(0, 10.0), (1, 60.0), (2, 30.0)]);
        assert_eq!(series.spans(70.0, 70.0).count(), 0);
        series.at(59.9).arrivals += 1;
        series.at(150.0).arrivals += 1;
        assert_eq!(series.bins()[0].arrivals, 1);
        assert_eq!(
            series.bins()[2].arrivals,
            1,
            "late events land in the last bin"
        );
    }

    #[test]
    fn a_bin_finder_agrees_with_the_division_in_and_out_of_order() {
        let series = TimeSeries::new(0.1, 1.0);
        let mut finder = BinFinder::default();
        let times = [
            0.0,
            0.05,
            0.1,
            0.3,
            0.29999999999999993,
            0.3,
            0.7,
            0.2,
            0.95,
            1.0,
            7.0,
        ];
        for t in times
            .into_iter()
            .chain((0..3000).map(|i| f64::from(i) * 3.3e-4))
        {
            assert_eq!(finder.index_at(&series, t), series.index_at(t), "{t}");
        }
        for index in 1..series.bins().len() {
            let from = series.first_time_in(index);
            assert_eq!(series.index_at(from), index);
            assert_eq!(series.index_at(next_down(from)), index - 1);
            for t in [from, next_down(from), next_up(from)] {
                assert_eq!(finder.index_at(&series, t), series.index_at(t), "{t}");
            }
        }
        // One span is what `spans_from` gives as one, with the same bits.
        for (start, end, one) in [
            (0.25, 0.29, true),
            (0.25, 0.3, true),
            (0.25, 0.31, false),
            (0.25, 0.25, false),
            (0.95, 1.0, true),
            (0.95, 7.0, false),
        ] {
            let bin = finder.index_at(&series, start);
            let spans: Vec<_> = series.spans_from(bin, start, end).collect();
            assert_eq!(spans == [(bin, end - start)], one, "{start} to {end}");
            assert_eq!(finder.one_span(start, end), one, "{start} to {end}");
        }
        let spans: Vec<_> = series.spans_from(2, 0.25, 0.42).collect();
        assert_eq!(spans, series.spans(0.25, 0.42).collect::<Vec<_>>());
        assert_eq!(spans.len(), 3);
    }
}
