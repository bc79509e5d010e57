//! Latency distributions in constant memory: an HDR histogram (3 significant digits, 1 µs
//! to 27 hours) plus an exact running sum for the mean.

use hdrhistogram::Histogram;
use serde::Serialize;

/// Microseconds per second: the histogram's unit.
const MICROS: f64 = 1e6;
/// Largest recordable latency in microseconds (about 27.8 hours); larger values saturate.
const HIGHEST_MICROS: u64 = 100_000_000_000;

/// A streaming latency distribution whose memory does not grow with the sample count.
#[derive(Clone, Debug)]
pub struct LatencyStats {
    histogram: Histogram<u64>,
    sum_s: f64,
    max_s: f64,
}

impl Default for LatencyStats {
    fn default() -> Self {
        LatencyStats {
            histogram: Histogram::new_with_bounds(1, HIGHEST_MICROS, 3)
                .expect("static histogram bounds are valid"),
            sum_s: 0.0,
            max_s: 0.0,
        }
    }
}

/// Mean and percentiles of a latency, in seconds; all `None` when nothing was recorded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct LatencySummary {
    /// Samples.
    pub count: u64,
    /// Exact mean.
    pub mean_s: Option<f64>,
    /// Median.
    pub p50_s: Option<f64>,
    /// 90th percentile.
    pub p90_s: Option<f64>,
    /// 99th percentile.
    pub p99_s: Option<f64>,
    /// Largest sample (exact).
    pub max_s: Option<f64>,
}

impl LatencyStats {
    /// Records one latency.
    pub fn record(&mut self, seconds: f64) {
        let micros = (seconds * MICROS).round().max(1.0) as u64;
        self.histogram.saturating_record(micros);
        self.sum_s += seconds;
        self.max_s = self.max_s.max(seconds);
    }

    /// Samples recorded.
    pub fn count(&self) -> u64 {
        self.histogram.len()
    }

    /// The quantile `q` (0–1) in seconds: the histogram bucket's upper edge (≤ 0.1% high).
    pub fn quantile(&self, q: f64) -> Option<f64> {
        (self.count() > 0).then(|| self.histogram.value_at_quantile(q) as f64 / MICROS)
    }

    /// Mean and percentiles.
    pub fn summary(&self) -> LatencySummary {
        let count = self.count();
        let some = |v: f64| (count > 0).then_some(v);
        LatencySummary {
            count,
            mean_s: some(self.sum_s / count.max(1) as f64),
            p50_s: self.quantile(0.50),
            p90_s: self.quantile(0.90),
            p99_s: self.quantile(0.99),
            max_s: some(self.max_s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_uniform_sample() {
        let mut stats = LatencyStats::default();
        for ms in 1..=1000 {
            stats.record(ms as f64 / 1000.0);
        }
        let s = stats.summary();
        assert_eq!(s.count, 1000);
        assert!((s.mean_s.unwrap() - 0.5005).abs() < 1e-12);
        assert!((s.p50_s.unwrap() - 0.500).abs() < 0.001);
        assert!((s.p90_s.unwrap() - 0.900).abs() < 0.001);
        assert!((s.p99_s.unwrap() - 0.990).abs() < 0.001);
        assert_eq!(s.max_s, Some(1.0));
    }

    #[test]
    fn empty_stats_have_no_figures() {
        let s = LatencyStats::default().summary();
        assert_eq!(s, LatencySummary::default());
    }

    #[test]
    fn memory_does_not_grow_with_samples() {
        let mut stats = LatencyStats::default();
        let before = stats.histogram.distinct_values();
        for i in 0..200_000 {
            stats.record(1e-3 * (1 + i % 5000) as f64);
        }
        assert_eq!(stats.histogram.distinct_values(), before);
    }
}
