//! The `workload` section: arrival volume, diurnal profile, token-length distributions.

use super::hourly;
use crate::check;
use crate::error::InputError;
use crate::scenario::spec::{DiurnalSpec, LengthSpec, WorkloadSpec};
use crate::workload::{DailyProfile, LengthShape, TokenLengths, Workload};
use rand_distr::{LogNormal, Normal};

pub(super) fn resolve_workload(w: &WorkloadSpec) -> Result<Workload, InputError> {
    let mean_rate = match (w.requests_per_day, w.rate) {
        (Some(_), Some(_)) => {
            return Err(InputError::field(
                "workload",
                "give either requests_per_day or rate, not both",
            ));
        }
        (None, None) => {
            return Err(InputError::field(
                "workload",
                "needs an arrival volume: requests_per_day (e.g. 2e6) or rate (e.g. 25/s)",
            ));
        }
        (Some(per_day), None) => {
            check::non_negative("workload.requests_per_day", per_day)?;
            per_day / 86_400.0
        }
        (None, Some(rate)) => {
            check::non_negative("workload.rate", rate.0)?;
            rate.0
        }
    };
    let profile = match &w.diurnal {
        None => DailyProfile::flat(),
        Some(d) => resolve_diurnal(d).map_err(|e| e.under("workload.diurnal"))?,
    };
    Ok(Workload {
        mean_rate,
        profile,
        prompt_tokens: resolve_lengths(&w.prompt_tokens)
            .map_err(|e| e.under("workload.prompt_tokens"))?,
        output_tokens: resolve_lengths(&w.output_tokens)
            .map_err(|e| e.under("workload.output_tokens"))?,
    })
}

fn resolve_diurnal(d: &DiurnalSpec) -> Result<DailyProfile, InputError> {
    match (&d.hourly, d.peak_to_trough, d.peak_hour) {
        (Some(values), None, None) => {
            let weights = hourly("hourly", values, "weights", check::non_negative)?;
            if weights.iter().all(|w| *w == 0.0) {
                return Err(InputError::field("hourly", "weights are all zero"));
            }
            Ok(DailyProfile::from_hourly(weights))
        }
        (None, Some(ratio), hour) => {
            if !(ratio.is_finite() && ratio >= 1.0) {
                return Err(InputError::field(
                    "peak_to_trough",
                    format!("expected a ratio ≥ 1 (busiest hour ÷ quietest), got {ratio}"),
                ));
            }
            let hour = hour.unwrap_or(14.0);
            if !(0.0..24.0).contains(&hour) {
                return Err(InputError::field(
                    "peak_hour",
                    format!("expected an hour from 0 to 23, got {hour}"),
                ));
            }
            Ok(DailyProfile::cosine(ratio, hour))
        }
        (None, None, Some(_)) => Err(InputError::field(
            "peak_hour",
            "needs peak_to_trough beside it",
        )),
        (None, None, None) => Err(InputError::general(
            "give hourly (24 weights) or peak_to_trough (with an optional peak_hour)",
        )),
        (Some(_), _, _) => Err(InputError::general(
            "give hourly or peak_to_trough, not both",
        )),
    }
}

/// A whole number of tokens of at least 1 from a YAML number.
fn token_count(field: &str, value: f64) -> Result<u32, InputError> {
    if value.is_finite() && value >= 1.0 && value.fract() == 0.0 && value <= f64::from(u32::MAX) {
        Ok(value as u32)
    } else {
        Err(InputError::field(
            field,
            format!("expected a whole number of tokens ≥ 1, got {value}"),
        ))
    }
}

fn resolve_lengths(spec: &LengthSpec) -> Result<TokenLengths, InputError> {
    let f = &spec.0;
    let given = [
        f.fixed.is_some(),
        f.uniform.is_some(),
        f.lognormal.is_some(),
        f.normal.is_some(),
        f.empirical.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(InputError::general(
            "expected exactly one of fixed, uniform, lognormal, normal or empirical",
        ));
    }
    let shape = if let Some(n) = f.fixed {
        LengthShape::Fixed(token_count("fixed", n)?)
    } else if let Some(bounds) = &f.uniform {
        let [low, high] = bounds.as_slice() else {
            return Err(InputError::field(
                "uniform",
                format!("expected [low, high], got {} values", bounds.len()),
            ));
        };
        let (low, high) = (
            token_count("uniform[0]", *low)?,
            token_count("uniform[1]", *high)?,
        );
        if low > high {
            return Err(InputError::field(
                "uniform",
                format!("low ({low}) must not exceed high ({high})"),
            ));
        }
        LengthShape::Uniform { low, high }
    } else if let Some(ln) = &f.lognormal {
        check::positive("lognormal.median", ln.median)?;
        check::non_negative("lognormal.sigma", ln.sigma)?;
        LengthShape::LogNormal(
            LogNormal::new(ln.median.ln(), ln.sigma)
                .map_err(|e| InputError::field("lognormal", e.to_string()))?,
        )
    } else if let Some(n) = &f.normal {
        check::positive("normal.mean", n.mean)?;
        check::non_negative("normal.sd", n.sd)?;
        LengthShape::Normal(
            Normal::new(n.mean, n.sd).map_err(|e| InputError::field("normal", e.to_string()))?,
        )
    } else {
        let values = f.empirical.as_deref().unwrap_or_default();
        if values.is_empty() {
            return Err(InputError::field("empirical", "needs at least one length"));
        }
        let lengths = values
            .iter()
            .enumerate()
            .map(|(i, v)| token_count(&format!("empirical[{i}]"), *v))
            .collect::<Result<Vec<u32>, _>>()?;
        LengthShape::Empirical(lengths)
    };
    let min = f
        .min
        .map(|m| token_count("min", m))
        .transpose()?
        .unwrap_or(1);
    let max = f
        .max
        .map(|m| token_count("max", m))
        .transpose()?
        .unwrap_or(u32::MAX);
    if min > max {
        return Err(InputError::field(
            "max",
            format!("must be at least min ({min}), got {max}"),
        ));
    }
    Ok(TokenLengths::new(shape, min, max))
}
