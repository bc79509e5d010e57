//! Latency distributions in constant memory: an HDR histogram (3 significant digits, 1 µs
//! to 27 hours) plus a running sum for the mean, in whole picoseconds so that it is the same
//! in any order of the samples.

use crate::units::round_to_u64;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Microseconds per second: the histogram's unit.
const MICROS: f64 = 1e6;
/// Picoseconds per second: the unit of the sum.
const PICOS: f64 = 1e12;
/// Largest recordable latency in microseconds (about 27.8 hours); larger values saturate.
const HIGHEST_MICROS: u64 = 100_000_000_000;

/// A streaming latency distribution whose memory does not grow with the sample count.
#[derive(Clone, Debug)]
pub struct LatencyStats {
    histogram: Histogram<u64>,
    /// Sum of the samples, each rounded to the picosecond.
    sum_ps: u128,
    max_s: f64,
}

impl Default for LatencyStats {
    fn default() -> Self {
        LatencyStats {
            histogram: Histogram::new_with_bounds(1, HIGHEST_MICROS, 3)
                .expect("static histogram bounds are valid"),
            sum_ps: 0,
            max_s: 0.0,
        }
    }
}

/// Mean and percentiles of a latency, in seconds; all `None` when nothing was recorded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    /// Samples.
    pub count: u64,
    /// Mean (exact to the picosecond).
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

/// A latency distribution as it is written down (a shard's record of a run): the histogram's
/// buckets that hold samples, each as its highest value in microseconds and its count, with
/// the sum and the largest sample. Read back, it is the same distribution bucket for bucket,
/// so that merging it gives the bits merging the original would.
#[derive(Serialize, Deserialize)]
struct Written {
    sum_ps: u128,
    max_s: f64,
    buckets: Vec<(u64, u64)>,
}

impl Serialize for LatencyStats {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Written {
            sum_ps: self.sum_ps,
            max_s: self.max_s,
            buckets: self
                .histogram
                .iter_recorded()
                .map(|b| (b.value_iterated_to(), b.count_at_value()))
                .collect(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for LatencyStats {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let written = Written::deserialize(deserializer)?;
        let mut stats = LatencyStats {
            sum_ps: written.sum_ps,
            max_s: written.max_s,
            ..LatencyStats::default()
        };
        for (micros, count) in written.buckets {
            stats.histogram.record_n(micros, count).map_err(|_| {
                D::Error::custom(format!(
                    "a latency bucket at {micros} µs, beyond the {HIGHEST_MICROS} µs a \
                     histogram holds"
                ))
            })?;
        }
        Ok(stats)
    }
}

impl LatencyStats {
    /// Records one latency.
    pub fn record(&mut self, seconds: f64) {
        self.record_n(seconds, 1);
    }

    /// Records `n` equal latencies.
    pub fn record_n(&mut self, seconds: f64, n: u64) {
        let micros = round_to_u64(seconds * MICROS).max(1);
        self.histogram.saturating_record_n(micros, n);
        self.sum_ps += u128::from((seconds * PICOS + 0.5) as u64) * u128::from(n);
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

    /// Adds the samples of `other` (merging is exact: counts add bucket by bucket).
    pub fn merge(&mut self, other: &LatencyStats) {
        self.histogram
            .add(&other.histogram)
            .expect("histograms of equal bounds merge");
        self.sum_ps += other.sum_ps;
        self.max_s = self.max_s.max(other.max_s);
    }

    /// The cumulative distribution at the upper edge of each bucket with samples: pairs of
    /// (seconds, share of samples at or below).
    pub fn cdf(&self) -> Vec<(f64, f64)> {
        let total = self.count() as f64;
        let mut seen = 0u64;
        self.histogram
            .iter_recorded()
            .map(|bucket| {
                seen += bucket.count_since_last_iteration();
                (
                    bucket.value_iterated_to() as f64 / MICROS,
                    seen as f64 / total,
                )
            })
            .collect()
    }

    /// Mean and percentiles.
    pub fn summary(&self) -> LatencySummary {
        let count = self.count();
        let some = |v: f64| (count > 0).then_some(v);
        LatencySummary {
            count,
            mean_s: some(self.sum_ps as f64 / PICOS / count.max(1) as f64),
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
    fn written_stats_read_back_bucket_for_bucket() {
        let mut stats = LatencyStats::default();
        for i in 1..=5000u64 {
            // Microseconds to hours, and a saturated sample beyond the range.
            stats.record((i * i * i) as f64 * 1e-6);
        }
        stats.record(1e9);
        let json = serde_json::to_string(&stats).unwrap();
        let back: LatencyStats = serde_json::from_str(&json).unwrap();
        assert_eq!(back.histogram, stats.histogram);
        assert_eq!((back.sum_ps, back.max_s), (stats.sum_ps, stats.max_s));
        assert_eq!(back.summary(), stats.summary());
        assert_eq!(back.cdf(), stats.cdf());
        let (mut merged, mut merged_back) = (stats.clone(), stats.clone());
        merged.merge(&stats);
        merged_back.merge(&back);
        assert_eq!(merged.histogram, merged_back.histogram);
        assert_eq!(merged.summary(), merged_back.summary());
        let empty: LatencyStats =
            serde_json::from_str(&serde_json::to_string(&LatencyStats::default()).unwrap())
                .unwrap();
        assert_eq!(empty.count(), 0);
        let beyond = r#"{"sum_ps": 0, "max_s": 0, "buckets": [[200000000000, 1]]}"#;
        assert!(serde_json::from_str::<LatencyStats>(beyond).is_err());
    }

    #[test]
    fn merged_stats_equal_stats_of_all_samples() {
        let (mut a, mut b, mut all) = (
            LatencyStats::default(),
            LatencyStats::default(),
            LatencyStats::default(),
        );
        for ms in 1..=500 {
            a.record(ms as f64 / 1000.0);
            all.record(ms as f64 / 1000.0);
        }
        for ms in 501..=1000 {
            b.record(ms as f64 / 1000.0);
            all.record(ms as f64 / 1000.0);
        }
        a.merge(&b);
        let (merged, direct) = (a.summary(), all.summary());
        assert!((merged.mean_s.unwrap() - direct.mean_s.unwrap()).abs() < 1e-12);
        assert_eq!(
            (merged.count, merged.p50_s, merged.p99_s, merged.max_s),
            (direct.count, direct.p50_s, direct.p99_s, direct.max_s)
        );
        let cdf = a.cdf();
        assert_eq!(cdf.last().unwrap().1, 1.0);
        assert!(cdf.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1));
        let median = cdf.iter().find(|(_, share)| *share >= 0.5).unwrap().0;
        assert!((median - 0.5).abs() < 0.001, "{median}");
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
