//! Arrivals whose rate follows the hour of the day: Poisson, or burstier or more regular.
//!
//! The rate is piecewise constant by hour: `λ(t) = λ̄ · w[hour(t)]` with 24 weights of mean 1,
//! repeating every day from midnight. Gaps are drawn exactly by inverting the integrated rate:
//! a unit-mean gap `G` is spent across hours until `∫λ dt = G` (Çinlar's method), so each
//! arrival costs one random draw however the rate varies. `G` is a unit exponential for a
//! Poisson process; for a burstiness of coefficient of variation `c`, it is Gamma with shape
//! `1/c²` and scale `c²` (mean 1, CV `c`): a renewal process in the integrated rate's time,
//! whose gaps within an hour of constant rate have CV `c` and whose hourly counts follow the
//! profile as the Poisson process's do.

use rand::Rng;
use rand_distr::{Distribution, Exp1, Gamma};

/// Seconds in an hour and a day.
const HOUR: f64 = 3600.0;

/// Relative arrival rate for each hour from midnight, scaled to mean 1.
#[derive(Clone, Debug, PartialEq)]
pub struct DailyProfile {
    weights: [f64; 24],
}

impl DailyProfile {
    /// The same rate all day.
    pub fn flat() -> DailyProfile {
        DailyProfile { weights: [1.0; 24] }
    }

    /// From 24 non-negative weights, not all zero; rescaled to mean 1.
    pub fn from_hourly(weights: [f64; 24]) -> DailyProfile {
        let mean = weights.iter().sum::<f64>() / 24.0;
        DailyProfile {
            weights: weights.map(|w| w / mean),
        }
    }

    /// A cosine over the day with its maximum in hour `peak_hour` and the given ratio of the
    /// busiest to the quietest hour: `w_k ∝ 1 + a·cos(2π(k − peak)/24)`, `a = (r−1)/(r+1)`.
    pub fn cosine(peak_to_trough: f64, peak_hour: f64) -> DailyProfile {
        let a = (peak_to_trough - 1.0) / (peak_to_trough + 1.0);
        let mut weights = [0.0; 24];
        for (hour, w) in weights.iter_mut().enumerate() {
            let phase = 2.0 * std::f64::consts::PI * (hour as f64 - peak_hour) / 24.0;
            *w = 1.0 + a * phase.cos();
        }
        DailyProfile::from_hourly(weights)
    }

    /// The weights, mean 1.
    pub fn weights(&self) -> &[f64; 24] {
        &self.weights
    }

    /// The weight of the hour containing time `t` (seconds from midnight of day 0).
    pub fn weight_at(&self, t: f64) -> f64 {
        self.weights[((t / HOUR).floor() as u64 % 24) as usize]
    }
}

/// The largest coefficient of variation of gaps: beyond it, a Gamma gap is all but always
/// zero or enormous.
pub const MAX_GAP_CV: f64 = 100.0;

/// A renewal process over the daily profile: Poisson, or with Gamma gaps.
#[derive(Clone, Debug)]
pub struct ArrivalProcess {
    mean_rate: f64,
    profile: DailyProfile,
    /// Unit-mean Gamma gaps; exponential (Poisson) when `None`.
    gaps: Option<Gamma<f64>>,
    now: f64,
}

impl ArrivalProcess {
    /// Arrivals at `mean_rate` per second on average over a day, shaped by `profile`, with
    /// gaps of coefficient of variation `gap_cv` (1: Poisson; in (0, [`MAX_GAP_CV`]]).
    pub fn new(mean_rate: f64, profile: DailyProfile, gap_cv: f64) -> ArrivalProcess {
        let gaps = (gap_cv != 1.0).then(|| {
            let variance = gap_cv * gap_cv;
            Gamma::new(1.0 / variance, variance).expect("a CV in (0, MAX_GAP_CV]")
        });
        ArrivalProcess {
            mean_rate,
            profile,
            gaps,
            now: 0.0,
        }
    }

    /// The time of the next arrival in seconds, or `None` when the rate is zero.
    pub fn next<R: Rng + ?Sized>(&mut self, rng: &mut R) -> Option<f64> {
        if self.mean_rate <= 0.0 {
            return None;
        }
        let mut need: f64 = match &self.gaps {
            Some(gamma) => gamma.sample(rng),
            None => Exp1.sample(rng),
        };
        loop {
            let hour_end = ((self.now / HOUR).floor() + 1.0) * HOUR;
            let rate = self.mean_rate * self.profile.weight_at(self.now);
            let available = rate * (hour_end - self.now);
            if rate > 0.0 && need <= available {
                self.now += need / rate;
                return Some(self.now);
            }
            need -= available;
            self.now = hour_end;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::{Stream, stream};

    #[test]
    fn cosine_profile_has_the_requested_ratio_and_peak() {
        let p = DailyProfile::cosine(3.0, 14.0);
        let w = p.weights();
        let (max, min) = (
            w.iter().cloned().fold(0.0, f64::max),
            w.iter().cloned().fold(9.0, f64::min),
        );
        assert!((max / min - 3.0).abs() < 1e-12);
        assert_eq!(w[14], max);
        assert_eq!(w[2], min);
        assert!((w.iter().sum::<f64>() / 24.0 - 1.0).abs() < 1e-12);
    }

    /// Arrivals of `process` in each hour of one day.
    fn hourly_counts(mut process: ArrivalProcess) -> [u64; 24] {
        let mut rng = stream(3, 0, Stream::Arrivals);
        let mut counts = [0u64; 24];
        while let Some(t) = process.next(&mut rng) {
            if t >= 86_400.0 {
                break;
            }
            counts[(t / HOUR) as usize] += 1;
        }
        counts
    }

    #[test]
    fn hourly_counts_follow_the_profile() {
        let mut weights = [1.0; 24];
        weights[3] = 0.0;
        weights[12] = 4.0;
        let profile = DailyProfile::from_hourly(weights);
        let counts = hourly_counts(ArrivalProcess::new(10.0, profile.clone(), 1.0));
        assert_eq!(counts[3], 0);
        for hour in [0, 12, 20] {
            let expected = 10.0 * profile.weights()[hour] * HOUR;
            // Poisson: sd = √expected; allow 5 sd.
            assert!(
                (counts[hour] as f64 - expected).abs() < 5.0 * expected.sqrt(),
                "hour {hour}: {} vs {expected}",
                counts[hour]
            );
        }
    }

    #[test]
    fn gaps_of_a_flat_process_are_exponential() {
        let mut process = ArrivalProcess::new(2.0, DailyProfile::flat(), 1.0);
        let mut rng = stream(5, 0, Stream::Arrivals);
        let n = 100_000;
        let (mut last, mut sum, mut sum_sq) = (0.0, 0.0, 0.0);
        for _ in 0..n {
            let t = process.next(&mut rng).unwrap();
            let gap = t - last;
            last = t;
            sum += gap;
            sum_sq += gap * gap;
        }
        let mean = sum / n as f64;
        let cv = (sum_sq / n as f64 - mean * mean).sqrt() / mean;
        assert!((mean - 0.5).abs() < 0.01, "{mean}");
        assert!((cv - 1.0).abs() < 0.02, "{cv}");
    }

    #[test]
    fn gamma_gaps_have_the_cv_asked_for_and_the_same_hourly_counts() {
        for cv in [0.5, 3.0] {
            let mut process = ArrivalProcess::new(2.0, DailyProfile::flat(), cv);
            let mut rng = stream(5, 0, Stream::Arrivals);
            let n = 200_000;
            let gaps: Vec<f64> = {
                let mut last = 0.0;
                (0..n)
                    .map(|_| {
                        let t = process.next(&mut rng).unwrap();
                        let gap = t - last;
                        last = t;
                        gap
                    })
                    .collect()
            };
            let mean = gaps.iter().sum::<f64>() / n as f64;
            let sd = (gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
            assert!((mean / 0.5 - 1.0).abs() < 0.02, "cv {cv}: mean {mean}");
            assert!(
                (sd / mean / cv - 1.0).abs() < 0.03,
                "cv {cv}: {}",
                sd / mean
            );
        }
        // A burstier day still carries each hour's share of the traffic.
        let mut weights = [1.0; 24];
        weights[12] = 4.0;
        let profile = DailyProfile::from_hourly(weights);
        let counts = hourly_counts(ArrivalProcess::new(10.0, profile.clone(), 2.0));
        let expected = 10.0 * profile.weights()[12] * HOUR;
        // A renewal count's sd is about cv·√expected.
        assert!((counts[12] as f64 - expected).abs() < 5.0 * 2.0 * expected.sqrt());
    }

    #[test]
    fn zero_rate_never_arrives() {
        let mut process = ArrivalProcess::new(0.0, DailyProfile::flat(), 1.0);
        let mut rng = stream(5, 0, Stream::Arrivals);
        assert_eq!(process.next(&mut rng), None);
    }
}
