//! The fits themselves, pure functions of samples: the lognormal by maximum likelihood, the
//! Gamma by its moments, and the Kolmogorov–Smirnov distance between a sample and a fitted
//! distribution.

use crate::stats::special::{gamma_p, normal_cdf, normal_quantile};

/// A lognormal distribution: `ln X` is normal with mean `mu` and standard deviation `sigma`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LogNormalFit {
    /// Mean of `ln X`.
    pub mu: f64,
    /// Standard deviation of `ln X`.
    pub sigma: f64,
}

impl LogNormalFit {
    /// The maximum-likelihood fit: the mean and the (population) standard deviation of the
    /// logarithms. `None` without values or with a value that is not positive.
    pub fn maximum_likelihood(values: &[f64]) -> Option<LogNormalFit> {
        if values.is_empty() || values.iter().any(|v| v.is_nan() || *v <= 0.0) {
            return None;
        }
        let logs: Vec<f64> = values.iter().map(|v| v.ln()).collect();
        let (mu, sd) = mean_and_sd(&logs);
        Some(LogNormalFit { mu, sigma: sd })
    }

    /// The median, `e^mu`.
    pub fn median(&self) -> f64 {
        self.mu.exp()
    }

    /// `P(X ≤ x)`.
    pub fn cdf(&self, x: f64) -> f64 {
        if x <= 0.0 {
            0.0
        } else if self.sigma == 0.0 {
            if x >= self.median() { 1.0 } else { 0.0 }
        } else {
            normal_cdf((x.ln() - self.mu) / self.sigma)
        }
    }

    /// The `p`-quantile, `e^(mu + sigma·Φ⁻¹(p))`.
    pub fn quantile(&self, p: f64) -> f64 {
        (self.mu + self.sigma * normal_quantile(p)).exp()
    }
}

/// A Gamma distribution by shape `k` and scale `θ`: mean `kθ`, coefficient of variation
/// `1/√k`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GammaFit {
    /// Shape `k`.
    pub shape: f64,
    /// Scale `θ`.
    pub scale: f64,
}

impl GammaFit {
    /// The fit by moments, which keeps the sample's mean and coefficient of variation `c`:
    /// `k = 1/c²`, `θ = mean·c²`. `None` unless the mean and the spread are positive.
    pub fn moments(values: &[f64]) -> Option<GammaFit> {
        let (mean, sd) = mean_and_sd(values);
        (mean > 0.0 && sd > 0.0).then(|| {
            let cv2 = (sd / mean).powi(2);
            GammaFit {
                shape: 1.0 / cv2,
                scale: mean * cv2,
            }
        })
    }

    /// The mean, `kθ`.
    pub fn mean(&self) -> f64 {
        self.shape * self.scale
    }

    /// The coefficient of variation, `1/√k`.
    pub fn cv(&self) -> f64 {
        1.0 / self.shape.sqrt()
    }

    /// `P(X ≤ x)`, the regularised incomplete gamma function `P(k, x/θ)`.
    pub fn cdf(&self, x: f64) -> f64 {
        gamma_p(self.shape, x / self.scale)
    }

    /// The `p`-quantile, by bisection of the distribution function to a relative 10⁻¹².
    pub fn quantile(&self, p: f64) -> f64 {
        let mut high = self.mean().max(f64::MIN_POSITIVE);
        while self.cdf(high) < p && high < f64::MAX / 4.0 {
            high *= 2.0;
        }
        let mut low = 0.0;
        for _ in 0..200 {
            let mid = 0.5 * (low + high);
            if self.cdf(mid) < p {
                low = mid;
            } else {
                high = mid;
            }
            if high - low <= high * 1e-12 {
                break;
            }
        }
        0.5 * (low + high)
    }
}

/// Mean and population standard deviation; NaN without values.
pub fn mean_and_sd(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    (mean, variance.sqrt())
}

/// The Kolmogorov–Smirnov statistic: the largest distance between the empirical distribution
/// function of `sorted` values and `cdf`, `max_i max(F(x_i) − i/n, (i+1)/n − F(x_i))` (tied
/// values give the steps of the empirical function, as they should).
pub fn ks_statistic(sorted: &[f64], cdf: impl Fn(f64) -> f64) -> f64 {
    let n = sorted.len() as f64;
    sorted
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let f = cdf(*x);
            (f - i as f64 / n).max((i + 1) as f64 / n - f)
        })
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lognormal_maximum_likelihood_takes_the_logs_moments() {
        // ln values: 0, ln e² = 2 → mean 1, population sd 1.
        let e2 = 2f64.exp();
        let fit = LogNormalFit::maximum_likelihood(&[1.0, e2]).unwrap();
        assert!((fit.mu - 1.0).abs() < 1e-12 && (fit.sigma - 1.0).abs() < 1e-12);
        assert!((fit.median() - 1f64.exp()).abs() < 1e-12);
        // The 84.13% point is one sigma above the median.
        assert!((fit.quantile(normal_cdf(1.0)) - e2).abs() < 1e-6);
        assert!((fit.cdf(e2) - 0.841_344_75).abs() < 1e-6);
        assert_eq!(LogNormalFit::maximum_likelihood(&[0.0, 3.0]), None);
    }

    #[test]
    fn gamma_moments_keep_the_mean_and_cv() {
        // 1, 3: mean 2, sd 1, CV ½ → shape 4, scale ½.
        let fit = GammaFit::moments(&[1.0, 3.0]).unwrap();
        assert!((fit.shape - 4.0).abs() < 1e-12 && (fit.scale - 0.5).abs() < 1e-12);
        assert!((fit.mean() - 2.0).abs() < 1e-12 && (fit.cv() - 0.5).abs() < 1e-12);
        // Shape 1 is the exponential: median θ ln 2.
        let exponential = GammaFit {
            shape: 1.0,
            scale: 3.0,
        };
        assert!((exponential.quantile(0.5) - 3.0 * 2f64.ln()).abs() < 1e-9);
        assert!((exponential.cdf(3.0) - (1.0 - (-1f64).exp())).abs() < 1e-12);
        assert_eq!(GammaFit::moments(&[2.0, 2.0]), None);
    }

    #[test]
    fn ks_of_a_sample_against_a_uniform() {
        // Sample 0.1, 0.4, 0.7 against U(0, 1): steps at 1/3, 2/3, 1.
        // Distances: at 0.1: 1/3 − 0.1 = 0.2333; at 0.4: 2/3 − 0.4 = 0.2667, 0.4 − 1/3;
        // at 0.7: 1 − 0.7 = 0.3, 0.7 − 2/3. Largest: 0.3.
        let d = ks_statistic(&[0.1, 0.4, 0.7], |x| x.clamp(0.0, 1.0));
        assert!((d - 0.3).abs() < 1e-12);
        // Ties: 0.5 twice against U(0, 1) jumps from 0 to 1 at 0.5: distance 0.5.
        assert!((ks_statistic(&[0.5, 0.5], |x| x) - 0.5).abs() < 1e-12);
    }
}
