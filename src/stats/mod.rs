//! Statistics of a run in memory that does not grow with the number of requests: streaming
//! latency quantiles, time-weighted levels, per-interval series and the run summary.

pub mod latency;
pub mod recorder;
pub mod summary;
pub mod timeseries;

pub use latency::{LatencyStats, LatencySummary};
pub use recorder::{Counters, Recorder};
pub use summary::{Capacity, RunSummary, TimeSeriesRow};
pub use timeseries::TimeSeries;
