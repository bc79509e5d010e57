//! Reports: the run document, its JSON, Markdown and CSV renderings, and the folder they
//! are written to. The only layer that touches the file system for output.

pub mod autoscale;
pub mod charts;
pub mod document;
pub mod grow;
pub mod grow_charts;
pub mod html;
pub mod markdown;
pub mod output_dir;
pub mod sweep;
pub mod sweep_charts;
pub mod tables;
pub mod validation;
pub mod validation_chart;

pub use document::{RunDocument, StudyDocument};
pub use output_dir::OutputDir;

use crate::autoscale::Comparison;
use crate::error::Error;
use crate::grow::GrowthResult;
use crate::study::StudyResult;
use crate::sweep::SweepResult;
use crate::validate::Validation;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// The default results folder of a scenario: `results/<name>`, with characters that are
/// awkward in file names replaced by `-`.
pub fn default_output_dir(scenario_name: &str) -> PathBuf {
    let safe: String = scenario_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let safe = safe.trim_start_matches('.');
    Path::new("results").join(if safe.is_empty() { "scenario" } else { safe })
}

/// Writes a study into `dir`, replacing it whole: `summary.json`, `summary.md`, `runs.csv`,
/// `timeseries.csv`, `charts/` (SVG and PNG) and `report.html`. Returns the study document and
/// run 0's, for printing.
pub fn write_study(
    dir: &Path,
    study: &StudyResult,
    cancel: Option<&AtomicBool>,
) -> Result<(StudyDocument, RunDocument), Error> {
    let doc = StudyDocument::new(study);
    let run = RunDocument::new(&study.first_scenario, &study.first_run);
    let mut json = serde_json::to_vec_pretty(&doc).expect("the study document serialises");
    json.push(b'\n');
    let markdown = markdown::study_markdown(&doc, &run);

    let out = OutputDir::create(dir)?;
    out.write("summary.json", &json)?;
    out.write("summary.md", markdown.as_bytes())?;
    out.write("runs.csv", &tables::runs_csv(study))?;
    out.write("timeseries.csv", &tables::timeseries_csv(study))?;
    out.create_dir("charts")?;
    let mut svgs = Vec::new();
    for kind in charts::ChartKind::ALL {
        let svg = charts::svg(kind, study).map_err(|e| chart_error(dir, kind, e))?;
        out.write(&format!("charts/{}.svg", kind.stem()), svg.as_bytes())?;
        let png = out.path(&format!("charts/{}.png", kind.stem()));
        charts::png(kind, study, &png).map_err(|e| chart_error(dir, kind, e))?;
        svgs.push(html::Figure {
            stem: kind.stem(),
            title: kind.title(),
            svg,
        });
    }
    let title = format!("fleetsim: {}", doc.scenario.name);
    out.write(
        "report.html",
        html::report_html(&title, &markdown, &svgs).as_bytes(),
    )?;
    if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
        return Err(Error::Interrupted);
    }
    out.commit()?;
    Ok((doc, run))
}

/// Writes a sweep into `dir`, replacing it whole: `sweep.csv`, `sweep.md`, `charts/` (SVG
/// and PNG of every [`sweep_charts::SweepChart`]) and `report.html`.
pub fn write_sweep(dir: &Path, result: &SweepResult) -> Result<(), Error> {
    let out = OutputDir::create(dir)?;
    out.write("sweep.csv", &sweep::sweep_csv(result))?;
    out.create_dir("charts")?;
    let mut figures = Vec::new();
    for chart in sweep_charts::SweepChart::ALL {
        let failed = |message: String| Error::Output {
            path: dir.join("charts").join(chart.stem()),
            source: std::io::Error::other(message),
        };
        let svg = sweep_charts::svg(chart, result).map_err(failed)?;
        out.write(&format!("charts/{}.svg", chart.stem()), svg.as_bytes())?;
        sweep_charts::png(
            chart,
            result,
            &out.path(&format!("charts/{}.png", chart.stem())),
        )
        .map_err(failed)?;
        figures.push(html::Figure {
            stem: chart.stem(),
            title: chart.title(),
            svg,
        });
    }
    let charts: Vec<(&str, &str)> = sweep_charts::SweepChart::ALL
        .iter()
        .map(|c| (c.stem(), c.title()))
        .collect();
    let markdown = sweep::sweep_markdown(result, &charts);
    out.write("sweep.md", markdown.as_bytes())?;
    let title = format!("fleetsim sweep: {}", result.name);
    out.write(
        "report.html",
        html::report_html(&title, &markdown, &figures).as_bytes(),
    )?;
    out.commit()?;
    Ok(())
}

/// Writes an autoscaling comparison into `dir`, replacing it whole: `autoscale.csv`,
/// `autoscale.md`, `charts/autoscale.{svg,png}` and `report.html`.
pub fn write_autoscale(dir: &Path, c: &Comparison) -> Result<(), Error> {
    let out = OutputDir::create(dir)?;
    out.write("autoscale.csv", &autoscale::autoscale_csv(c))?;
    out.create_dir("charts")?;
    let stem = autoscale::CHART_STEM;
    let failed = |message: String| Error::Output {
        path: dir.join("charts").join(stem),
        source: std::io::Error::other(message),
    };
    let svg = autoscale::svg(c).map_err(failed)?;
    out.write(&format!("charts/{stem}.svg"), svg.as_bytes())?;
    autoscale::png(c, &out.path(&format!("charts/{stem}.png"))).map_err(failed)?;
    let markdown = autoscale::autoscale_markdown(c);
    out.write("autoscale.md", markdown.as_bytes())?;
    let figures = [html::Figure {
        stem,
        title: autoscale::CHART_TITLE,
        svg,
    }];
    let title = format!("fleetsim autoscale: {}", c.name);
    out.write(
        "report.html",
        html::report_html(&title, &markdown, &figures).as_bytes(),
    )?;
    out.commit()?;
    Ok(())
}

/// Writes a growth plan into `dir`, replacing it whole: `grow.csv`, `grow.md`, `charts/`
/// (SVG and PNG of every [`grow_charts::GrowChart`]) and `report.html`.
pub fn write_growth(dir: &Path, result: &GrowthResult) -> Result<(), Error> {
    let out = OutputDir::create(dir)?;
    out.write("grow.csv", &grow::grow_csv(result))?;
    out.create_dir("charts")?;
    let mut figures = Vec::new();
    for chart in grow_charts::GrowChart::ALL {
        let failed = |message: String| Error::Output {
            path: dir.join("charts").join(chart.stem()),
            source: std::io::Error::other(message),
        };
        let svg = grow_charts::svg(chart, result).map_err(failed)?;
        out.write(&format!("charts/{}.svg", chart.stem()), svg.as_bytes())?;
        grow_charts::png(
            chart,
            result,
            &out.path(&format!("charts/{}.png", chart.stem())),
        )
        .map_err(failed)?;
        figures.push(html::Figure {
            stem: chart.stem(),
            title: chart.title(),
            svg,
        });
    }
    let charts: Vec<(&str, &str)> = grow_charts::GrowChart::ALL
        .iter()
        .map(|c| (c.stem(), c.title()))
        .collect();
    let markdown = grow::grow_markdown(result, &charts);
    out.write("grow.md", markdown.as_bytes())?;
    let title = format!("fleetsim grow: {}", result.name);
    out.write(
        "report.html",
        html::report_html(&title, &markdown, &figures).as_bytes(),
    )?;
    out.commit()?;
    Ok(())
}

/// Writes a validation into `dir`, replacing it whole: `validation.md`, `validation.csv` and
/// `charts/validation.{svg,png}`.
pub fn write_validation(dir: &Path, title: &str, v: &Validation) -> Result<(), Error> {
    let out = OutputDir::create(dir)?;
    out.write(
        "validation.md",
        validation::validation_markdown(title, v).as_bytes(),
    )?;
    out.write("validation.csv", &validation::validation_csv(v))?;
    out.create_dir("charts")?;
    let failed = |message: String| Error::Output {
        path: dir.join("charts").join("validation"),
        source: std::io::Error::other(message),
    };
    out.write(
        "charts/validation.svg",
        validation_chart::svg(v).map_err(failed)?.as_bytes(),
    )?;
    validation_chart::png(v, &out.path("charts/validation.png")).map_err(failed)?;
    out.commit()?;
    Ok(())
}

fn chart_error(dir: &Path, kind: charts::ChartKind, message: String) -> Error {
    Error::Output {
        path: dir.join("charts").join(kind.stem()),
        source: std::io::Error::other(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_folders_are_safe_names() {
        assert_eq!(
            default_output_dir("quickstart"),
            Path::new("results/quickstart")
        );
        assert_eq!(default_output_dir("a b/c"), Path::new("results/a-b-c"));
        assert_eq!(default_output_dir("..x"), Path::new("results/x"));
        assert_eq!(default_output_dir(".."), Path::new("results/scenario"));
    }
}
