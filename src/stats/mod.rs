//! Statistics of a run in memory that does not grow with the number of requests: streaming
//! latency quantiles, time-weighted levels, per-interval series and the run summary.

pub mod across_runs;
pub mod exact;
pub mod latency;
pub mod recorder;
pub mod slo;
pub mod special;
pub mod summary;
pub mod timeseries;

pub use across_runs::{Spread, quantile, rank_correlation, spread};
pub use exact::ExactSum;
pub use latency::{LatencyStats, LatencySummary};
pub use recorder::{
    Completion, Counters, LatencyDistributions, PrefixCounts, Recorder, RunMeasurements, RunStep,
    TokensOut,
};
pub use slo::{LatencyMetric, Slo, SloTarget};
pub use summary::{Capacity, Latencies, PrefixCacheSummary, RunSummary, TimeSeriesRow};
pub use timeseries::TimeSeries;
