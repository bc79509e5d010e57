//! The validation report: `validation.md` (the calibration, error per metric, every row),
//! `validation.csv` (the measurement file with the predictions appended) and the text printed
//! after `fleetsim validate`.

use super::markdown::{section, significant};
use super::tables::{cell, write};
use crate::validate::{ErrorSummary, Validation};
use std::fmt::Write;

/// A signed percentage: `+12.3%`, `−4.0%`.
fn signed_percent(pct: f64) -> String {
    let text = format!("{pct:+.1}%");
    text.replace('-', "−")
}

/// The calibration line: what the predictions used.
fn calibration_text(v: &Validation) -> String {
    let c = &v.calibration;
    format!(
        "compute_efficiency {:.3}, memory_efficiency {:.3}, step_overhead {:.2} ms \
         (link_efficiency {}, collective_latency {} µs); {} simulated per configuration",
        c.efficiencies.compute,
        c.efficiencies.memory,
        c.overheads.step.0 * 1e3,
        c.efficiencies.link,
        c.overheads.collective.0 * 1e6,
        minutes(v.horizon.0),
    )
}

/// `10 min`, `90 s`.
fn minutes(seconds: f64) -> String {
    if seconds >= 60.0 {
        format!("{} min", significant(seconds / 60.0))
    } else {
        format!("{} s", significant(seconds))
    }
}

fn summary_rows(summaries: &[ErrorSummary]) -> Vec<Vec<String>> {
    summaries
        .iter()
        .map(|s| {
            vec![
                s.label.clone(),
                s.rows.to_string(),
                format!("{:.1}%", s.median_abs_pct),
                format!("{:.1}%", s.worst_abs_pct),
                signed_percent(s.median_pct),
            ]
        })
        .collect()
}

const SUMMARY_HEADER: [&str; 5] = [
    "metric",
    "rows",
    "median |error|",
    "worst |error|",
    "median bias",
];

/// The error tables: all rows, or the fitted and the held-out rows apart.
fn error_sections(v: &Validation) -> Vec<(String, Vec<ErrorSummary>)> {
    let held_out = v.fitted.iter().any(|f| !f) && v.fit.is_some();
    if held_out {
        vec![
            (
                "Error on the rows fitted".into(),
                v.by_metric(|i| v.fitted[i]),
            ),
            (
                "Error on the rows held out (predicted, not fitted)".into(),
                v.by_metric(|i| !v.fitted[i]),
            ),
        ]
    } else {
        vec![("Error per metric".into(), v.by_metric(|_| true))]
    }
}

/// `validation.md`.
pub fn validation_markdown(title: &str, v: &Validation) -> String {
    let mut out = format!("# Validation: {title}\n\n");
    let _ = writeln!(out, "Predicted with {}.\n", calibration_text(v));
    if let Some(fit) = &v.fit {
        let _ = writeln!(
            out,
            "The efficiencies and step overhead were fitted to {} of {} rows \
             (mean absolute log error {:.3}, {} simulations of the rows).\n",
            v.fitted.iter().filter(|f| **f).count(),
            v.fitted.len(),
            fit.mean_log_error,
            fit.evaluations
        );
    }
    for (heading, summaries) in error_sections(v) {
        section(
            &mut out,
            &heading,
            &SUMMARY_HEADER,
            "lrrrr",
            &summary_rows(&summaries),
        );
    }
    if v.unpredicted() > 0 {
        let _ = writeln!(
            out,
            "{} rows have no prediction: their runs finished no request.\n",
            v.unpredicted()
        );
    }
    out.push_str("![predicted versus measured](charts/validation.svg)\n\n");
    let rows: Vec<Vec<String>> = v
        .file
        .rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let s = &r.setup;
            vec![
                r.line.to_string(),
                s.model.clone(),
                s.gpu.clone(),
                s.tensor_parallel.to_string(),
                s.concurrency.to_string(),
                format!("{} {}", r.metric.name(), r.statistic.name()),
                significant(r.value),
                v.predicted[i].map_or("–".into(), significant),
                v.error(i).map_or("–".into(), |e| signed_percent(e * 100.0)),
                if v.fit.is_some() && v.fitted[i] {
                    "fit"
                } else {
                    ""
                }
                .into(),
            ]
        })
        .collect();
    section(
        &mut out,
        "Every row",
        &[
            "line",
            "model",
            "GPU",
            "TP",
            "clients",
            "metric",
            "measured",
            "predicted",
            "error",
            "set",
        ],
        "llllrlrrrl",
        &rows,
    );
    out
}

/// `validation.csv`: the file's columns as written, then `predicted`, `error_pct` and
/// `fitted` (`1` for rows the fit used).
pub fn validation_csv(v: &Validation) -> Vec<u8> {
    let header = v
        .file
        .headers
        .iter()
        .cloned()
        .chain(["predicted", "error_pct", "fitted"].map(String::from))
        .collect();
    let width = v.file.headers.len();
    let rows = v.file.rows.iter().enumerate().map(|(i, r)| {
        let mut cells = r.cells.clone();
        cells.resize(width, String::new());
        cells.push(v.predicted[i].map_or(String::new(), cell));
        cells.push(v.error(i).map_or(String::new(), |e| cell(e * 100.0)));
        cells.push(u8::from(v.fit.is_some() && v.fitted[i]).to_string());
        cells
    });
    write(header, rows)
}

/// The text printed after `fleetsim validate`: calibration, fit and error tables.
pub fn validation_text(v: &Validation) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} rows, {} configurations; predicted with {}",
        v.file.rows.len(),
        v.configurations(),
        calibration_text(v)
    );
    if let Some(fit) = &v.fit {
        let c = &fit.calibration;
        let _ = writeln!(
            out,
            "fitted (mean absolute log error {:.3}, {} evaluations); to use it in a scenario:\n  \
             perf: {{compute_efficiency: {:.3}, memory_efficiency: {:.3}, step_overhead: {:.2}ms}}",
            fit.mean_log_error,
            fit.evaluations,
            c.efficiencies.compute,
            c.efficiencies.memory,
            c.overheads.step.0 * 1e3
        );
    }
    for (heading, summaries) in error_sections(v) {
        let _ = writeln!(out, "{heading}:");
        let _ = writeln!(
            out,
            "  {:<24} {:>5} {:>15} {:>14} {:>12}",
            SUMMARY_HEADER[0],
            SUMMARY_HEADER[1],
            SUMMARY_HEADER[2],
            SUMMARY_HEADER[3],
            SUMMARY_HEADER[4]
        );
        for row in summary_rows(&summaries) {
            let _ = writeln!(
                out,
                "  {:<24} {:>5} {:>15} {:>14} {:>12}",
                row[0], row[1], row[2], row[3], row[4]
            );
        }
    }
    out.pop();
    out
}
