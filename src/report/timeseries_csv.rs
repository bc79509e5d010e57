//! `timeseries.csv`: one row per interval, the columns of [`TimeSeriesRow`].

use crate::stats::TimeSeriesRow;

/// The CSV text of `rows`, with a header.
pub fn timeseries_csv(rows: &[TimeSeriesRow]) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer
            .serialize(row)
            .expect("serialising plain numbers into memory cannot fail");
    }
    writer
        .into_inner()
        .expect("flushing into memory cannot fail")
}
