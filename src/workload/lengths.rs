//! Token-length distributions for prompts and outputs, with caps.

use crate::stats::special::{normal_cdf, normal_pdf, normal_tail};
use rand::Rng;
use rand_distr::{Distribution, LogNormal, Normal};
use std::sync::Arc;

/// The shape of a length distribution before rounding and capping.
#[derive(Clone, Debug)]
pub enum LengthShape {
    /// Always this many tokens.
    Fixed(u32),
    /// Uniform over the whole numbers `low..=high`.
    Uniform {
        /// Smallest value.
        low: u32,
        /// Largest value.
        high: u32,
    },
    /// Lognormal: `median·exp(sigma·Z)`, rounded.
    LogNormal(LogNormal<f64>),
    /// Normal, rounded (and capped below at `min`).
    Normal(Normal<f64>),
    /// One of these observed lengths, each equally likely (shared, as a trace's lengths
    /// are, so that copying the distribution copies no lengths).
    Empirical(Arc<[u32]>),
    /// A piecewise-linear quantile function: the length at probability `u` interpolated
    /// between the knots around it, rounded.
    Quantiles(QuantileKnots),
}

/// Knots `(p, length)` of a quantile function: probabilities rising from 0 to 1, lengths
/// never falling.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantileKnots(Vec<(f64, f64)>);

impl QuantileKnots {
    /// The knots, or why they cannot make a quantile function: at least two, the first at
    /// probability 0 and the last at 1, probabilities rising, lengths never falling.
    pub fn new(mut knots: Vec<(f64, f64)>) -> Result<QuantileKnots, String> {
        knots.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (Some(first), Some(last)) = (knots.first(), knots.last()) else {
            return Err("needs at least p0 and p100".into());
        };
        if first.0 != 0.0 || last.0 != 1.0 {
            return Err("needs p0 (the shortest length) and p100 (the longest)".into());
        }
        for pair in knots.windows(2) {
            let ((p0, v0), (p1, v1)) = (pair[0], pair[1]);
            if p0 == p1 {
                return Err(format!("p{} is given twice", percent(p0)));
            }
            if v1 < v0 {
                return Err(format!(
                    "lengths must not fall as p rises: p{} is {v0} but p{} is {v1}",
                    percent(p0),
                    percent(p1)
                ));
            }
        }
        Ok(QuantileKnots(knots))
    }

    /// The knots, by rising probability.
    pub fn knots(&self) -> &[(f64, f64)] {
        &self.0
    }

    /// The length at probability `u` in [0, 1], interpolated linearly between knots.
    pub fn at(&self, u: f64) -> f64 {
        let k = &self.0;
        let i = k.partition_point(|(p, _)| *p <= u).clamp(1, k.len() - 1);
        let ((p0, v0), (p1, v1)) = (k[i - 1], k[i]);
        v0 + (v1 - v0) * ((u - p0) / (p1 - p0)).clamp(0.0, 1.0)
    }

    /// `P(X ≤ x)` for `X` at a uniform probability (before rounding): the inverse of
    /// [`at`](Self::at).
    pub fn cdf(&self, x: f64) -> f64 {
        let k = &self.0;
        let below = k.partition_point(|(_, v)| *v <= x);
        if below == 0 {
            return 0.0;
        }
        if below == k.len() {
            return 1.0;
        }
        let ((p0, v0), (p1, v1)) = (k[below - 1], k[below]);
        p0 + (p1 - p0) * (x - v0) / (v1 - v0)
    }
}

/// A probability as a percentile label: 0.999 → `99.9`.
fn percent(p: f64) -> String {
    short(p * 100.0)
}

/// A length distribution with caps: samples are rounded and clamped into `[min, max]`.
#[derive(Clone, Debug)]
pub struct TokenLengths {
    shape: LengthShape,
    min: u32,
    max: u32,
}

impl TokenLengths {
    /// Lengths of `shape` clamped into `[min, max]` (`min ≥ 1`).
    pub fn new(shape: LengthShape, min: u32, max: u32) -> TokenLengths {
        let min = min.max(1);
        TokenLengths {
            shape,
            min,
            max: max.max(min),
        }
    }

    /// Draws one length.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> u32 {
        let raw = match &self.shape {
            LengthShape::Fixed(n) => *n as f64,
            LengthShape::Uniform { low, high } => {
                rand::RngExt::random_range(rng, *low..=*high) as f64
            }
            LengthShape::LogNormal(d) => d.sample(rng).round(),
            LengthShape::Normal(d) => d.sample(rng).round(),
            LengthShape::Empirical(values) => {
                values[rand::RngExt::random_range(rng, 0..values.len())] as f64
            }
            LengthShape::Quantiles(knots) => knots.at(rand::RngExt::random::<f64>(rng)).round(),
        };
        raw.clamp(self.min as f64, self.max as f64) as u32
    }

    /// The mean length, `E[clamp(X, min, max)]`: exact for the discrete shapes, in closed
    /// form for the continuous ones (truncated-moment formulas of the normal and lognormal,
    /// e.g. Johnson, Kotz & Balakrishnan, *Continuous Univariate Distributions*, ch. 13 and
    /// 14). Rounding a continuous draw to whole tokens is left out: it moves the mean of a
    /// smooth distribution by a small fraction of a token.
    pub fn mean(&self) -> f64 {
        self.moment(1)
    }

    /// The mean squared length, `E[clamp(X, min, max)²]`, as [`mean`](Self::mean) computes
    /// the mean: what sums of `prompt × output` or `output²` over requests need.
    pub fn mean_square(&self) -> f64 {
        self.moment(2)
    }

    /// `E[clamp(X, min, max)ⁿ]` for `n` = 1 or 2.
    fn moment(&self, n: i32) -> f64 {
        let (a, b) = (f64::from(self.min), f64::from(self.max));
        let power = |x: f64| x.clamp(a, b).powi(n);
        match &self.shape {
            LengthShape::Fixed(v) => power(f64::from(*v)),
            LengthShape::Empirical(values) => {
                values.iter().map(|v| power(f64::from(*v))).sum::<f64>() / values.len() as f64
            }
            LengthShape::Uniform { low, high } => {
                let (low, high) = (f64::from(*low), f64::from(*high));
                // Whole numbers below `a` count as `a`, above `b` as `b`, the rest as they are.
                let below = (high.min(a - 1.0) - low + 1.0).max(0.0);
                let above = (high - low.max(b + 1.0) + 1.0).max(0.0);
                let (from, to) = (low.max(a), high.min(b));
                let inside = if from <= to {
                    power_sum(to, n) - power_sum(from - 1.0, n)
                } else {
                    0.0
                };
                (below * a.powi(n) + above * b.powi(n) + inside) / (high - low + 1.0)
            }
            LengthShape::LogNormal(d) => {
                // `from_zscore(z) = exp(μ + σz)` gives back the parameters.
                let mu = d.from_zscore(0.0).ln();
                let sigma = d.from_zscore(1.0).ln() - mu;
                if sigma <= 0.0 {
                    return power(mu.exp());
                }
                let n = f64::from(n);
                let z = |k: f64| (k.ln() - mu) / sigma;
                // E[Xⁿ; X ≤ k] = exp(nμ + n²σ²/2) · Φ(z(k) − nσ).
                let scale = (n * mu + n * n * sigma * sigma / 2.0).exp();
                let inside = scale * (normal_cdf(z(b) - n * sigma) - normal_cdf(z(a) - n * sigma));
                a.powf(n) * normal_cdf(z(a)) + b.powf(n) * normal_tail(z(b)) + inside
            }
            LengthShape::Quantiles(knots) => knots
                .knots()
                .windows(2)
                .map(|pair| {
                    let ((p0, v0), (p1, v1)) = (pair[0], pair[1]);
                    // u is uniform over [p0, p1] and the length linear in u: the mean of
                    // clamp(x)ⁿ over x uniform in [v0, v1].
                    let share = p1 - p0;
                    if v1 == v0 {
                        return share * power(v0);
                    }
                    let integral = |x: f64| {
                        let n = f64::from(n);
                        if x <= a {
                            a.powf(n) * x
                        } else if x <= b {
                            a.powf(n + 1.0) + (x.powf(n + 1.0) - a.powf(n + 1.0)) / (n + 1.0)
                        } else {
                            a.powf(n + 1.0)
                                + (b.powf(n + 1.0) - a.powf(n + 1.0)) / (n + 1.0)
                                + b.powf(n) * (x - b)
                        }
                    };
                    share * (integral(v1) - integral(v0)) / (v1 - v0)
                })
                .sum(),
            LengthShape::Normal(d) => {
                let (mu, sd) = (d.mean(), d.std_dev());
                if sd <= 0.0 {
                    return power(mu);
                }
                let (alpha, beta) = ((a - mu) / sd, (b - mu) / sd);
                // Partial moments of the standard normal between alpha and beta.
                let m0 = normal_cdf(beta) - normal_cdf(alpha);
                let m1 = normal_pdf(alpha) - normal_pdf(beta);
                let m2 = m0 + alpha * normal_pdf(alpha) - beta * normal_pdf(beta);
                let inside = if n == 1 {
                    mu * m0 + sd * m1
                } else {
                    mu * mu * m0 + 2.0 * mu * sd * m1 + sd * sd * m2
                };
                a.powi(n) * normal_cdf(alpha) + b.powi(n) * normal_tail(beta) + inside
            }
        }
    }
}

/// `Σ kⁿ` for `k` = 1 to `m` (`m ≥ 0`), `n` = 1 or 2.
fn power_sum(m: f64, n: i32) -> f64 {
    if n == 1 {
        m * (m + 1.0) / 2.0
    } else {
        m * (m + 1.0) * (2.0 * m + 1.0) / 6.0
    }
}

impl std::fmt::Display for TokenLengths {
    /// The distribution as a scenario writes it: `lognormal(median 600, σ 1), max 8000`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.shape {
            LengthShape::Fixed(v) => write!(f, "{v}")?,
            LengthShape::Uniform { low, high } => write!(f, "uniform({low}, {high})")?,
            LengthShape::LogNormal(d) => {
                let median = d.from_zscore(0.0);
                let sigma = d.from_zscore(1.0).ln() - median.ln();
                write!(f, "lognormal(median {}, σ {})", short(median), short(sigma))?;
            }
            LengthShape::Normal(d) => {
                write!(f, "normal({}, sd {})", short(d.mean()), short(d.std_dev()))?;
            }
            LengthShape::Empirical(values) => write!(f, "empirical({} lengths)", values.len())?,
            LengthShape::Quantiles(knots) => {
                let knots: Vec<String> = knots
                    .knots()
                    .iter()
                    .map(|(p, v)| format!("p{} {}", percent(*p), short(*v)))
                    .collect();
                write!(f, "quantiles({})", knots.join(", "))?;
            }
        }
        if self.min > 1 {
            write!(f, ", min {}", self.min)?;
        }
        if self.max < u32::MAX {
            write!(f, ", max {}", self.max)?;
        }
        Ok(())
    }
}

/// A parameter to six significant digits without trailing zeros: `600`, `0.8`.
fn short(value: f64) -> String {
    let text = format!("{:.6}", (value * 1e6).round() / 1e6);
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::{Stream, stream};

    fn mean_of(lengths: &TokenLengths, n: usize) -> f64 {
        let mut rng = stream(7, 0, Stream::PromptLengths);
        (0..n).map(|_| lengths.sample(&mut rng) as f64).sum::<f64>() / n as f64
    }

    #[test]
    fn fixed_and_capped_lengths() {
        let fixed = TokenLengths::new(LengthShape::Fixed(100), 1, u32::MAX);
        assert_eq!(mean_of(&fixed, 10), 100.0);
        let capped = TokenLengths::new(LengthShape::Fixed(100), 1, 64);
        assert_eq!(mean_of(&capped, 10), 64.0);
        let floored = TokenLengths::new(LengthShape::Fixed(0), 0, 10);
        assert_eq!(mean_of(&floored, 10), 1.0);
    }

    fn mean_square_of(lengths: &TokenLengths, n: usize) -> f64 {
        let mut rng = stream(7, 0, Stream::PromptLengths);
        (0..n)
            .map(|_| (lengths.sample(&mut rng) as f64).powi(2))
            .sum::<f64>()
            / n as f64
    }

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a / b - 1.0).abs() < tolerance
    }

    #[test]
    fn discrete_moments_are_exact_and_respect_the_caps() {
        let capped = TokenLengths::new(LengthShape::Fixed(100), 1, 64);
        assert_eq!((capped.mean(), capped.mean_square()), (64.0, 4096.0));
        // 1..=10 clamped into [3, 8]: 3, 3, 3, 4, 5, 6, 7, 8, 8, 8.
        let uniform = TokenLengths::new(LengthShape::Uniform { low: 1, high: 10 }, 3, 8);
        assert_eq!(uniform.mean(), 55.0 / 10.0);
        assert_eq!(uniform.mean_square(), 345.0 / 10.0);
        let wide = TokenLengths::new(LengthShape::Uniform { low: 10, high: 30 }, 1, 1000);
        assert_eq!(wide.mean(), 20.0);
        let empirical = TokenLengths::new(LengthShape::Empirical(vec![1, 2, 3, 10].into()), 1, 5);
        assert_eq!(empirical.mean(), 11.0 / 4.0);
        assert_eq!(empirical.mean_square(), 39.0 / 4.0);
    }

    #[test]
    fn lognormal_moments_follow_the_closed_form() {
        let free = TokenLengths::new(
            LengthShape::LogNormal(LogNormal::new(500f64.ln(), 0.5).unwrap()),
            1,
            u32::MAX,
        );
        // median·exp(σ²/2) and median²·exp(2σ²).
        assert!(close(free.mean(), 500.0 * 0.125f64.exp(), 1e-6));
        assert!(close(free.mean_square(), 250_000.0 * 0.5f64.exp(), 1e-6));
        // The quickstart's prompts: capped at 8000, against 400,000 draws.
        let capped = TokenLengths::new(
            LengthShape::LogNormal(LogNormal::new(600f64.ln(), 1.0).unwrap()),
            1,
            8000,
        );
        assert!(capped.mean() < 600.0 * 0.5f64.exp());
        assert!(close(capped.mean(), mean_of(&capped, 400_000), 0.01));
        assert!(close(
            capped.mean_square(),
            mean_square_of(&capped, 400_000),
            0.02
        ));
    }

    #[test]
    fn normal_moments_count_the_clamped_tails() {
        // normal(100, sd 80) in [20, 150]: 16% of draws are lifted to 20, 27% cut to 150.
        let clamped = TokenLengths::new(
            LengthShape::Normal(Normal::new(100.0, 80.0).unwrap()),
            20,
            150,
        );
        assert!(close(clamped.mean(), mean_of(&clamped, 400_000), 0.01));
        assert!(close(
            clamped.mean_square(),
            mean_square_of(&clamped, 400_000),
            0.01
        ));
        let free = TokenLengths::new(
            LengthShape::Normal(Normal::new(1000.0, 100.0).unwrap()),
            1,
            u32::MAX,
        );
        assert!(close(free.mean(), 1000.0, 1e-6));
        assert!(close(
            free.mean_square(),
            1000.0 * 1000.0 + 100.0 * 100.0,
            1e-6
        ));
    }

    #[test]
    fn lengths_print_as_written() {
        let lognormal = TokenLengths::new(
            LengthShape::LogNormal(LogNormal::new(600f64.ln(), 0.8).unwrap()),
            1,
            2000,
        );
        assert_eq!(
            lognormal.to_string(),
            "lognormal(median 600, σ 0.8), max 2000"
        );
        let fixed = TokenLengths::new(LengthShape::Fixed(200), 1, u32::MAX);
        assert_eq!(fixed.to_string(), "200");
    }

    #[test]
    fn quantile_knots_interpolate_and_their_moments_are_exact() {
        let knots = |k: &[(f64, f64)]| QuantileKnots::new(k.to_vec());
        // Uniform on [1, 11]: mean 6, mean square (11³ − 1)/30.
        let uniform = knots(&[(0.0, 1.0), (1.0, 11.0)]).unwrap();
        assert_eq!(uniform.at(0.25), 3.5);
        let free = TokenLengths::new(LengthShape::Quantiles(uniform.clone()), 1, u32::MAX);
        assert!((free.mean() - 6.0).abs() < 1e-12);
        assert!((free.mean_square() - 1330.0 / 30.0).abs() < 1e-9);
        // Capped at 6: half the draws are below (mean 3.5), half held at 6.
        let capped = TokenLengths::new(LengthShape::Quantiles(uniform), 1, 6);
        assert!((capped.mean() - 4.75).abs() < 1e-12);
        // Floored at 3: a fifth lifted to 3, the rest as drawn (mean 7).
        let floored = TokenLengths::new(
            LengthShape::Quantiles(knots(&[(0.0, 1.0), (1.0, 11.0)]).unwrap()),
            3,
            u32::MAX,
        );
        assert!((floored.mean() - (0.2 * 3.0 + 0.8 * 7.0)).abs() < 1e-12);
        // A step: p0–p50 all 4 tokens, then 4 to 8.
        let step = knots(&[(0.0, 4.0), (0.5, 4.0), (1.0, 8.0)]).unwrap();
        assert_eq!(step.at(0.3), 4.0);
        assert_eq!(step.at(0.75), 6.0);
        assert_eq!(step.cdf(3.9), 0.0);
        assert_eq!(step.cdf(4.0), 0.5);
        assert_eq!(step.cdf(6.0), 0.75);
        assert_eq!(step.cdf(8.0), 1.0);
        let lengths = TokenLengths::new(LengthShape::Quantiles(step), 1, u32::MAX);
        assert!((lengths.mean() - 5.0).abs() < 1e-12);
        assert!((mean_of(&lengths, 200_000) - 5.0).abs() < 0.02);
        assert_eq!(lengths.to_string(), "quantiles(p0 4, p50 4, p100 8)");
    }

    #[test]
    fn quantile_knots_must_span_zero_to_one_and_never_fall() {
        let err = |k: &[(f64, f64)]| QuantileKnots::new(k.to_vec()).unwrap_err();
        assert!(err(&[(0.0, 1.0), (0.9, 5.0)]).contains("p100"));
        assert!(err(&[(0.0, 9.0), (0.5, 5.0), (1.0, 10.0)]).contains("p0 is 9 but p50 is 5"));
        assert!(err(&[]).contains("at least"));
    }

    #[test]
    fn sample_means_match_the_distributions() {
        let n = 200_000;
        let uniform = TokenLengths::new(LengthShape::Uniform { low: 10, high: 30 }, 1, 1000);
        assert!((mean_of(&uniform, n) - 20.0).abs() < 0.1);
        // Lognormal mean: median·exp(σ²/2) = 500·e^0.125 = 566.6.
        let lognormal = TokenLengths::new(
            LengthShape::LogNormal(LogNormal::new(500f64.ln(), 0.5).unwrap()),
            1,
            u32::MAX,
        );
        assert!((mean_of(&lognormal, n) / 566.57 - 1.0).abs() < 0.01);
        let normal = TokenLengths::new(
            LengthShape::Normal(Normal::new(1000.0, 300.0).unwrap()),
            1,
            u32::MAX,
        );
        assert!((mean_of(&normal, n) / 1000.0 - 1.0).abs() < 0.01);
        let empirical = TokenLengths::new(LengthShape::Empirical(vec![1, 2, 3, 10].into()), 1, 100);
        assert!((mean_of(&empirical, n) - 4.0).abs() < 0.05);
    }
}
