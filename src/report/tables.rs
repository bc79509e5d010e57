//! The study's CSV tables: `runs.csv` (one row per run: its uncertain inputs and headline
//! figures) and `timeseries.csv` (one row per interval: p5, p50 and p95 across runs).

use crate::study::{HEADLINES, SERIES, StudyResult};

/// A number for CSV: the shortest form that reads back exactly; empty when missing.
pub(crate) fn cell(value: f64) -> String {
    if value.is_finite() {
        value.to_string()
    } else {
        String::new()
    }
}

pub(crate) fn write(header: Vec<String>, rows: impl Iterator<Item = Vec<String>>) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut put = |record: Vec<String>| {
        writer
            .write_record(&record)
            .expect("writing into memory cannot fail");
    };
    put(header);
    rows.for_each(put);
    writer
        .into_inner()
        .expect("flushing into memory cannot fail")
}

/// `runs.csv`: `run`, then `input:<field>` for each uncertain input, then each headline.
pub fn runs_csv(study: &StudyResult) -> Vec<u8> {
    let header = std::iter::once("run".to_string())
        .chain(study.inputs.iter().map(|i| format!("input:{}", i.field)))
        .chain(HEADLINES.iter().map(|h| h.key.to_string()))
        .collect();
    let rows = study.outputs.iter().enumerate().map(|(run, outputs)| {
        std::iter::once(run.to_string())
            .chain(study.inputs.iter().map(|i| cell(i.values[run])))
            .chain(outputs.iter().map(|v| cell(*v)))
            .collect()
    });
    write(header, rows)
}

/// `timeseries.csv`: `t_start_s`, `duration_s`, then `<series>_p5`, `_p50`, `_p95`.
pub fn timeseries_csv(study: &StudyResult) -> Vec<u8> {
    let header = ["t_start_s", "duration_s"]
        .iter()
        .map(|s| s.to_string())
        .chain(
            SERIES
                .iter()
                .flat_map(|s| ["p5", "p50", "p95"].map(|p| format!("{}_{p}", s.key))),
        )
        .collect();
    let rows = study.bands.iter().map(|band| {
        [cell(band.t_start_s), cell(band.duration_s)]
            .into_iter()
            .chain(band.values.iter().flat_map(|v| v.map(cell)))
            .collect()
    });
    write(header, rows)
}
