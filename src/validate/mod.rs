//! Validation: predicting measured figures under the configurations they were measured in,
//! and how far off the predictions are — per row, per metric, and after fitting the step
//! model's efficiencies to some of the rows and predicting the others.

pub mod file;
pub mod fit;
pub mod predict;

pub use file::{Measurement, MeasurementFile, Metric, Setup, Statistic};
pub use fit::Fit;

use crate::error::InputError;
use crate::perf_model::Calibration;
use crate::units::Seconds;

/// The first row of each distinct configuration, in file order, and for every row the
/// index of its configuration among them.
fn distinct_setups<'a>(
    rows: impl Iterator<Item = &'a Measurement>,
) -> (Vec<&'a Measurement>, Vec<usize>) {
    let mut firsts: Vec<&Measurement> = Vec::new();
    let index = rows
        .map(|row| {
            firsts
                .iter()
                .position(|f| f.setup == row.setup)
                .unwrap_or_else(|| {
                    firsts.push(row);
                    firsts.len() - 1
                })
        })
        .collect();
    (firsts, index)
}

/// Predicts every row: each distinct configuration is simulated once, in parallel.
pub fn predict_rows(
    rows: &[&Measurement],
    calibration: &Calibration,
    horizon: Seconds,
) -> Result<Vec<Option<f64>>, InputError> {
    let (firsts, index) = distinct_setups(rows.iter().copied());
    let scenarios = firsts
        .iter()
        .map(|row| {
            predict::scenario(&row.setup, calibration, horizon).map_err(|e| {
                InputError::general(format!(
                    "line {}: the configuration cannot be simulated: {}",
                    row.line, e
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let outcomes = predict::simulate_all(&scenarios);
    Ok(rows
        .iter()
        .zip(index)
        .map(|(row, i)| outcomes[i].value(row.metric, row.statistic))
        .collect())
}

/// Which rows a fit uses: those whose `key` column (`model` or `gpu`) equals `value`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subset {
    /// `model` or `gpu`.
    pub key: String,
    /// The catalog id.
    pub value: String,
}

impl Subset {
    /// Parses `gpu=h100-sxm` or `model=llama-3.1-8b`.
    pub fn parse(text: &str) -> Result<Subset, InputError> {
        match text.split_once('=') {
            Some((key @ ("gpu" | "model"), value)) if !value.is_empty() => Ok(Subset {
                key: key.to_string(),
                value: value.to_string(),
            }),
            _ => Err(InputError::field(
                "--fit-on",
                format!("expected gpu=ID or model=ID, got `{text}`"),
            )),
        }
    }

    /// Whether `row` is in the subset.
    pub fn contains(&self, row: &Measurement) -> bool {
        let field = if self.key == "gpu" {
            &row.setup.gpu
        } else {
            &row.setup.model
        };
        field.eq_ignore_ascii_case(&self.value)
    }
}

/// Which rows a fit uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FitTo {
    /// No fit: predict with the calibration given.
    Nothing,
    /// Every row.
    All,
    /// The rows of one GPU or model; the others are predicted with the fit.
    Rows(Subset),
}

impl FitTo {
    /// Whether a fit uses `row`.
    fn uses(&self, row: &Measurement) -> bool {
        match self {
            FitTo::Nothing => false,
            FitTo::All => true,
            FitTo::Rows(subset) => subset.contains(row),
        }
    }
}

/// How to validate.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// Simulated time per configuration.
    pub horizon: Seconds,
    /// Efficiencies and overheads to predict with (and to start a fit from).
    pub calibration: Calibration,
    /// Whether to fit the efficiencies and overhead first, and to which rows.
    pub fit: FitTo,
    /// Worker threads; all cores when absent. The results do not depend on it.
    pub threads: Option<usize>,
}

/// A validated file.
#[derive(Clone, Debug, PartialEq)]
pub struct Validation {
    /// The measurements.
    pub file: MeasurementFile,
    /// The calibration the predictions used.
    pub calibration: Calibration,
    /// The fit, when one was asked for.
    pub fit: Option<Fit>,
    /// Each row's prediction, in file order; `None` where the run had none.
    pub predicted: Vec<Option<f64>>,
    /// Each row's part: fitted (`true`) or predicted only.
    pub fitted: Vec<bool>,
    /// Simulated time per configuration.
    pub horizon: Seconds,
}

/// How far off one group of rows is.
#[derive(Clone, Debug, PartialEq)]
pub struct ErrorSummary {
    /// `itl_ms p50`, say.
    pub label: String,
    /// Rows in the group.
    pub rows: usize,
    /// Median of |predicted − measured| ÷ measured, percent.
    pub median_abs_pct: f64,
    /// Largest of them, percent.
    pub worst_abs_pct: f64,
    /// Median signed error, percent: positive when the model over-predicts.
    pub median_pct: f64,
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

impl ErrorSummary {
    /// The summary of `errors` (fractions); `None` for an empty group.
    pub fn of(label: String, errors: &[f64]) -> Option<ErrorSummary> {
        if errors.is_empty() {
            return None;
        }
        let mut signed: Vec<f64> = errors.to_vec();
        signed.sort_by(f64::total_cmp);
        let mut abs: Vec<f64> = errors.iter().map(|e| e.abs()).collect();
        abs.sort_by(f64::total_cmp);
        Some(ErrorSummary {
            label,
            rows: errors.len(),
            median_abs_pct: median(&abs) * 100.0,
            worst_abs_pct: abs[abs.len() - 1] * 100.0,
            median_pct: median(&signed) * 100.0,
        })
    }
}

impl Validation {
    /// Row `i`'s relative error (predicted − measured) ÷ measured, if it has a prediction.
    pub fn error(&self, i: usize) -> Option<f64> {
        self.predicted[i].map(|p| (p - self.file.rows[i].value) / self.file.rows[i].value)
    }

    /// Error summaries per metric and statistic, over the rows `keep` admits, in table order.
    pub fn by_metric(&self, keep: impl Fn(usize) -> bool) -> Vec<ErrorSummary> {
        let mut groups: Vec<(Metric, Statistic)> = self
            .file
            .rows
            .iter()
            .map(|r| (r.metric, r.statistic))
            .collect();
        groups.sort();
        groups.dedup();
        groups
            .into_iter()
            .filter_map(|(metric, statistic)| {
                let errors: Vec<f64> = (0..self.file.rows.len())
                    .filter(|&i| keep(i))
                    .filter(|&i| {
                        let r = &self.file.rows[i];
                        r.metric == metric && r.statistic == statistic
                    })
                    .filter_map(|i| self.error(i))
                    .collect();
                ErrorSummary::of(format!("{} {}", metric.name(), statistic.name()), &errors)
            })
            .collect()
    }

    /// Distinct configurations among the rows: the simulations a prediction takes.
    pub fn configurations(&self) -> usize {
        distinct_setups(self.file.rows.iter()).0.len()
    }

    /// Rows with no prediction (the run finished nothing to measure).
    pub fn unpredicted(&self) -> usize {
        self.predicted.iter().filter(|p| p.is_none()).count()
    }
}

/// Validates `file`: fits first if asked, then predicts every row.
pub fn validate(file: MeasurementFile, options: &Options) -> Result<Validation, InputError> {
    crate::study::thread_pool(options.threads)?.install(|| validate_in_pool(file, options))
}

fn validate_in_pool(file: MeasurementFile, options: &Options) -> Result<Validation, InputError> {
    let fitted: Vec<bool> = file.rows.iter().map(|row| options.fit.uses(row)).collect();
    let fit = match &options.fit {
        FitTo::Nothing => None,
        to => {
            let rows: Vec<&Measurement> = file
                .rows
                .iter()
                .zip(&fitted)
                .filter_map(|(row, &f)| f.then_some(row))
                .collect();
            if let (true, FitTo::Rows(subset)) = (rows.is_empty(), to) {
                return Err(InputError::field(
                    "--fit-on",
                    format!("no row has {}={}", subset.key, subset.value),
                ));
            }
            Some(fit::fit(&rows, &options.calibration, options.horizon)?)
        }
    };
    let calibration = fit.as_ref().map_or(options.calibration, |f| f.calibration);
    let all: Vec<&Measurement> = file.rows.iter().collect();
    let predicted = predict_rows(&all, &calibration, options.horizon)?;
    Ok(Validation {
        file,
        calibration,
        fit,
        predicted,
        fitted,
        horizon: options.horizon,
    })
}
