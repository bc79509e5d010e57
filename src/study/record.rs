//! What a study keeps of one run — its [`Record`] — and how a record is written down, so that
//! a run simulated elsewhere (by a shard of the study, on another machine) gathers into the
//! same study, bit for bit, as one simulated here.
//!
//! Every number reads back as the value written: finite numbers are JSON numbers (serde_json
//! writes the shortest decimal that reads back exactly, and reads with correct rounding), and
//! a headline a run has no value for (NaN) is the string `NaN`. Latency histograms are
//! written as their buckets ([`crate::stats::LatencyStats`]).

use super::{HEADLINES, RunResult, SERIES};
use crate::cost::Ledger;
use crate::cost::ledger::category;
use crate::facility::EnergySummary;
use crate::scenario::{Drawn, Scenario};
use crate::stats::{LatencyDistributions, RunSummary};
use serde::de::{Error as _, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// What a study keeps of one run: its draws, its headline figures and per-interval series,
/// its bill, its latency distributions, and for run 0 the detail the report shows.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Record {
    /// The uncertain inputs as the run drew them.
    pub inputs: Vec<Drawn>,
    /// The run's headline figures, aligned with [`HEADLINES`]; NaN where the run has none.
    #[serde(with = "exact_list")]
    pub outputs: Vec<f64>,
    /// Per interval, each of [`SERIES`].
    #[serde(with = "exact_table")]
    pub series: Vec<Vec<f64>>,
    /// The bill's lines: category, item, $ per day.
    #[serde(deserialize_with = "cost_lines")]
    pub cost_lines: Vec<(&'static str, String, f64)>,
    /// The run's latency distributions, merged into the study's.
    pub latency: LatencyDistributions,
    /// Run 0's detail; `None` for every other run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<RunDetail>,
}

/// What the study's report shows of run 0 beyond its record.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunDetail {
    /// The engine's figures.
    pub summary: RunSummary,
    /// Energy by where it goes.
    pub energy: EnergySummary,
    /// The bill.
    pub cost: Ledger,
    /// Each interval's start and length: the time axis of the study's bands.
    pub intervals: Vec<Interval>,
}

/// One time-series interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Start, seconds from midnight.
    pub t_start_s: f64,
    /// Length, seconds.
    pub duration_s: f64,
}

impl Record {
    /// The record of `result`, a run of `scenario`; with its detail when `keep_detail`.
    pub fn of(scenario: &Scenario, result: RunResult, keep_detail: bool) -> Record {
        let series = result
            .timeseries
            .iter()
            .zip(&result.power)
            .map(|(t, p)| SERIES.iter().map(|s| (s.value)(t, p)).collect())
            .collect();
        Record {
            inputs: scenario.inputs.clone(),
            outputs: HEADLINES
                .iter()
                .map(|h| h.value(&result, &scenario.slo))
                .collect(),
            series,
            cost_lines: result
                .cost
                .lines
                .iter()
                .map(|l| (l.category, l.item.clone(), l.usd_per_day))
                .collect(),
            detail: keep_detail.then(|| RunDetail {
                summary: result.summary,
                energy: result.energy,
                cost: result.cost,
                intervals: result
                    .timeseries
                    .iter()
                    .map(|row| Interval {
                        t_start_s: row.t_start_s,
                        duration_s: row.duration_s,
                    })
                    .collect(),
            }),
            latency: result.latency,
        }
    }
}

impl Record {
    /// Checks that a record read back fits run `run` of a study of `intervals` time-series
    /// intervals: a figure for every headline, a value of every series in every interval, and
    /// run 0's detail — so that a damaged file is an error, not a wrong study.
    pub fn check(&self, run: u64, intervals: usize) -> Result<(), String> {
        if self.outputs.len() != HEADLINES.len() {
            return Err(format!(
                "{} headline figures, expected {}",
                self.outputs.len(),
                HEADLINES.len()
            ));
        }
        if self.series.len() != intervals || self.series.iter().any(|r| r.len() != SERIES.len()) {
            return Err(format!(
                "series of {} intervals, expected {intervals} of {} values each",
                self.series.len(),
                SERIES.len()
            ));
        }
        match (&self.detail, run) {
            (None, 0) => Err("run 0 without its detail".into()),
            (Some(detail), 0) if detail.intervals.len() != intervals => Err(format!(
                "run 0's detail has {} intervals, expected {intervals}",
                detail.intervals.len()
            )),
            (Some(_), 1..) => Err(format!("run {run} with run 0's detail")),
            _ => Ok(()),
        }
    }
}

/// An `f64` written so that it reads back as the same value: NaN and the infinities, which
/// JSON has no numbers for, as `NaN`, `inf` and `-inf`.
struct Exact(f64);

impl Serialize for Exact {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            v if v.is_finite() => serializer.serialize_f64(v),
            v if v.is_nan() => serializer.serialize_str("NaN"),
            v if v > 0.0 => serializer.serialize_str("inf"),
            _ => serializer.serialize_str("-inf"),
        }
    }
}

impl<'de> Deserialize<'de> for Exact {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ExactVisitor;
        impl Visitor<'_> for ExactVisitor {
            type Value = Exact;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number, NaN, inf or -inf")
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Exact, E> {
                Ok(Exact(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Exact, E> {
                Ok(Exact(v as f64))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Exact, E> {
                Ok(Exact(v as f64))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Exact, E> {
                match v {
                    "NaN" => Ok(Exact(f64::NAN)),
                    "inf" => Ok(Exact(f64::INFINITY)),
                    "-inf" => Ok(Exact(f64::NEG_INFINITY)),
                    _ => Err(E::custom(format!(
                        "expected a number, NaN, inf or -inf, got `{v}`"
                    ))),
                }
            }
        }
        deserializer.deserialize_any(ExactVisitor)
    }
}

/// A list of numbers, each [`Exact`].
mod exact_list {
    use super::Exact;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(values: &[f64], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(values.iter().map(|v| Exact(*v)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<f64>, D::Error> {
        Ok(Vec::<Exact>::deserialize(deserializer)?
            .into_iter()
            .map(|e| e.0)
            .collect())
    }
}

/// A table of numbers, row by row, each [`Exact`].
mod exact_table {
    use super::Exact;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(rows: &[Vec<f64>], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(
            rows.iter()
                .map(|row| row.iter().map(|v| Exact(*v)).collect::<Vec<_>>()),
        )
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<Vec<f64>>, D::Error> {
        Ok(Vec::<Vec<Exact>>::deserialize(deserializer)?
            .into_iter()
            .map(|row| row.into_iter().map(|e| e.0).collect())
            .collect())
    }
}

/// Bill lines read back with the bill's own category names.
fn cost_lines<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<(&'static str, String, f64)>, D::Error> {
    Vec::<(String, String, f64)>::deserialize(deserializer)?
        .into_iter()
        .map(|(name, item, usd)| match category(&name) {
            Some(c) => Ok((c, item, usd)),
            None => Err(D::Error::custom(format!("unknown bill category `{name}`"))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Numbers that are easy to lose on the way through text: the shortest and longest
    /// decimals, subnormals, signed zero, the extremes, NaN and the infinities.
    const AWKWARD: [f64; 12] = [
        0.1,
        1.0 / 3.0,
        f64::from_bits(1),
        -0.0,
        f64::MAX,
        f64::MIN_POSITIVE,
        1e23,
        8.589973e9,
        std::f64::consts::PI,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
    ];

    #[test]
    fn numbers_read_back_as_the_same_bits() {
        let mut values = AWKWARD.to_vec();
        // And many arbitrary ones: a sweep of bit patterns across the exponents.
        let mut bits = 0x3ff0_0000_0000_0001u64;
        for _ in 0..20_000 {
            bits = bits
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let v = f64::from_bits(bits);
            if v.is_finite() {
                values.push(v);
            }
        }
        let json =
            serde_json::to_string(&values.iter().map(|v| Exact(*v)).collect::<Vec<_>>()).unwrap();
        let back: Vec<Exact> = serde_json::from_str(&json).unwrap();
        assert_eq!(back.len(), values.len());
        for (a, b) in values.iter().zip(&back) {
            if a.is_nan() {
                assert!(b.0.is_nan());
            } else {
                assert_eq!(a.to_bits(), b.0.to_bits(), "{a:e} read back as {:e}", b.0);
            }
        }
        assert!(serde_json::from_str::<Exact>("\"nan\"").is_err());
    }

    #[test]
    fn bill_lines_keep_their_categories() {
        let lines: Vec<(&'static str, String, f64)> = vec![("energy", "cooling".into(), 1.5)];
        let json = serde_json::to_string(&lines).unwrap();
        let mut de = serde_json::Deserializer::from_str(&json);
        assert_eq!(cost_lines(&mut de).unwrap(), lines);
        let mut de = serde_json::Deserializer::from_str(r#"[["snacks", "x", 1.0]]"#);
        assert!(cost_lines(&mut de).is_err());
    }
}
