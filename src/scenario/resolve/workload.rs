//! The `workload` section: arrival volume, diurnal profile, burstiness, token-length
//! distributions — or a trace replayed.

use super::hourly;
use crate::check;
use crate::error::InputError;
use crate::scenario::spec::{DiurnalSpec, LengthSpec, TraceSpec, WorkloadSpec};
use crate::uncertain::Drawer;
use crate::workload::arrivals::MAX_GAP_CV;
use crate::workload::trace::MAX_RATE_SCALE;
use crate::workload::{
    Arrivals, DailyProfile, LengthShape, QuantileKnots, Replay, TokenLengths, Trace, Workload,
};
use rand_distr::{LogNormal, Normal};
use std::sync::Arc;

/// The most closed-loop clients one run may hold: each is a request in flight, so this bounds
/// memory as `MAX_REQUESTS` bounds an open stream.
pub(super) const MAX_CLIENTS: u64 = 1_000_000;

/// The workload of `w`; `trace` is the file `workload.trace` names, read.
pub(super) fn resolve_workload(
    w: &WorkloadSpec,
    trace: Option<&Arc<Trace>>,
    d: &mut Drawer,
) -> Result<Workload, InputError> {
    if let Some(spec) = &w.trace {
        let trace = trace.expect("the scenario file reads the trace it names");
        return resolve_trace(w, spec, trace, d);
    }
    let lengths = |name: &str, spec: &Option<LengthSpec>, d: &mut Drawer| {
        let field = format!("workload.{name}");
        match spec {
            Some(spec) => resolve_lengths(&field, spec, d),
            None => Err(InputError::field(
                field,
                "required: a length distribution such as {lognormal: {median: 600, sigma: 1}}, \
                 unless workload.trace gives the lengths",
            )),
        }
    };
    Ok(Workload {
        arrivals: resolve_arrivals(w, d)?,
        prompt_tokens: lengths("prompt_tokens", &w.prompt_tokens, d)?,
        output_tokens: lengths("output_tokens", &w.output_tokens, d)?,
    })
}

/// A trace replayed, as `workload.trace` says; the keys that make arrivals or lengths of
/// their own cannot stand beside it.
fn resolve_trace(
    w: &WorkloadSpec,
    spec: &TraceSpec,
    trace: &Arc<Trace>,
    d: &mut Drawer,
) -> Result<Workload, InputError> {
    let given = [
        ("requests_per_day", w.requests_per_day.is_some()),
        ("rate", w.rate.is_some()),
        ("concurrency", w.concurrency.is_some()),
        ("think_time", w.think_time.is_some()),
        ("burstiness", w.burstiness.is_some()),
        ("prompt_tokens", w.prompt_tokens.is_some()),
        ("output_tokens", w.output_tokens.is_some()),
    ];
    if let Some((key, _)) = given.iter().find(|(_, given)| *given) {
        return Err(InputError::field(
            format!("workload.{key}"),
            "a trace gives the arrivals and the lengths: drop this key, or drop workload.trace \
             (scale a trace with trace.rate_scale and trace.time_scale)",
        ));
    }
    if w.diurnal.is_some() && !spec.looped {
        return Err(InputError::field(
            "workload.diurnal",
            "shapes a looped trace (trace.loop: true) or a drawn stream; a trace played once \
             keeps its own shape",
        ));
    }
    let scale = |key: &str, value: &Option<crate::uncertain::Value<f64>>, d: &mut Drawer| {
        let field = format!("workload.trace.{key}");
        let value = value.as_ref().map_or(1.0, |v| d.value(&field, v));
        check::positive(&field, value).map(|()| value)
    };
    let time_scale = scale("time_scale", &spec.time_scale, d)?;
    let rate_scale = scale("rate_scale", &spec.rate_scale, d)?;
    if rate_scale > MAX_RATE_SCALE {
        return Err(InputError::field(
            "workload.trace.rate_scale",
            format!(
                "expected at most {MAX_RATE_SCALE} (copies of the trace played together), got \
                 {rate_scale}; for more, shorten the trace's gaps with time_scale"
            ),
        ));
    }
    if trace.period_s() <= 0.0 {
        return Err(InputError::field(
            "workload.trace.file",
            format!(
                "the trace's {} request(s) are all at one instant: a replay needs two at \
                 different times, to have a rate",
                trace.len()
            ),
        ));
    }
    let profile = match &w.diurnal {
        Some(diurnal) => Some(resolve_diurnal(diurnal, d)?),
        None => None,
    };
    let lengths = |values: &Arc<[u32]>| {
        TokenLengths::new(LengthShape::Empirical(Arc::clone(values)), 1, u32::MAX)
    };
    Ok(Workload {
        arrivals: Arrivals::Trace(Replay::new(
            Arc::clone(trace),
            time_scale,
            rate_scale,
            spec.looped,
            profile,
        )),
        prompt_tokens: lengths(trace.prompt_tokens()),
        output_tokens: lengths(trace.output_tokens()),
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
        if w.burstiness.is_some() {
            return Err(InputError::field(
                "workload.burstiness",
                "shapes the gaps of an open stream (rate or requests_per_day); a closed loop's \
                 requests follow its clients",
            ));
        }
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
    let gap_cv = match &w.burstiness {
        Some(burstiness) => {
            let field = "workload.burstiness.cv";
            let cv = d.value(field, &burstiness.cv);
            if !(cv > 0.0 && cv <= MAX_GAP_CV) {
                return Err(InputError::field(
                    field,
                    format!(
                        "expected a coefficient of variation of the gaps above 0 and at most \
                         {MAX_GAP_CV} (1 is Poisson), got {cv}"
                    ),
                ));
            }
            cv
        }
        None => 1.0,
    };
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
    Ok(Arrivals::Open {
        mean_rate,
        profile,
        gap_cv,
    })
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
        f.quantiles.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(InputError::field(
            field,
            "expected exactly one of fixed, uniform, lognormal, normal, empirical or quantiles",
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
    } else if let Some(knots) = &f.quantiles {
        LengthShape::Quantiles(quantile_knots(&format!("{field}.quantiles"), knots)?)
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
        LengthShape::Empirical(lengths.into())
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

/// Knots of a quantile function from `{p0: 2, p50: 1020, p99.9: 9000, p100: 14050}`.
fn quantile_knots(
    field: &str,
    knots: &std::collections::BTreeMap<String, f64>,
) -> Result<QuantileKnots, InputError> {
    let knots = knots
        .iter()
        .map(|(key, length)| {
            let sub = format!("{field}.{key}");
            let p = key
                .strip_prefix('p')
                .and_then(|p| p.parse::<f64>().ok())
                .filter(|p| (0.0..=100.0).contains(p))
                .ok_or_else(|| {
                    InputError::field(
                        &sub,
                        format!(
                            "expected a percentile from p0 to p100, such as p99.9; got `{key}`"
                        ),
                    )
                })?;
            if !(length.is_finite() && *length >= 0.0) {
                return Err(InputError::field(
                    sub,
                    format!("expected a length ≥ 0 tokens, got {length}"),
                ));
            }
            Ok((p / 100.0, *length))
        })
        .collect::<Result<Vec<_>, _>>()?;
    QuantileKnots::new(knots).map_err(|message| InputError::field(field, message))
}
