//! Latency targets (service-level objectives) and whether a run met them.

use super::latency::LatencySummary;
use super::summary::Latencies;
use serde::Serialize;

/// Which latency a target bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LatencyMetric {
    /// Time to first token.
    Ttft,
    /// Time per output token, per request.
    Tpot,
    /// Inter-token latency: each gap between output tokens.
    Itl,
    /// End to end.
    E2e,
}

impl LatencyMetric {
    /// The name used in scenarios and reports.
    pub fn name(self) -> &'static str {
        match self {
            LatencyMetric::Ttft => "ttft",
            LatencyMetric::Tpot => "tpot",
            LatencyMetric::Itl => "itl",
            LatencyMetric::E2e => "e2e",
        }
    }

    fn of(self, latencies: &Latencies) -> &LatencySummary {
        match self {
            LatencyMetric::Ttft => &latencies.ttft,
            LatencyMetric::Tpot => &latencies.tpot,
            LatencyMetric::Itl => &latencies.itl,
            LatencyMetric::E2e => &latencies.e2e,
        }
    }
}

/// One target: the `percentile`-th percentile of `metric` at most `max_s` seconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct SloTarget {
    /// The latency.
    pub metric: LatencyMetric,
    /// 50, 90 or 99.
    pub percentile: u8,
    /// The bound, seconds.
    pub max_s: f64,
}

impl SloTarget {
    /// `ttft_p99`.
    pub fn name(&self) -> String {
        format!("{}_p{}", self.metric.name(), self.percentile)
    }

    /// The run's value of the bounded percentile, if it has one.
    pub fn value(&self, latencies: &Latencies) -> Option<f64> {
        let summary = self.metric.of(latencies);
        match self.percentile {
            50 => summary.p50_s,
            90 => summary.p90_s,
            _ => summary.p99_s,
        }
    }

    /// Whether a run met this target; a run with no such latency (nothing completed) did not.
    pub fn met(&self, latencies: &Latencies) -> bool {
        self.value(latencies).is_some_and(|v| v <= self.max_s)
    }
}

/// All targets of a scenario; met when every one is.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Slo {
    /// The targets.
    pub targets: Vec<SloTarget>,
}

impl Slo {
    /// Whether a run met every target (trivially, when there are none).
    pub fn met(&self, latencies: &Latencies) -> bool {
        self.targets.iter().all(|t| t.met(latencies))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn latencies(ttft_p99: f64, tpot_p99: f64) -> Latencies {
        let summary = |p99: f64| LatencySummary {
            count: 10,
            mean_s: Some(p99 / 2.0),
            p50_s: Some(p99 / 2.0),
            p90_s: Some(p99 * 0.9),
            p99_s: Some(p99),
            max_s: Some(p99),
        };
        Latencies {
            ttft: summary(ttft_p99),
            tpot: summary(tpot_p99),
            itl: summary(tpot_p99),
            e2e: summary(30.0),
        }
    }

    #[test]
    fn a_run_meets_the_slo_when_every_target_holds() {
        let slo = Slo {
            targets: vec![
                SloTarget {
                    metric: LatencyMetric::Ttft,
                    percentile: 99,
                    max_s: 2.0,
                },
                SloTarget {
                    metric: LatencyMetric::Tpot,
                    percentile: 99,
                    max_s: 0.1,
                },
            ],
        };
        assert!(slo.met(&latencies(1.9, 0.08)));
        assert!(slo.met(&latencies(2.0, 0.1)), "the bound itself meets it");
        assert!(!slo.met(&latencies(2.1, 0.08)));
        assert!(!slo.met(&latencies(1.0, 0.11)));
        assert_eq!(slo.targets[0].name(), "ttft_p99");
        assert!(Slo::default().met(&latencies(100.0, 100.0)));
        let mut empty = latencies(1.0, 0.05);
        empty.ttft = LatencySummary::default();
        assert!(!slo.met(&empty), "no first token, no SLO");
    }
}
