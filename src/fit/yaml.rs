//! A [`TraceFit`] as the `workload:` section of a scenario, followed by comments with the
//! goodness of fit.

use super::{COMPARED, LOGNORMAL_TOLERANCE, LengthFit, LengthModel, TraceFit, writable_cv};
use crate::report::markdown::{count, plural, significant, text_table};
use std::fmt::Write;

/// The workload section and its goodness of fit, as `fleetsim fit` prints them.
pub fn render(fit: &TraceFit) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# fleetsim fit: {} ({} trace), {} requests over {}",
        fit.name,
        fit.format,
        count(fit.requests as u64),
        duration(fit.span_s)
    );
    let rows = &fit.rows;
    if rows.empty > 0 || rows.bad > 0 {
        let _ = writeln!(
            out,
            "# rows left out: {} without prompt or output tokens, {} skipped{}",
            plural(rows.empty, "row"),
            plural(rows.bad, "bad row"),
            rows.first_bad
                .as_ref()
                .map_or(String::new(), |first| format!(" (the first: {first})"))
        );
    }
    out.push_str("# A scenario's workload section: paste it in place of the scenario's own.\n");
    out.push_str("workload:\n");
    let _ = writeln!(
        out,
        "  requests_per_day: {:.0}  # {} requests/s, one over the mean gap",
        fit.mean_rate * 86_400.0,
        significant(fit.mean_rate)
    );
    match &fit.hourly {
        Some(weights) => {
            let half = |hours: &[f64]| {
                hours
                    .iter()
                    .map(|w| decimal(*w, 3))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let _ = writeln!(
                out,
                "  diurnal:  # each hour's requests ÷ the time the trace spends in it, hours {}\n    \
                 hourly: [{},\n             {}]",
                if fit.dated {
                    "of its clock"
                } else {
                    "from its start"
                },
                half(&weights[..12]),
                half(&weights[12..])
            );
        }
        None => {
            let _ = writeln!(
                out,
                "  # diurnal: not fitted, as the trace covers {} and an hourly profile needs a \
                 day; add one by hand",
                duration(fit.span_s)
            );
        }
    }
    let cv = writable_cv(fit.gaps.cv);
    let _ = writeln!(
        out,
        "  burstiness: {{cv: {}}}  # coefficient of variation of the gaps{} (1 is Poisson): \
         Gamma gaps",
        decimal(cv, 3),
        if fit.hourly.is_some() {
            " in the profile's time"
        } else {
            ""
        }
    );
    for (key, lengths) in [
        ("prompt_tokens", &fit.prompt),
        ("output_tokens", &fit.output),
    ] {
        let why = match lengths.written {
            LengthModel::Quantiles if lengths.lognormal_error() > LOGNORMAL_TOLERANCE => format!(
                "the trace's quantiles: a lognormal misses one of its p50, p90, p99 by {}",
                percent_diff(lengths.lognormal_error())
            ),
            LengthModel::Quantiles => "the trace's quantiles".to_string(),
            _ => "lognormal by maximum likelihood, capped at the longest length seen".to_string(),
        };
        let _ = writeln!(out, "  # {key}: {why}");
        let _ = writeln!(
            out,
            "  {key}: {}",
            match lengths.written {
                LengthModel::Quantiles => quantiles_yaml(key, lengths),
                _ => lognormal_yaml(lengths),
            }
        );
    }
    out.push_str("#\n");
    out.push_str(
        "# Goodness of fit. KS: the largest distance between the trace's distribution function \
         and the fit's\n# (0 to 1; for lengths, of the rounded lengths the simulator draws). \
         Percentiles: trace → fit.\n",
    );
    let mut table = Vec::new();
    let g = &fit.gaps;
    let gap_row =
        |fit_name: String, ks: Option<f64>, fitted: Option<[f64; 3]>| {
            let mut row = vec![
                String::new(),
                String::new(),
                String::new(),
                fit_name,
                ks.map_or("–".into(), |d| format!("{d:.3}")),
            ];
            row.extend((0..3).map(|i| {
                fitted.map_or(String::new(), |f| comparison(g.trace_percentiles[i], f[i]))
            }));
            row
        };
    let mut first = gap_row(
        g.gamma.map_or("gamma: every gap equal".into(), |gamma| {
            format!(
                "gamma(shape {}, scale {} s)",
                significant(gamma.shape),
                figure(gamma.scale)
            )
        }),
        g.ks_gamma,
        g.gamma_percentiles,
    );
    first[0] = "gaps (s)".into();
    first[1] = count(g.n as u64);
    first[2] = figure(g.mean_s);
    table.push(first);
    table.push(gap_row(
        "exponential (Poisson)".into(),
        Some(g.ks_exponential),
        None,
    ));
    for (name, lengths) in [
        ("prompt tokens", &fit.prompt),
        ("output tokens", &fit.output),
    ] {
        let written = |model: LengthModel| {
            if lengths.written == model {
                " (written)"
            } else {
                ""
            }
        };
        let row = |label: String, ks: f64, fitted: &[f64; 3]| {
            let mut row = vec![
                String::new(),
                String::new(),
                String::new(),
                label,
                format!("{ks:.3}"),
            ];
            row.extend((0..3).map(|i| comparison(lengths.trace_percentiles[i], fitted[i])));
            row
        };
        let mut first = row(
            format!(
                "lognormal(median {}, σ {}){}",
                significant(lengths.lognormal.median()),
                decimal(lengths.lognormal.sigma, 3),
                written(LengthModel::LogNormal)
            ),
            lengths.ks_lognormal,
            &lengths.lognormal_percentiles,
        );
        first[0] = name.into();
        first[1] = count(lengths.n as u64);
        first[2] = figure(lengths.mean);
        table.push(first);
        table.push(row(
            format!("quantiles{}", written(LengthModel::Quantiles)),
            lengths.ks_quantiles,
            &lengths.quantile_percentiles,
        ));
    }
    let header: Vec<String> = ["figure", "n", "mean", "fit", "KS"]
        .into_iter()
        .map(String::from)
        .chain(
            COMPARED
                .iter()
                .map(|p| format!("p{}", decimal(p * 100.0, 1))),
        )
        .collect();
    for line in text_table(&header, &table, "lrrlrlll").lines() {
        let _ = writeln!(out, "#{}", line.trim_end());
    }
    let others: Vec<(&str, &LengthFit)> = [
        ("prompt_tokens", &fit.prompt),
        ("output_tokens", &fit.output),
    ]
    .into_iter()
    .filter(|(_, l)| l.written == LengthModel::Quantiles)
    .collect();
    if !others.is_empty() {
        out.push_str(
            "# Lognormal lengths instead (simpler to scale and explain, further from the trace):\n",
        );
        for (key, lengths) in others {
            let _ = writeln!(out, "#   {key}: {}", lognormal_yaml(lengths));
        }
    }
    out
}

fn lognormal_yaml(lengths: &LengthFit) -> String {
    format!(
        "{{lognormal: {{median: {}, sigma: {}}}, max: {}}}",
        decimal(lengths.lognormal.median(), 1),
        decimal(lengths.lognormal.sigma, 3),
        decimal(lengths.max, 0)
    )
}

/// `{quantiles: {p0: …, …}}` after `  key: `, the flow mapping wrapped (as YAML allows) so
/// that lines stay within 100 characters, knots aligned.
fn quantiles_yaml(key: &str, lengths: &LengthFit) -> String {
    let opening = "{quantiles: {";
    let indent = key.len() + 4 + opening.len();
    let mut text = String::from(opening);
    let mut column = indent;
    for (i, (p, v)) in lengths.quantiles.knots().iter().enumerate() {
        let knot = format!("p{}: {}", decimal(p * 100.0, 1), decimal(*v, 1));
        if i > 0 {
            text.push(',');
            if column + 2 + knot.len() + 2 > 100 {
                text.push('\n');
                text.push_str(&" ".repeat(indent));
                column = indent;
            } else {
                text.push(' ');
                column += 2;
            }
        }
        text.push_str(&knot);
        column += knot.len();
    }
    text.push_str("}}");
    text
}

/// `trace → fit (±x%)`.
fn comparison(trace: f64, fitted: f64) -> String {
    format!(
        "{} → {} ({})",
        figure(trace),
        figure(fitted),
        percent_diff(fitted / trace - 1.0)
    )
}

/// Four significant digits, or a power of ten below 0.001.
fn figure(value: f64) -> String {
    if value != 0.0 && value.abs() < 1e-3 {
        format!("{value:.2e}")
    } else {
        significant(value)
    }
}

/// A relative difference as a signed percentage: `+5.4%`; `0.0%` when it rounds to zero.
fn percent_diff(share: f64) -> String {
    if !share.is_finite() {
        return "–".into();
    }
    if share.abs() < 0.0005 {
        return "0.0%".into();
    }
    format!("{:+.1}%", share * 100.0)
}

/// A number to at most `decimals` places, without trailing zeros: `766.3`, `2`.
fn decimal(value: f64, decimals: usize) -> String {
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// Seconds as minutes, hours or days for people.
fn duration(seconds: f64) -> String {
    if seconds >= 2.0 * 86_400.0 {
        format!("{:.1} days", seconds / 86_400.0)
    } else if seconds >= 3600.0 {
        format!("{:.1} h", seconds / 3600.0)
    } else if seconds >= 60.0 {
        format!("{:.1} min", seconds / 60.0)
    } else {
        format!("{seconds:.1} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_as_yaml_takes_them() {
        assert_eq!(decimal(766.26, 1), "766.3");
        assert_eq!(decimal(2.0, 1), "2");
        assert_eq!(decimal(99.900_000_1, 1), "99.9");
        assert_eq!(decimal(1000.0, 0), "1000");
        assert_eq!(percent_diff(0.054), "+5.4%");
        assert_eq!(percent_diff(-0.258), "-25.8%");
        assert_eq!(percent_diff(-1e-9), "0.0%");
        assert_eq!(figure(0.000_012_3), "1.23e-5");
        assert_eq!(duration(424.0), "7.1 min");
        assert_eq!(duration(3.0 * 86_400.0), "3.0 days");
    }
}
