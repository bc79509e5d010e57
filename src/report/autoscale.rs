//! An autoscaling comparison's tables, text and chart: `autoscale.csv` (one row per run and
//! fleet), `autoscale.md` (the answer and the figures side by side) and the chart of the
//! load and the servers on over the day.

use super::charts::{DrawResult, bands, render_png, render_svg};
use super::markdown::{count, figure, percent, section, text_table, usd};
use super::tables::{cell, write};
use crate::autoscale::{COMPARED, Comparison, Row};
use crate::fleet::autoscaler::ScaleTarget;
use crate::study::{HEADLINES, StudyResult};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::fmt::Write;

/// The chart's file stem under `charts/`.
pub const CHART_STEM: &str = "autoscale";
/// The chart's title.
pub const CHART_TITLE: &str = "Offered load and servers on over the day";

/// `autoscale.csv`: `run`, `fleet` (`fixed` or `autoscaled`), then each compared figure.
pub fn autoscale_csv(c: &Comparison) -> Vec<u8> {
    let header = ["run", "fleet"]
        .into_iter()
        .chain(COMPARED.iter().copied())
        .map(String::from)
        .collect();
    let indices: Vec<usize> = COMPARED
        .iter()
        .map(|key| {
            HEADLINES
                .iter()
                .position(|h| h.key == *key)
                .expect("a known headline")
        })
        .collect();
    let fleets = [("fixed", &c.fixed), ("autoscaled", &c.autoscaled)];
    let rows = (0..c.fixed.runs as usize).flat_map(|run| {
        let indices = &indices;
        fleets.iter().map(move |(name, study)| {
            [run.to_string(), name.to_string()]
                .into_iter()
                .chain(indices.iter().map(|&i| cell(study.outputs[run][i])))
                .collect()
        })
    });
    write(header, rows)
}

/// How the autoscaler steers, for people: `32 requests per replica`.
fn target(c: &Comparison) -> String {
    match c.autoscaling.target {
        ScaleTarget::RequestsPerReplica(r) => format!("{r} requests per replica"),
        ScaleTarget::KvCache(share) => format!("{} of each KV cache in use", percent(share)),
    }
}

/// A setting's duration for people: `15 s`, `5 min`, `1.5 h`.
fn span(seconds: f64) -> String {
    let (value, unit) = if seconds >= 3600.0 {
        (seconds / 3600.0, "h")
    } else if seconds >= 60.0 {
        (seconds / 60.0, "min")
    } else {
        (seconds, "s")
    };
    format!("{} {unit}", (value * 1000.0).round() / 1000.0)
}

/// A figure's label, with its unit when the value is shown without one.
fn labelled(row: &Row) -> String {
    match row.unit {
        "$" | "$/day" | "share" | "s" | "1 = yes" | "" => row.label.to_string(),
        unit => format!("{} ({unit})", row.label),
    }
}

/// The two fleets' names, as in the table's header.
fn fleet_names(c: &Comparison) -> (String, String) {
    let a = &c.autoscaling;
    (
        format!("fixed ({} servers)", count(c.fixed_servers)),
        format!(
            "autoscaled ({}–{} servers)",
            count(a.min_servers),
            count(a.max_servers)
        ),
    )
}

/// The answer in a sentence or two: the saving with its interval, and the SLO of each.
pub fn answer_text(c: &Comparison) -> String {
    let cost = c.row("cost_usd_per_day").expect("cost is compared");
    let slo = c.row("slo_met").expect("the SLO is compared");
    let d = &cost.difference;
    let verb = if d.mean <= 0.0 { "saves" } else { "costs" };
    let mut text = format!(
        "Autoscaling {verb} {} per day ({} of the fixed fleet's {}; 95% CI of the run-by-run \
         difference {} – {}), with {} servers on on average against {}.",
        usd(d.mean.abs()),
        percent(d.mean.abs() / cost.fixed.mean),
        usd(cost.fixed.mean),
        usd(d.ci95_low),
        usd(d.ci95_high),
        on_mean(c),
        count(c.fixed_servers),
    );
    if !c.autoscaled.slo.targets.is_empty() {
        let _ = write!(
            text,
            " The SLO is met in {} of runs autoscaled, {} fixed.",
            percent(slo.autoscaled.mean),
            percent(slo.fixed.mean)
        );
    }
    text
}

fn on_mean(c: &Comparison) -> String {
    let on = c.row("servers_on_mean").expect("servers on is compared");
    format!("{:.1}", on.autoscaled.mean)
}

fn table_row(row: &Row) -> Vec<String> {
    let difference = if row.difference.runs > 1 {
        format!(
            "{} ({} – {})",
            figure(row.difference.mean, row.unit),
            figure(row.difference.ci95_low, row.unit),
            figure(row.difference.ci95_high, row.unit)
        )
    } else {
        figure(row.difference.mean, row.unit)
    };
    vec![
        labelled(row),
        figure(row.fixed.mean, row.unit),
        figure(row.autoscaled.mean, row.unit),
        difference,
    ]
}

/// `autoscale.md`: the settings, the answer, both fleets side by side, and the chart.
pub fn autoscale_markdown(c: &Comparison) -> String {
    let a = &c.autoscaling;
    let mut out = format!(
        "# Autoscaling: {}\n\n{} runs with common random numbers (run i of both fleets sees the \
         same requests). Fixed: {} servers all day. Autoscaled: {}–{} servers in steps of {}, \
         {} at midnight, steering to {}, deciding every {}, serving {} after a server is asked \
         for, releasing after {} of lower demand.\n\n**{}**\n\n",
        c.name,
        c.fixed.runs,
        count(c.fixed_servers),
        count(a.min_servers),
        count(a.max_servers),
        count(a.unit),
        count(a.initial_servers),
        target(c),
        span(a.interval.0),
        span(a.provisioning_delay.0),
        span(a.scale_down_delay.0),
        answer_text(c),
    );
    let (fixed, autoscaled) = fleet_names(c);
    let rows: Vec<Vec<String>> = c.rows().iter().map(table_row).collect();
    section(
        &mut out,
        "Fixed against autoscaled (means across runs)",
        &[
            "figure",
            &fixed,
            &autoscaled,
            "difference, run by run (95% CI)",
        ],
        "lrrr",
        &rows,
    );
    let _ = writeln!(
        out,
        "## {CHART_TITLE}\n\n![{CHART_TITLE}](charts/{CHART_STEM}.svg)\n\nPer-run figures are \
         in `autoscale.csv`; `fleetsim run` on the scenario writes the autoscaled fleet's full \
         study."
    );
    out
}

/// The lines printed after a comparison.
pub fn autoscale_text(c: &Comparison) -> String {
    let (fixed, autoscaled) = fleet_names(c);
    let header = [String::new(), fixed, autoscaled];
    let rows: Vec<Vec<String>> = c
        .rows()
        .iter()
        .map(|row| {
            vec![
                labelled(row),
                figure(row.fixed.mean, row.unit),
                figure(row.autoscaled.mean, row.unit),
            ]
        })
        .collect();
    format!(
        "{}: {} runs\n{}{}",
        c.name,
        c.fixed.runs,
        text_table(&header, &rows, "lrr"),
        answer_text(c)
    )
}

/// Top: requests arriving per second; bottom: servers on, both fleets.
fn draw<DB: DrawingBackend>(c: &Comparison, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let body = root.titled(CHART_TITLE, ("sans-serif", 26))?;
    let (top, bottom) = body.split_vertically(super::charts::SIZE.1 / 2 - 20);
    let load: [(&StudyResult, &str); 1] = [(&c.autoscaled, "")];
    bands(
        &load,
        "arrivals_per_s",
        "requests arriving per second",
        &top,
    )?;
    let fleets: [(&StudyResult, &str); 2] = [(&c.fixed, "fixed"), (&c.autoscaled, "autoscaled")];
    bands(&fleets, "servers_on", "servers on", &bottom)
}

/// The chart as SVG text.
pub fn svg(c: &Comparison) -> Result<String, String> {
    render_svg(|root| draw(c, root))
}

/// The chart as a PNG file at `path`.
pub fn png(c: &Comparison, path: &std::path::Path) -> Result<(), String> {
    render_png(path, |root| draw(c, root))
}
