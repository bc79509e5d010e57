//! The `workload` section: arrival volume, diurnal profile, token-length distributions.

use super::hourly;
use crate::check;
use crate::error::InputError;
use crate::scenario::spec::{DiurnalSpec, LengthSpec, WorkloadSpec};
use crate::uncertain::Drawer;
use crate::workload::{Arrivals, DailyProfile, LengthShape, TokenLengths, Workload};
use rand_distr::{LogNormal, Normal};

/// The most closed-loop clients one run may hold: each is a request in flight, so this bounds
/// memory as `MAX_REQUESTS` bounds an open stream.
pub(super) const MAX_CLIENTS: u64 = 1_000_000;

pub(super) fn resolve_workload(w: &WorkloadSpec, d: &mut Drawer) -> Result<Workload, InputError> {
    Ok(Workload {
        arrivals: resolve_arrivals(w, d)?,
        prompt_tokens: resolve_lengths("workload.prompt_tokens", &w.prompt_tokens, d)?,
        output_tokens: resolve_lengths("workload.output_tokens", &w.output_tokens, d)?,
    })
}

/// An open stream from `requests_per_day` or `rate` (and `diurnal`), or a closed loop from
/// `concurrency` (and `think_time`).
fn resolve_arrivals(w: &WorkloadSpec, d: &mut Drawer) -> Result<Arrivals, InputError> {
    let volumes = [
        w.requests_per_day.is_some(),
        w.rate.is_some(),
        w.concurrency.is_some(),
    ];
    match volumes.iter().filter(|v| **v).count() {
        0 => {
            return Err(InputError::field(
                "workload",
                "needs an arrival volume: requests_per_day (e.g. 2e6), rate (e.g. 25/s) or \
                 concurrency (e.g. 64 clients in a closed loop)",
            ));
        }
        1 => {}
        _ => {
            return Err(InputError::field(
                "workload",
                "give one of requests_per_day, rate or concurrency, not several",
            ));
        }
    }
    if let Some(clients) = &w.concurrency {
        if w.diurnal.is_some() {
            return Err(InputError::field(
                "workload.diurnal",
                "shapes an open stream (rate or requests_per_day); a closed loop's rate is \
                 whatever its clients sustain",
            ));
        }
        let clients = d.value("workload.concurrency", clients);
        check::at_least("workload.concurrency", clients, 1)?;
        check::at_most(
            "workload.concurrency",
            clients,
            MAX_CLIENTS,
            "the most clients one run may simulate",
        )?;
        let think = w
            .think_time
            .as_ref()
            .map_or(0.0, |t| d.value("workload.think_time", t).0);
        check::non_negative("workload.think_time", think)?;
        return Ok(Arrivals::Closed { clients, think });
    }
    if w.think_time.is_some() {
        return Err(InputError::field(
            "workload.think_time",
            "applies to a closed loop; give concurrency beside it, or drop it",
        ));
    }
    let mean_rate = if let Some(per_day) = &w.requests_per_day {
        let per_day = d.value("workload.requests_per_day", per_day);
        check::non_negative("workload.requests_per_day", per_day)?;
        per_day / 86_400.0
    } else {
        let rate = w
            .rate
            .as_ref()
            .map_or(0.0, |r| d.value("workload.rate", r).0);
        check::non_negative("workload.rate", rate)?;
        rate
    };
    let profile = match &w.diurnal {
        None => DailyProfile::flat(),
        Some(diurnal) => resolve_diurnal(diurnal, d)?,
    };
    Ok(Arrivals::Open { mean_rate, profile })
}

fn resolve_diurnal(diurnal: &DiurnalSpec, d: &mut Drawer) -> Result<DailyProfile, InputError> {
    let field = "workload.diurnal";
    match (&diurnal.hourly, &diurnal.peak_to_trough, &diurnal.peak_hour) {
        (Some(values), None, None) => {
            let field = format!("{field}.hourly");
            let values = d.values(&field, values);
            let weights = hourly(&field, &values, "weights", check::non_negative)?;
            if weights.iter().all(|w| *w == 0.0) {
                return Err(InputError::field(field, "weights are all zero"));
            }
            Ok(DailyProfile::from_hourly(weights))
        }
        (None, Some(ratio), hour) => {
            let ratio_field = format!("{field}.peak_to_trough");
            let ratio = d.value(&ratio_field, ratio);
            if !(ratio.is_finite() && ratio >= 1.0) {
                return Err(InputError::field(
                    ratio_field,
                    format!("expected a ratio ≥ 1 (busiest hour ÷ quietest), got {ratio}"),
                ));
            }
            let hour_field = format!("{field}.peak_hour");
            let hour = hour.as_ref().map_or(14.0, |h| d.value(&hour_field, h));
            if !(0.0..24.0).contains(&hour) {
                return Err(InputError::field(
                    hour_field,
                    format!("expected an hour from 0 to 23, got {hour}"),
                ));
            }
            Ok(DailyProfile::cosine(ratio, hour))
        }
        (None, None, Some(_)) => Err(InputError::field(
            format!("{field}.peak_hour"),
            "needs peak_to_trough beside it",
        )),
        (None, None, None) => Err(InputError::field(
            field,
            "give hourly (24 weights) or peak_to_trough (with an optional peak_hour)",
        )),
        (Some(_), _, _) => Err(InputError::field(
            field,
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

fn resolve_lengths(
    field: &str,
    spec: &LengthSpec,
    d: &mut Drawer,
) -> Result<TokenLengths, InputError> {
    let f = &spec.0;
    let given = [
        f.fixed.is_some(),
        f.uniform.is_some(),
        f.lognormal.is_some(),
        f.normal.is_some(),
        f.empirical.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(InputError::field(
            field,
            "expected exactly one of fixed, uniform, lognormal, normal or empirical",
        ));
    }
    let shape = if let Some(n) = &f.fixed {
        let sub = format!("{field}.fixed");
        LengthShape::Fixed(token_count(&sub, d.value(&sub, n))?)
    } else if let Some(bounds) = &f.uniform {
        let sub = format!("{field}.uniform");
        let bounds = d.values(&sub, bounds);
        let [low, high] = bounds[..] else {
            return Err(InputError::field(
                sub,
                format!("expected [low, high], got {} values", bounds.len()),
            ));
        };
        let low = token_count(&format!("{sub}[0]"), low)?;
        let high = token_count(&format!("{sub}[1]"), high)?;
        if low > high {
            return Err(InputError::field(
                sub,
                format!("low ({low}) must not exceed high ({high})"),
            ));
        }
        LengthShape::Uniform { low, high }
    } else if let Some(ln) = &f.lognormal {
        let (median_field, sigma_field) = (
            format!("{field}.lognormal.median"),
            format!("{field}.lognormal.sigma"),
        );
        let median = d.value(&median_field, &ln.median);
        let sigma = d.value(&sigma_field, &ln.sigma);
        check::positive(&median_field, median)?;
        check::non_negative(&sigma_field, sigma)?;
        LengthShape::LogNormal(
            LogNormal::new(median.ln(), sigma)
                .map_err(|e| InputError::field(format!("{field}.lognormal"), e.to_string()))?,
        )
    } else if let Some(n) = &f.normal {
        let (mean_field, sd_field) = (format!("{field}.normal.mean"), format!("{field}.normal.sd"));
        let mean = d.value(&mean_field, &n.mean);
        let sd = d.value(&sd_field, &n.sd);
        check::positive(&mean_field, mean)?;
        check::non_negative(&sd_field, sd)?;
        LengthShape::Normal(
            Normal::new(mean, sd)
                .map_err(|e| InputError::field(format!("{field}.normal"), e.to_string()))?,
        )
    } else {
        let sub = format!("{field}.empirical");
        let values = f.empirical.as_deref().unwrap_or_default();
        if values.is_empty() {
            return Err(InputError::field(sub, "needs at least one length"));
        }
        let lengths = values
            .iter()
            .enumerate()
            .map(|(i, v)| token_count(&format!("{sub}[{i}]"), *v))
            .collect::<Result<Vec<u32>, _>>()?;
        LengthShape::Empirical(lengths)
    };
    let mut cap = |name: &str, value: &Option<_>, default: u32| -> Result<u32, InputError> {
        let sub = format!("{field}.{name}");
        value
            .as_ref()
            .map_or(Ok(default), |v| token_count(&sub, d.value(&sub, v)))
    };
    let min = cap("min", &f.min, 1)?;
    let max = cap("max", &f.max, u32::MAX)?;
    if min > max {
        return Err(InputError::field(
            format!("{field}.max"),
            format!("must be at least min ({min}), got {max}"),
        ));
    }
    Ok(TokenLengths::new(shape, min, max))
}
