//! `timeseries.csv`: one row per interval, the engine's columns ([`TimeSeriesRow`]) then the
//! facility's ([`FacilityRow`]).
//!
//! [`TimeSeriesRow`]: crate::stats::TimeSeriesRow
//! [`FacilityRow`]: crate::facility::FacilityRow

use crate::study::RunResult;

/// The CSV text of a run's intervals, with a header.
pub fn timeseries_csv(result: &RunResult) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in result.timeseries.iter().zip(&result.power) {
        writer
            .serialize(row)
            .expect("serialising plain numbers into memory cannot fail");
    }
    writer
        .into_inner()
        .expect("flushing into memory cannot fail")
}
