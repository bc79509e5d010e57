//! `fleetsim fit`: a trace turned into a workload section that can be scaled and grown — its
//! mean rate, its daily profile when it covers a day, the burstiness of its gaps (a Gamma
//! fit), its prompt and output lengths (a lognormal fit and the trace's own quantiles) —
//! with how well each fits ([`distributions`] holds the maths, [`yaml`] writes it out).
//!
//! - **Rate**: `(n − 1) ÷ span`, one over the mean gap.
//! - **Daily profile**: fitted only when the trace covers at least a day; each hour of the
//!   day's weight is its requests ÷ the time the trace spends in that hour, scaled to mean 1.
//!   The hour comes from the timestamps' clock (Azure) or counts from the trace's start.
//! - **Burstiness**: the coefficient of variation of the gaps, measured in the profile's
//!   time (each gap stretched by its hour's weight, as the simulator draws them) when a
//!   profile is fitted; the Gamma distribution with that mean and CV (a fit by moments).
//! - **Lengths**: the lognormal by maximum likelihood (capped at the longest length seen),
//!   and a quantile function through the trace's percentiles ([`KNOTS`]). Either is written;
//!   by default the lognormal when its p50, p90 and p99 are all within 5% of the trace's,
//!   else the quantiles, which reproduce them.
//! - **Goodness of fit**: the Kolmogorov–Smirnov distance of each fit from the trace (for
//!   lengths, of the rounded lengths the simulator draws), and trace against fitted p50, p90
//!   and p99.

pub mod distributions;
pub mod yaml;

use crate::error::InputError;
use crate::stats::quantile;
use crate::workload::arrivals::MAX_GAP_CV;
use crate::workload::trace::{RowCounts, TraceFormat};
use crate::workload::{QuantileKnots, Trace};
use distributions::{GammaFit, LogNormalFit, ks_statistic, mean_and_sd};

/// The percentiles compared between the trace and each fit.
pub const COMPARED: [f64; 3] = [0.5, 0.9, 0.99];

/// The probabilities of a fitted quantile function's knots: every 5%, and closer in the
/// tails.
pub const KNOTS: [f64; 27] = [
    0.0, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7,
    0.75, 0.8, 0.85, 0.9, 0.95, 0.975, 0.99, 0.995, 0.999, 1.0,
];

/// The largest relative error of the lognormal's p50, p90 and p99 for it to be written
/// instead of the quantiles.
pub const LOGNORMAL_TOLERANCE: f64 = 0.05;

/// Which length distribution to write.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LengthModel {
    /// The lognormal when it is within [`LOGNORMAL_TOLERANCE`] of the trace's p50, p90 and
    /// p99, else the quantiles.
    #[default]
    Auto,
    /// The lognormal.
    LogNormal,
    /// The quantile function.
    Quantiles,
}

/// The fit of a trace.
#[derive(Clone, Debug)]
pub struct TraceFit {
    /// The trace's file name.
    pub name: String,
    /// Its format.
    pub format: TraceFormat,
    /// How its rows were used.
    pub rows: RowCounts,
    /// Requests.
    pub requests: usize,
    /// Seconds from the first request to the last.
    pub span_s: f64,
    /// Mean arrival rate, per second: one over the mean gap.
    pub mean_rate: f64,
    /// Hourly weights from midnight (mean 1), when the trace covers a day.
    pub hourly: Option<[f64; 24]>,
    /// Whether the hours are those of the trace's clock (dated timestamps), not counted from
    /// its first request.
    pub dated: bool,
    /// The gaps between arrivals.
    pub gaps: GapFit,
    /// Prompt lengths.
    pub prompt: LengthFit,
    /// Output lengths.
    pub output: LengthFit,
}

/// The fit of the gaps between arrivals.
#[derive(Clone, Debug)]
pub struct GapFit {
    /// Gaps.
    pub n: usize,
    /// Mean gap, seconds (in the profile's time when a profile is fitted).
    pub mean_s: f64,
    /// Coefficient of variation.
    pub cv: f64,
    /// The Gamma with the gaps' mean and CV; `None` when every gap is the same.
    pub gamma: Option<GammaFit>,
    /// Kolmogorov–Smirnov distance of the gaps from the Gamma.
    pub ks_gamma: Option<f64>,
    /// Kolmogorov–Smirnov distance from the exponential of the same mean (Poisson arrivals).
    pub ks_exponential: f64,
    /// The trace's p50, p90, p99 gaps, seconds.
    pub trace_percentiles: [f64; 3],
    /// The Gamma's.
    pub gamma_percentiles: Option<[f64; 3]>,
}

/// The fit of a length column.
#[derive(Clone, Debug)]
pub struct LengthFit {
    /// Lengths.
    pub n: usize,
    /// Mean length.
    pub mean: f64,
    /// Longest length.
    pub max: f64,
    /// The lognormal fit.
    pub lognormal: LogNormalFit,
    /// Its Kolmogorov–Smirnov distance from the trace.
    pub ks_lognormal: f64,
    /// Its p50, p90, p99.
    pub lognormal_percentiles: [f64; 3],
    /// The quantile function through the trace's percentiles.
    pub quantiles: QuantileKnots,
    /// Its Kolmogorov–Smirnov distance from the trace.
    pub ks_quantiles: f64,
    /// Its p50, p90, p99.
    pub quantile_percentiles: [f64; 3],
    /// The trace's p50, p90, p99.
    pub trace_percentiles: [f64; 3],
    /// Which is written.
    pub written: LengthModel,
}

impl LengthFit {
    /// The largest relative error of the lognormal's compared percentiles.
    pub fn lognormal_error(&self) -> f64 {
        largest_error(&self.trace_percentiles, &self.lognormal_percentiles)
    }
}

/// Fits `trace`, writing lengths as `lengths` says. A trace of fewer than two requests, or
/// whose requests all come at one instant, has no rate to fit.
pub fn fit_trace(trace: &Trace, lengths: LengthModel) -> Result<TraceFit, InputError> {
    let span_s = trace.span_s();
    if trace.len() < 2 || span_s <= 0.0 {
        return Err(InputError::general(format!(
            "cannot fit a rate to {} request(s) spanning {span_s} s: the trace needs two \
             requests at different times",
            trace.len()
        )));
    }
    let clock_start = trace.clock_start_s().unwrap_or(0.0);
    let hourly = (span_s >= 86_400.0).then(|| hourly_weights(trace.times_s(), clock_start));
    let times: Vec<f64> = match &hourly {
        Some(weights) => profile_time(trace.times_s(), clock_start, weights),
        None => trace.times_s().to_vec(),
    };
    Ok(TraceFit {
        name: trace.name().to_string(),
        format: trace.format(),
        rows: trace.rows().clone(),
        requests: trace.len(),
        span_s,
        mean_rate: (trace.len() - 1) as f64 / span_s,
        hourly,
        dated: trace.clock_start_s().is_some(),
        gaps: fit_gaps(&times),
        prompt: fit_lengths(trace.prompt_tokens(), lengths),
        output: fit_lengths(trace.output_tokens(), lengths),
    })
}

/// Each hour of the day's requests ÷ the seconds the trace spends in it, scaled to mean 1;
/// `clock_start` is the time of day of time 0. The trace covers at least a day.
fn hourly_weights(times: &[f64], clock_start: f64) -> [f64; 24] {
    let mut counts = [0.0; 24];
    for t in times {
        counts[hour_of_day(clock_start + t)] += 1.0;
    }
    let end = clock_start + times.last().copied().unwrap_or(0.0);
    let mut exposure = [0.0; 24];
    let mut at = clock_start;
    while at < end {
        let hour_end = ((at / 3600.0).floor() + 1.0) * 3600.0;
        exposure[hour_of_day(at)] += hour_end.min(end) - at;
        at = hour_end;
    }
    let rates: Vec<f64> = counts
        .iter()
        .zip(exposure)
        .map(|(count, seconds)| count / seconds)
        .collect();
    let mean = rates.iter().sum::<f64>() / 24.0;
    std::array::from_fn(|h| rates[h] / mean)
}

fn hour_of_day(clock_s: f64) -> usize {
    ((clock_s / 3600.0).floor() as i64).rem_euclid(24) as usize
}

/// Times in the profile's time: `∫ w(hour) dt` from time 0, so that the rate `λ̄·w` becomes
/// constant, as the simulator draws gaps.
fn profile_time(times: &[f64], clock_start: f64, weights: &[f64; 24]) -> Vec<f64> {
    let (mut at, mut integral) = (clock_start, 0.0);
    times
        .iter()
        .map(|t| {
            let clock = clock_start + t;
            loop {
                let hour_end = ((at / 3600.0).floor() + 1.0) * 3600.0;
                let weight = weights[hour_of_day(at)];
                if clock <= hour_end {
                    integral += weight * (clock - at);
                    at = clock;
                    return integral;
                }
                integral += weight * (hour_end - at);
                at = hour_end;
            }
        })
        .collect()
}

fn fit_gaps(times: &[f64]) -> GapFit {
    let mut gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    gaps.sort_by(f64::total_cmp);
    let (mean, sd) = mean_and_sd(&gaps);
    let gamma = GammaFit::moments(&gaps);
    let percentiles = |q: &dyn Fn(f64) -> f64| COMPARED.map(q);
    GapFit {
        n: gaps.len(),
        mean_s: mean,
        cv: sd / mean,
        gamma,
        ks_gamma: gamma.map(|g| ks_statistic(&gaps, |x| g.cdf(x))),
        ks_exponential: ks_statistic(&gaps, |x| 1.0 - (-x.max(0.0) / mean).exp()),
        trace_percentiles: percentiles(&|p| quantile(&gaps, p)),
        gamma_percentiles: gamma.map(|g| percentiles(&|p| g.quantile(p))),
    }
}

fn fit_lengths(lengths: &[u32], model: LengthModel) -> LengthFit {
    let mut sorted: Vec<f64> = lengths.iter().map(|l| f64::from(*l)).collect();
    sorted.sort_by(f64::total_cmp);
    let lognormal =
        LogNormalFit::maximum_likelihood(&sorted).expect("trace lengths are at least 1 token");
    let max = sorted.last().copied().unwrap_or(1.0);
    let quantiles = QuantileKnots::new(
        KNOTS
            .iter()
            .map(|p| (*p, (quantile(&sorted, *p) * 10.0).round() / 10.0))
            .collect(),
    )
    .expect("a sample's quantiles from p0 to p100 never fall");
    // The simulator rounds each draw: a length ℓ is drawn when the continuous value falls
    // below ℓ + ½, and the lognormal is capped at the longest length seen.
    let ks_lognormal = ks_statistic(&sorted, |x| {
        if x >= max {
            1.0
        } else {
            lognormal.cdf(x + 0.5)
        }
    });
    let ks_quantiles = ks_statistic(&sorted, |x| quantiles.cdf(x + 0.5));
    let trace_percentiles = COMPARED.map(|p| quantile(&sorted, p));
    let lognormal_percentiles = COMPARED.map(|p| lognormal.quantile(p).min(max));
    let written = match model {
        LengthModel::Auto
            if largest_error(&trace_percentiles, &lognormal_percentiles) <= LOGNORMAL_TOLERANCE =>
        {
            LengthModel::LogNormal
        }
        LengthModel::Auto => LengthModel::Quantiles,
        chosen => chosen,
    };
    LengthFit {
        n: sorted.len(),
        mean: mean_and_sd(&sorted).0,
        max,
        lognormal,
        ks_lognormal,
        lognormal_percentiles,
        quantile_percentiles: COMPARED.map(|p| quantiles.at(p)),
        quantiles,
        ks_quantiles,
        trace_percentiles,
        written,
    }
}

/// The largest `|fitted ÷ trace − 1|`.
fn largest_error(trace: &[f64; 3], fitted: &[f64; 3]) -> f64 {
    trace
        .iter()
        .zip(fitted)
        .map(|(t, f)| (f / t - 1.0).abs())
        .fold(0.0, f64::max)
}

/// The coefficient of variation the scenario can take: from 0.01 to [`MAX_GAP_CV`].
pub fn writable_cv(cv: f64) -> f64 {
    cv.clamp(0.01, MAX_GAP_CV)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hourly_weights_divide_requests_by_the_time_spent_in_each_hour() {
        // From 23:00 on day 0 to 23:00 on day 2: hour 23 is seen for 2 h (23:00–24:00 on
        // days 0 and 1) and every other hour for 2 h. One request at the start of each
        // hour but hour 5, which has three each day.
        let clock_start = 23.0 * 3600.0;
        let mut times = Vec::new();
        for h in 0..48 {
            let t = f64::from(h) * 3600.0;
            times.push(t);
            if (h + 23) % 24 == 5 {
                times.extend([t + 10.0, t + 20.0]);
            }
        }
        times.push(48.0 * 3600.0);
        let weights = hourly_weights(&times, clock_start);
        // Hour 23 also has the last request, at 23:00 on day 2, over the same 2 h.
        let rates: Vec<f64> = (0..24)
            .map(|h| match h {
                5 => 3.0,
                23 => 1.5,
                _ => 1.0,
            })
            .collect();
        let mean = rates.iter().sum::<f64>() / 24.0;
        for h in 0..24 {
            assert!((weights[h] - rates[h] / mean).abs() < 1e-12, "hour {h}");
        }
    }

    #[test]
    fn profile_time_stretches_each_hour_by_its_weight() {
        let mut weights = [1.0; 24];
        weights[1] = 2.0;
        // From 00:30: 30 min of hour 0 at weight 1, then an hour at 2.
        let times = [0.0, 1800.0, 3600.0, 5400.0];
        let warped = profile_time(&times, 1800.0, &weights);
        assert_eq!(warped, vec![0.0, 1800.0, 5400.0, 9000.0]);
    }

    #[test]
    fn lognormal_lengths_are_written_when_they_fit() {
        use crate::engine::rng::{Stream, stream};
        use rand_distr::{Distribution, LogNormal};
        let mut rng = stream(1, 0, Stream::PromptLengths);
        let draw = LogNormal::new(900f64.ln(), 0.5).unwrap();
        let lengths: Vec<u32> = (0..50_000)
            .map(|_| draw.sample(&mut rng).round() as u32)
            .collect();
        let fit = fit_lengths(&lengths, LengthModel::Auto);
        assert_eq!(fit.written, LengthModel::LogNormal);
        assert!((fit.lognormal.sigma - 0.5).abs() < 0.01);
        assert!(fit.ks_lognormal < 0.01, "{}", fit.ks_lognormal);
        // Two clusters are no lognormal: the quantiles are written.
        let clusters: Vec<u32> = (0..1000)
            .map(|i| if i % 2 == 0 { 10 } else { 5000 })
            .collect();
        let fit = fit_lengths(&clusters, LengthModel::Auto);
        assert_eq!(fit.written, LengthModel::Quantiles);
        assert_eq!(fit.quantile_percentiles, fit.trace_percentiles);
    }
}
