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
pub mod shard;
pub mod sweep;
pub mod sweep_charts;
pub mod tables;
pub mod validation;
pub mod validation_chart;

pub use document::{RunDocument, StudyDocument};
pub use output_dir::OutputDir;
pub use shard::ShardFolder;

use crate::autoscale::Comparison;
use crate::error::Error;
use crate::grow::GrowthResult;
use crate::study::StudyResult;
use crate::sweep::SweepResult;
use crate::validate::Validation;
use charts::{ChartSet, render_png, render_svg};
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
    let svgs = charts::ChartKind::ALL
        .into_iter()
        .map(|kind| {
            write_chart(
                &out,
                dir,
                (kind.stem(), kind.title()),
                || charts::svg(kind, study),
                |path| charts::png(kind, study, path),
            )
        })
        .collect::<Result<Vec<_>, Error>>()?;
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
    write_charted::<sweep_charts::SweepChart>(
        dir,
        "sweep",
        &format!("fleetsim sweep: {}", result.name),
        &sweep::sweep_csv(result),
        result,
        |charts| sweep::sweep_markdown(result, charts),
    )
}

/// Writes an autoscaling comparison into `dir`, replacing it whole: `autoscale.csv`,
/// `autoscale.md`, `charts/autoscale.{svg,png}` and `report.html`.
pub fn write_autoscale(dir: &Path, c: &Comparison) -> Result<(), Error> {
    let out = OutputDir::create(dir)?;
    out.write("autoscale.csv", &autoscale::autoscale_csv(c))?;
    out.create_dir("charts")?;
    let figure = write_chart(
        &out,
        dir,
        (autoscale::CHART_STEM, autoscale::CHART_TITLE),
        || autoscale::svg(c),
        |path| autoscale::png(c, path),
    )?;
    let markdown = autoscale::autoscale_markdown(c);
    let title = format!("fleetsim autoscale: {}", c.name);
    finish(out, "autoscale.md", &title, &markdown, &[figure])
}

/// Writes a growth plan into `dir`, replacing it whole: `grow.csv`, `grow.md`, `charts/`
/// (SVG and PNG of every [`grow_charts::GrowChart`]) and `report.html`.
pub fn write_growth(dir: &Path, result: &GrowthResult) -> Result<(), Error> {
    write_charted::<grow_charts::GrowChart>(
        dir,
        "grow",
        &format!("fleetsim grow: {}", result.name),
        &grow::grow_csv(result),
        result,
        |charts| grow::grow_markdown(result, charts),
    )
}

/// Writes into `dir`, replacing it whole, `NAME.csv` (`csv`), every chart of the family `C`
/// drawn from `data` (SVG and PNG under `charts/`), `NAME.md` (what `markdown` makes of the
/// charts' stems and titles) and `report.html` titled `title`.
fn write_charted<C: ChartSet>(
    dir: &Path,
    name: &str,
    title: &str,
    csv: &[u8],
    data: &C::Data,
    markdown: impl FnOnce(&[(&str, &str)]) -> String,
) -> Result<(), Error> {
    let out = OutputDir::create(dir)?;
    out.write(&format!("{name}.csv"), csv)?;
    out.create_dir("charts")?;
    let figures = C::ALL
        .iter()
        .map(|&chart| {
            write_chart(
                &out,
                dir,
                (chart.stem(), chart.title()),
                || render_svg(|root| chart.draw(data, root)),
                |path| render_png(path, |root| chart.draw(data, root)),
            )
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let charts: Vec<(&str, &str)> = figures.iter().map(|f| (f.stem, f.title)).collect();
    finish(
        out,
        &format!("{name}.md"),
        title,
        &markdown(&charts),
        &figures,
    )
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
    write_chart(
        &out,
        dir,
        ("validation", validation_chart::TITLE),
        || validation_chart::svg(v),
        |path| validation_chart::png(v, path),
    )?;
    out.commit()?;
    Ok(())
}

/// Writes the Markdown report as `name` and `report.html` (the same report with `figures`
/// inline, titled `title`), then puts the folder in place.
fn finish(
    out: OutputDir,
    name: &str,
    title: &str,
    markdown: &str,
    figures: &[html::Figure],
) -> Result<(), Error> {
    out.write(name, markdown.as_bytes())?;
    out.write(
        "report.html",
        html::report_html(title, markdown, figures).as_bytes(),
    )?;
    out.commit()?;
    Ok(())
}

/// Writes one chart as `charts/<stem>.svg` and `charts/<stem>.png` into `out` (whose final
/// place is `dir`, named in errors) and returns it as a figure for the HTML report.
fn write_chart(
    out: &OutputDir,
    dir: &Path,
    (stem, title): (&'static str, &'static str),
    svg: impl FnOnce() -> Result<String, String>,
    png: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<html::Figure, Error> {
    let failed = |message: String| Error::Output {
        path: dir.join("charts").join(stem),
        source: std::io::Error::other(message),
    };
    let svg = svg().map_err(failed)?;
    out.write(&format!("charts/{stem}.svg"), svg.as_bytes())?;
    png(&out.path(&format!("charts/{stem}.png"))).map_err(failed)?;
    Ok(html::Figure { stem, title, svg })
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
