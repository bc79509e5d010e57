//! Reports: the run document, its JSON, Markdown and CSV renderings, and the folder they
//! are written to. The only layer that touches the file system for output.

pub mod document;
pub mod markdown;
pub mod output_dir;
pub mod timeseries_csv;

pub use document::RunDocument;
pub use output_dir::OutputDir;

use crate::error::Error;
use crate::scenario::Scenario;
use crate::study::RunResult;
use std::path::{Path, PathBuf};

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

/// Writes `summary.json`, `summary.md` and `timeseries.csv` for a run into `dir`, replacing
/// it whole; returns the document for printing.
pub fn write_run(
    dir: &Path,
    scenario: &Scenario,
    result: &RunResult,
) -> Result<RunDocument, Error> {
    let doc = RunDocument::new(scenario, result);
    let mut json = serde_json::to_vec_pretty(&doc).expect("the run document serialises");
    json.push(b'\n');
    let out = OutputDir::create(dir)?;
    out.write("summary.json", &json)?;
    out.write("summary.md", markdown::summary_markdown(&doc).as_bytes())?;
    out.write("timeseries.csv", &timeseries_csv::timeseries_csv(result))?;
    out.commit()?;
    Ok(doc)
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
