//! Per-interval accumulators over the simulated horizon: counts land in the bin of their
//! time (tokens that reach users after the horizon, in the last), spans (steps, queue
//! levels) are split across the bins they overlap.

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
    pub egress_bytes: f64,
    /// Prompt (or recomputed) tokens processed.
    pub prefill_tokens: f64,
    /// Preemptions.
    pub preemptions: u64,
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
    /// ∫ servers on (billed and powered) dt.
    pub servers_on_s: f64,
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

    /// The bin containing time `t`; the last bin for times at or after the horizon.
    pub fn at(&mut self, t: f64) -> &mut Bin {
        let last = self.bins.len() - 1;
        let index = ((t.max(0.0) / self.interval_s) as usize).min(last);
        &mut self.bins[index]
    }

    /// Calls `apply(bin, overlap_seconds)` for each bin that `[start, end)` overlaps, after
    /// clipping to the horizon.
    pub fn spread(&mut self, start: f64, end: f64, mut apply: impl FnMut(&mut Bin, f64)) {
        let end = end.min(self.horizon_s);
        if end <= start {
            return;
        }
        let first = (start / self.interval_s) as usize;
        let mut index = first.min(self.bins.len() - 1);
        let mut from = start;
        while from < end && index < self.bins.len() {
            let bin_end = ((index + 1) as f64 * self.interval_s).min(end);
            apply(&mut self.bins[index], bin_end - from);
            from = bin_end;
            index += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_split_across_bins_and_clip_at_the_horizon() {
        let mut series = TimeSeries::new(60.0, 150.0);
        assert_eq!(series.bins().len(), 3);
        assert_eq!(series.span(2), (120.0, 30.0));
        series.spread(50.0, 200.0, |bin, dt| bin.gpu_busy_s += dt);
        let busy: Vec<f64> = series.bins().iter().map(|b| b.gpu_busy_s).collect();
        assert_eq!(busy, vec![10.0, 60.0, 30.0]);
        series.at(59.9).arrivals += 1;
        series.at(150.0).arrivals += 1;
        assert_eq!(series.bins()[0].arrivals, 1);
        assert_eq!(
            series.bins()[2].arrivals,
            1,
            "late events land in the last bin"
        );
    }
}
