//! Fitting the step model's compute and memory efficiencies and its per-step overhead to
//! measured timings, by searching with the simulator itself in the loop.
//!
//! The objective is the mean absolute log ratio of predicted to measured value over the
//! central timing rows — mean and median latencies, and throughput: symmetric in over- and
//! under-prediction, indifferent to units, and robust: one configuration the model cannot
//! describe (a measurement anomaly) does not drag the rest the way a squared error would. Tail latencies (p90, p99) are left out: they
//! hang on the length distributions and the scheduler's mix of prefill and decode more
//! than on the hardware's efficiency, so they are predicted, not fitted. The search is cyclic coordinate descent with a golden-section
//! search on each parameter inside its physical range (efficiencies in (0, 1], overhead
//! from 0 to 20 ms); every evaluation simulates the same configurations with the same
//! seed, so the objective is a deterministic function of the parameters.

use super::file::{Measurement, Statistic};
use super::predict_rows;
use crate::error::InputError;
use crate::perf_model::Calibration;
use crate::units::Seconds;

/// Ranges searched: `(low, high)` of compute efficiency, memory efficiency, step overhead (s).
pub const RANGES: [(f64, f64); 3] = [(0.1, 1.0), (0.3, 1.0), (0.0, 0.02)];

/// Sweeps over the three parameters.
const SWEEPS: usize = 3;

/// Golden-section steps per parameter per sweep: the bracket shrinks to 0.618^8 ≈ 2% of
/// the range the first sweep and around the incumbent after.
const STEPS: usize = 8;

/// Log ratio charged for a row with no prediction (nothing finished): as bad as a factor e³.
const MISSING: f64 = 3.0;

/// A fitted calibration and how well it fits.
#[derive(Clone, Debug, PartialEq)]
pub struct Fit {
    /// The fitted values (link efficiency and collective latency as they were).
    pub calibration: Calibration,
    /// Mean absolute log ratio over the rows fitted: ≈ the typical relative error.
    pub mean_log_error: f64,
    /// Simulations of the whole row set the search took.
    pub evaluations: usize,
}

fn with(calibration: &Calibration, parameter: usize, value: f64) -> Calibration {
    let mut c = *calibration;
    match parameter {
        0 => c.efficiencies.compute = value,
        1 => c.efficiencies.memory = value,
        _ => c.overheads.step = Seconds(value),
    }
    c
}

fn get(calibration: &Calibration, parameter: usize) -> f64 {
    match parameter {
        0 => calibration.efficiencies.compute,
        1 => calibration.efficiencies.memory,
        _ => calibration.overheads.step.0,
    }
}

/// The objective at `calibration`: mean absolute log ratio over `rows`.
fn objective(
    rows: &[&Measurement],
    calibration: &Calibration,
    horizon: Seconds,
) -> Result<f64, InputError> {
    let predicted = predict_rows(rows, calibration, horizon)?;
    let total: f64 = rows
        .iter()
        .zip(&predicted)
        .map(|(row, p)| match p {
            Some(p) if *p > 0.0 => (p / row.value).ln().abs(),
            _ => MISSING,
        })
        .sum();
    Ok(total / rows.len().max(1) as f64)
}

/// Fits to the central timing rows among `rows`, starting from `start`.
pub fn fit(
    rows: &[&Measurement],
    start: &Calibration,
    horizon: Seconds,
) -> Result<Fit, InputError> {
    let timing: Vec<&Measurement> = rows
        .iter()
        .copied()
        .filter(|r| r.metric.is_timing() && matches!(r.statistic, Statistic::Mean | Statistic::P50))
        .collect();
    if timing.is_empty() {
        return Err(InputError::general(
            "nothing to fit: the rows fitted have no mean or median latency and no throughput",
        ));
    }
    let mut best = *start;
    let mut best_value = objective(&timing, &best, horizon)?;
    let mut evaluations = 1;
    let ratio = (5f64.sqrt() - 1.0) / 2.0;
    for sweep in 0..SWEEPS {
        for (parameter, &(low, high)) in RANGES.iter().enumerate() {
            // The first sweep searches the whole range; later ones a shrinking bracket
            // around the incumbent.
            let width = (high - low) / 4f64.powi(sweep as i32);
            let centre = get(&best, parameter);
            let (mut a, mut b) = if sweep == 0 {
                (low, high)
            } else {
                (
                    (centre - width / 2.0).max(low),
                    (centre + width / 2.0).min(high),
                )
            };
            let mut x1 = b - ratio * (b - a);
            let mut x2 = a + ratio * (b - a);
            let mut f1 = objective(&timing, &with(&best, parameter, x1), horizon)?;
            let mut f2 = objective(&timing, &with(&best, parameter, x2), horizon)?;
            evaluations += 2;
            for _ in 0..STEPS {
                if f1 <= f2 {
                    (b, x2, f2) = (x2, x1, f1);
                    x1 = b - ratio * (b - a);
                    f1 = objective(&timing, &with(&best, parameter, x1), horizon)?;
                } else {
                    (a, x1, f1) = (x1, x2, f2);
                    x2 = a + ratio * (b - a);
                    f2 = objective(&timing, &with(&best, parameter, x2), horizon)?;
                }
                evaluations += 1;
            }
            let (x, f) = if f1 <= f2 { (x1, f1) } else { (x2, f2) };
            if f < best_value {
                best = with(&best, parameter, x);
                best_value = f;
            }
        }
    }
    Ok(Fit {
        calibration: best,
        mean_log_error: best_value,
        evaluations,
    })
}
