//! The estimate and the comparison as text for the terminal: one line per step,
//! `name = formula = numbers = value unit`, and a table of closed form against simulation.

use super::Estimate;
use super::compare::Comparison;
use super::steps::{Unit, num, value_text};
use crate::report::markdown::{percent, usd};
use std::fmt::Write;

/// Columns `text` takes on a terminal: combining marks (the bar of `P̄`) take none.
fn width(text: &str) -> usize {
    text.chars()
        .filter(|c| !('\u{300}'..='\u{36f}').contains(c))
        .count()
}

/// Every section of `e`, its steps aligned on their names, then its notes.
pub fn estimate_text(e: &Estimate) -> String {
    let mut out = format!(
        "{}: {}\none day in closed form: full batches, no queueing, no failures; uncertain \
         values as run 0 draws them\n",
        e.scenario, e.title
    );
    for section in &e.sections {
        let width = section
            .steps
            .iter()
            .map(|s| width(&s.name))
            .max()
            .unwrap_or(0);
        let _ = writeln!(out, "\n{}", section.title);
        for step in &section.steps {
            let pad = width - self::width(&step.name);
            let _ = write!(out, "  {}{} = {}", step.name, " ".repeat(pad), step.formula);
            if !step.numbers.is_empty() {
                let _ = write!(out, " = {}", step.numbers);
            }
            let _ = writeln!(out, " = {}", value_text(step.value, step.unit).trim_end());
        }
    }
    for note in &e.notes {
        let _ = write!(out, "\nnote: {note}");
    }
    if !e.notes.is_empty() {
        out.push('\n');
    }
    out
}

/// A value in a table cell: dollars, a percentage, or a plain number.
fn cell(value: Option<f64>, unit: Unit) -> String {
    match (value, unit) {
        (None, _) => "–".into(),
        (Some(v), Unit::Usd) => usd(v),
        (Some(v), Unit::Share) => percent(v),
        (Some(v), Unit::Of(_)) => num(v),
    }
}

/// A relative difference in percent with its sign, `0.0%` when it rounds to nothing.
fn difference(share: f64) -> String {
    let percent = (share * 1000.0).round() / 10.0;
    if percent == 0.0 {
        "0.0%".into()
    } else {
        format!("{percent:+.1}%")
    }
}

/// The comparison as a table: figure, closed form, simulated, difference, meaning.
pub fn comparison_text(c: &Comparison) -> String {
    let s = &c.simulated;
    let mut out = format!(
        "closed form vs simulation ({}: {} run{} of {:.1} h)\n",
        s.file.display(),
        s.runs,
        if s.runs == 1 { "" } else { "s" },
        s.horizon_s / 3600.0
    );
    let header = [
        "figure",
        "closed form",
        "simulated",
        "difference",
        "what the difference means",
    ];
    let rows: Vec<[String; 5]> = c
        .rows
        .iter()
        .map(|r| {
            [
                r.figure.clone(),
                cell(r.closed_form, r.unit),
                cell(r.simulated, r.unit),
                r.difference().map_or("–".into(), difference),
                r.meaning.clone(),
            ]
        })
        .collect();
    let width = |i: usize| {
        rows.iter()
            .map(|r| r[i].chars().count())
            .chain([header[i].chars().count()])
            .max()
            .unwrap_or(0)
    };
    let widths = [width(0), width(1), width(2), width(3)];
    let line = |cells: [&str; 5]| {
        let pad = |text: &str, w: usize| " ".repeat(w.saturating_sub(text.chars().count()));
        format!(
            "  {}{}  {}{}  {}{}  {}{}  {}",
            cells[0],
            pad(cells[0], widths[0]),
            pad(cells[1], widths[1]),
            cells[1],
            pad(cells[2], widths[2]),
            cells[2],
            pad(cells[3], widths[3]),
            cells[3],
            cells[4]
        )
    };
    let _ = writeln!(out, "{}", line(header));
    for r in &rows {
        let _ = writeln!(
            out,
            "{}",
            line([&r[0], &r[1], &r[2], &r[3], &r[4]]).trim_end()
        );
    }
    for note in &c.notes {
        let _ = writeln!(out, "note: {note}");
    }
    out
}
