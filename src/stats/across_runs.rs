//! Statistics of one figure across Monte Carlo runs: mean, spread, a confidence interval for
//! the mean, percentiles; and rank correlation between an input and an output.

use serde::Serialize;

/// How one figure varies across runs.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Spread {
    /// Runs.
    pub runs: usize,
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (0 for one run).
    pub sd: f64,
    /// Lower end of the 95% confidence interval of the mean (Student t).
    pub ci95_low: f64,
    /// Upper end of the 95% confidence interval of the mean.
    pub ci95_high: f64,
    /// 5th percentile.
    pub p5: f64,
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
}

/// Two-sided 95% critical values of Student's t for 1 to 30 degrees of freedom (standard
/// tables, e.g. NIST/SEMATECH e-Handbook of Statistical Methods, table 1.3.6.7.2).
const T_975: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

/// The 97.5% quantile of Student's t with `df` degrees of freedom: the table up to 30, then
/// the Cornish–Fisher expansion around z = 1.959964 (Abramowitz & Stegun 26.7.5), within
/// 0.001 of the exact value.
pub fn t_975(df: usize) -> f64 {
    if df == 0 {
        return f64::INFINITY;
    }
    if df <= T_975.len() {
        return T_975[df - 1];
    }
    let z: f64 = 1.959_964;
    let n = df as f64;
    z + (z.powi(3) + z) / (4.0 * n)
        + (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / (96.0 * n * n)
}

/// The `p`-th quantile (0–1) of sorted values, interpolating linearly between order
/// statistics (Hyndman & Fan's type 7, the default of R and NumPy).
pub fn quantile(sorted: &[f64], p: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let h = (n - 1) as f64 * p.clamp(0.0, 1.0);
            let low = h.floor() as usize;
            let high = (low + 1).min(n - 1);
            sorted[low] + (h - low as f64) * (sorted[high] - sorted[low])
        }
    }
}

/// The spread of `values` (one per run); every figure NaN when there are none.
pub fn spread(values: &[f64]) -> Spread {
    let runs = values.len();
    if runs == 0 {
        return Spread {
            runs,
            mean: f64::NAN,
            sd: f64::NAN,
            ci95_low: f64::NAN,
            ci95_high: f64::NAN,
            p5: f64::NAN,
            p50: f64::NAN,
            p95: f64::NAN,
            min: f64::NAN,
            max: f64::NAN,
        };
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mean = values.iter().sum::<f64>() / runs.max(1) as f64;
    let sd = if runs > 1 {
        (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (runs - 1) as f64).sqrt()
    } else {
        0.0
    };
    let half = if runs > 1 {
        t_975(runs - 1) * sd / (runs as f64).sqrt()
    } else {
        0.0
    };
    Spread {
        runs,
        mean,
        sd,
        ci95_low: mean - half,
        ci95_high: mean + half,
        p5: quantile(&sorted, 0.05),
        p50: quantile(&sorted, 0.50),
        p95: quantile(&sorted, 0.95),
        min: sorted.first().copied().unwrap_or(f64::NAN),
        max: sorted.last().copied().unwrap_or(f64::NAN),
    }
}

/// Ranks 1..n, ties sharing their average rank.
fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        let average = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            ranks[k] = average;
        }
        i = j + 1;
    }
    ranks
}

/// Spearman's rank correlation of `x` and `y`: Pearson's correlation of their ranks. `None`
/// when either does not vary.
pub fn rank_correlation(x: &[f64], y: &[f64]) -> Option<f64> {
    let (rx, ry) = (ranks(x), ranks(y));
    let n = rx.len() as f64;
    let (mx, my) = (rx.iter().sum::<f64>() / n, ry.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in rx.iter().zip(&ry) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx).powi(2);
        syy += (b - my).powi(2);
    }
    (sxx > 0.0 && syy > 0.0).then(|| sxy / (sxx * syy).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_of_a_hand_computed_sample() {
        // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, sample sd √(32/7) = 2.13809.
        let s = spread(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert_eq!(s.mean, 5.0);
        assert!((s.sd - 2.138_090).abs() < 1e-6);
        // Half-width t(7) · sd/√8 = 2.365 · 0.755929 = 1.787772.
        assert!((s.ci95_high - 6.787_772).abs() < 1e-6, "{s:?}");
        assert!((s.ci95_low - 3.212_228).abs() < 1e-6);
        // Type 7: p50 at h = 3.5 → 4.5; p5 at h = 0.35 → 2.7; p95 at h = 6.65 → 8.3.
        assert!((s.p50 - 4.5).abs() < 1e-12);
        assert!((s.p5 - 2.7).abs() < 1e-12);
        assert!((s.p95 - 8.3).abs() < 1e-12);
        assert_eq!((s.min, s.max), (2.0, 9.0));
    }

    #[test]
    fn no_runs_have_no_figures() {
        assert!(spread(&[]).mean.is_nan());
    }

    #[test]
    fn one_run_has_no_spread() {
        let s = spread(&[3.5]);
        assert_eq!(
            (s.sd, s.ci95_low, s.ci95_high, s.p5, s.p95),
            (0.0, 3.5, 3.5, 3.5, 3.5)
        );
    }

    #[test]
    fn t_quantiles_match_the_tables() {
        assert_eq!(t_975(1), 12.706);
        assert_eq!(t_975(30), 2.042);
        // Exact values: 40 → 2.0211, 60 → 2.0003, 120 → 1.9799.
        assert!((t_975(40) - 2.0211).abs() < 0.001);
        assert!((t_975(60) - 2.0003).abs() < 0.001);
        assert!((t_975(120) - 1.9799).abs() < 0.001);
        assert!((t_975(1_000_000) - 1.96).abs() < 0.001);
    }

    #[test]
    fn rank_correlation_sees_monotone_links_and_ties() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(
            rank_correlation(&x, &[1.0, 8.0, 27.0, 64.0, 125.0]),
            Some(1.0)
        );
        assert_eq!(rank_correlation(&x, &[5.0, 4.0, 3.0, 2.0, 1.0]), Some(-1.0));
        assert_eq!(rank_correlation(&x, &[2.0; 5]), None);
        // Ties share ranks: y ranks 1.5, 1.5, 3, 4, 5 against 1..5 → ρ = 0.9747.
        let rho = rank_correlation(&x, &[1.0, 1.0, 2.0, 3.0, 4.0]).unwrap();
        assert!((rho - 0.974_679).abs() < 1e-6, "{rho}");
    }
}
