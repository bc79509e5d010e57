//! Numbers that may be uncertain: any numeric scenario value is either a plain number (with
//! its unit) or a distribution drawn once per run.
//!
//! ```yaml
//! memory_efficiency: 0.85                                   # fixed
//! memory_efficiency: {uniform: [0.75, 0.9]}                 # a ≤ x ≤ b
//! pue: {normal: {mean: 1.2, sd: 0.03}}
//! rate: {lognormal: {median: 30/s, sigma: 0.2}}
//! gpu_hour: {triangular: [1.8, 2.5, 4.0]}                   # min, mode, max
//! servers: {choice: [4, 6, 8], weights: [0.2, 0.5, 0.3]}
//! ```
//!
//! Parameters take the value's own units (`{uniform: [2/s, 4/s]}`). Whole-number fields draw
//! whole numbers: uniform over the integers in `[a, b]`, other shapes rounded.

use crate::units::{Bytes, BytesPerSec, FlopsPerSec, PerSec, Ratio, Seconds, Watts};
use rand::RngExt;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, LogNormal, Normal, Triangular};
use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, IntoDeserializer, MapAccess, Visitor};
use std::fmt;
use std::marker::PhantomData;

/// A quantity a distribution can be drawn over.
pub trait Scalar: Copy + fmt::Debug + DeserializeOwned {
    /// Whether only whole numbers are valid.
    const WHOLE: bool = false;
    /// The value in its base unit.
    fn to_f64(self) -> f64;
    /// A value from its base unit (rounded for whole numbers).
    fn from_f64(value: f64) -> Self;
}

impl Scalar for f64 {
    fn to_f64(self) -> f64 {
        self
    }
    fn from_f64(value: f64) -> Self {
        value
    }
}

macro_rules! whole_scalar {
    ($t:ty) => {
        impl Scalar for $t {
            const WHOLE: bool = true;
            fn to_f64(self) -> f64 {
                self as f64
            }
            fn from_f64(value: f64) -> Self {
                value.round().clamp(0.0, <$t>::MAX as f64) as $t
            }
        }
    };
}
whole_scalar!(u32);
whole_scalar!(u64);

macro_rules! unit_scalar {
    ($t:ident) => {
        impl Scalar for $t {
            fn to_f64(self) -> f64 {
                self.0
            }
            fn from_f64(value: f64) -> Self {
                $t(value)
            }
        }
    };
}
unit_scalar!(Seconds);
unit_scalar!(Bytes);
unit_scalar!(BytesPerSec);
unit_scalar!(PerSec);
unit_scalar!(Watts);
unit_scalar!(FlopsPerSec);
unit_scalar!(Ratio);

/// A scenario number: fixed, or drawn once per run from a distribution.
#[derive(Clone, Debug, PartialEq)]
pub enum Value<T> {
    /// The same in every run.
    Fixed(T),
    /// Uniform between two bounds.
    Uniform(T, T),
    /// Normal by mean and standard deviation.
    Normal {
        /// Mean.
        mean: T,
        /// Standard deviation.
        sd: T,
    },
    /// Lognormal by median and the standard deviation of the log.
    LogNormal {
        /// Median.
        median: T,
        /// Standard deviation of the natural log.
        sigma: f64,
    },
    /// Triangular by minimum, mode and maximum.
    Triangular(T, T, T),
    /// One of the listed values, with weights (equal when not given).
    Choice {
        /// The values.
        values: Vec<T>,
        /// Their weights, normalised to sum to one.
        weights: Vec<f64>,
    },
}

impl<T: Default> Default for Value<T> {
    fn default() -> Self {
        Value::Fixed(T::default())
    }
}

impl<T> From<T> for Value<T> {
    fn from(value: T) -> Self {
        Value::Fixed(value)
    }
}

impl<T: Scalar> Value<T> {
    /// Whether this value differs between runs.
    pub fn is_uncertain(&self) -> bool {
        !matches!(self, Value::Fixed(_))
    }

    /// The distribution's name and parameters, for reports: `uniform(0.75, 0.9)`.
    pub fn describe(&self) -> String {
        let f = |v: &T| format_number(v.to_f64());
        match self {
            Value::Fixed(v) => f(v),
            Value::Uniform(a, b) => format!("uniform({}, {})", f(a), f(b)),
            Value::Normal { mean, sd } => format!("normal({}, {})", f(mean), f(sd)),
            Value::LogNormal { median, sigma } => {
                format!(
                    "lognormal(median {}, σ {})",
                    f(median),
                    format_number(*sigma)
                )
            }
            Value::Triangular(a, m, b) => format!("triangular({}, {}, {})", f(a), f(m), f(b)),
            Value::Choice { values, .. } => {
                let listed: Vec<String> = values.iter().map(f).collect();
                format!("choice({})", listed.join(", "))
            }
        }
    }

    /// Draws a value (a fixed value costs no randomness).
    pub fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> T {
        let raw = match self {
            Value::Fixed(v) => return *v,
            Value::Uniform(a, b) => {
                let (a, b) = (a.to_f64(), b.to_f64());
                if T::WHOLE {
                    rng.random_range(a.ceil() as i64..=b.floor() as i64) as f64
                } else if a == b {
                    a
                } else {
                    rng.random_range(a..b)
                }
            }
            Value::Normal { mean, sd } => Normal::new(mean.to_f64(), sd.to_f64())
                .expect("checked when parsed")
                .sample(rng),
            Value::LogNormal { median, sigma } => LogNormal::new(median.to_f64().ln(), *sigma)
                .expect("checked when parsed")
                .sample(rng),
            Value::Triangular(a, m, b) => {
                let (a, m, b) = (a.to_f64(), m.to_f64(), b.to_f64());
                if a == b {
                    a
                } else {
                    Triangular::new(a, b, m)
                        .expect("checked when parsed")
                        .sample(rng)
                }
            }
            Value::Choice { values, weights } => {
                let mut u: f64 = rng.random();
                let mut chosen = values[values.len() - 1];
                for (value, weight) in values.iter().zip(weights) {
                    if u < *weight {
                        chosen = *value;
                        break;
                    }
                    u -= weight;
                }
                return chosen;
            }
        };
        T::from_f64(raw)
    }
}

/// One uncertain input as a run drew it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, Deserialize)]
pub struct Drawn {
    /// Field path, such as `perf.memory_efficiency`.
    pub field: String,
    /// The distribution, as written.
    pub distribution: String,
    /// The value drawn, in base units.
    pub value: f64,
}

/// Draws a run's uncertain values and records them. Each field has its own stream, keyed by
/// `(seed, run, field path)`, so a field's draw does not depend on which other fields are
/// uncertain or in what order they are resolved.
#[derive(Clone, Debug)]
pub struct Drawer {
    seed: u64,
    run: u64,
    drawn: Vec<Drawn>,
}

/// FNV-1a: a stable 64-bit hash of a field path.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl Drawer {
    /// The drawer of run `run` of a study seeded with `seed`.
    pub fn new(seed: u64, run: u64) -> Drawer {
        Drawer {
            seed,
            run,
            drawn: Vec::new(),
        }
    }

    /// The value of `field` in this run.
    pub fn value<T: Scalar>(&mut self, field: &str, value: &Value<T>) -> T {
        if let Value::Fixed(fixed) = value {
            return *fixed;
        }
        let key =
            crate::engine::rng::stream(self.seed, self.run, crate::engine::rng::Stream::Inputs)
                .random::<u64>()
                ^ fnv1a(field);
        let drawn = value.draw(&mut rand::rngs::Xoshiro256PlusPlus::seed_from_u64(key));
        self.drawn.push(Drawn {
            field: field.to_string(),
            distribution: value.describe(),
            value: drawn.to_f64(),
        });
        drawn
    }

    /// The uncertain inputs drawn so far, in resolution order.
    pub fn drawn(&self) -> &[Drawn] {
        &self.drawn
    }

    /// The run this drawer draws for.
    pub fn run(&self) -> u64 {
        self.run
    }

    /// The uncertain inputs drawn, in resolution order.
    pub fn into_drawn(self) -> Vec<Drawn> {
        self.drawn
    }

    /// The values of a list field, `field[0]`, `field[1]`, …
    pub fn values<T: Scalar>(&mut self, field: &str, values: &[Value<T>]) -> Vec<T> {
        values
            .iter()
            .enumerate()
            .map(|(i, value)| self.value(&format!("{field}[{i}]"), value))
            .collect()
    }
}

/// A number for people: integers without decimals, others with up to six significant digits.
fn format_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        let text = format!("{v:.6}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// The written forms of a distribution.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(bound = "T: Scalar")]
struct DistFields<T> {
    #[serde(default)]
    uniform: Option<Vec<T>>,
    #[serde(default)]
    normal: Option<NormalFields<T>>,
    #[serde(default)]
    lognormal: Option<LogNormalFields<T>>,
    #[serde(default)]
    triangular: Option<Vec<T>>,
    #[serde(default)]
    choice: Option<Vec<T>>,
    #[serde(default)]
    weights: Option<Vec<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(bound = "T: Scalar")]
struct NormalFields<T> {
    mean: T,
    sd: T,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(bound = "T: Scalar")]
struct LogNormalFields<T> {
    median: T,
    sigma: f64,
}

impl<T: Scalar> DistFields<T> {
    /// Checks the parameters and builds the value.
    fn into_value(self) -> Result<Value<T>, String> {
        let given = [
            self.uniform.is_some(),
            self.normal.is_some(),
            self.lognormal.is_some(),
            self.triangular.is_some(),
            self.choice.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err(
                "expected a number, or exactly one of uniform, normal, lognormal, triangular, \
                 choice"
                    .into(),
            );
        }
        if self.weights.is_some() && self.choice.is_none() {
            return Err("weights go with choice".into());
        }
        let finite = |v: &T| v.to_f64().is_finite();
        if let Some(bounds) = self.uniform {
            let [a, b] = bounds[..] else {
                return Err(format!(
                    "uniform: expected [low, high], got {} values",
                    bounds.len()
                ));
            };
            if !(finite(&a) && finite(&b) && a.to_f64() <= b.to_f64()) {
                return Err(format!(
                    "uniform: expected low ≤ high, got [{}, {}]",
                    a.to_f64(),
                    b.to_f64()
                ));
            }
            return Ok(Value::Uniform(a, b));
        }
        if let Some(NormalFields { mean, sd }) = self.normal {
            if !(finite(&mean) && finite(&sd) && sd.to_f64() >= 0.0) {
                return Err(format!(
                    "normal: expected a finite mean and sd ≥ 0, got mean {} and sd {}",
                    mean.to_f64(),
                    sd.to_f64()
                ));
            }
            return Ok(Value::Normal { mean, sd });
        }
        if let Some(LogNormalFields { median, sigma }) = self.lognormal {
            if !(median.to_f64() > 0.0 && finite(&median) && sigma.is_finite() && sigma >= 0.0) {
                return Err(format!(
                    "lognormal: expected median > 0 and sigma ≥ 0, got median {} and sigma {}",
                    median.to_f64(),
                    sigma
                ));
            }
            return Ok(Value::LogNormal { median, sigma });
        }
        if let Some(points) = self.triangular {
            let [a, m, b] = points[..] else {
                return Err(format!(
                    "triangular: expected [min, mode, max], got {} values",
                    points.len()
                ));
            };
            let (a_, m_, b_) = (a.to_f64(), m.to_f64(), b.to_f64());
            if !(a_.is_finite() && b_.is_finite() && a_ <= m_ && m_ <= b_) {
                return Err(format!(
                    "triangular: expected min ≤ mode ≤ max, got [{a_}, {m_}, {b_}]"
                ));
            }
            return Ok(Value::Triangular(a, m, b));
        }
        let values = self.choice.unwrap_or_default();
        if values.is_empty() {
            return Err("choice: expected at least one value".into());
        }
        if !values.iter().all(finite) {
            return Err("choice: every value must be a finite number".into());
        }
        let weights = self.weights.unwrap_or_else(|| vec![1.0; values.len()]);
        if weights.len() != values.len() {
            return Err(format!(
                "choice: {} values but {} weights",
                values.len(),
                weights.len()
            ));
        }
        let total: f64 = weights.iter().sum();
        if !(weights.iter().all(|w| w.is_finite() && *w >= 0.0) && total > 0.0) {
            return Err("choice: weights must be ≥ 0 and not all zero".into());
        }
        Ok(Value::Choice {
            values,
            weights: weights.iter().map(|w| w / total).collect(),
        })
    }
}

impl<'de, T: Scalar> Deserialize<'de> for Value<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ValueVisitor<T>(PhantomData<T>);
        impl<'de, T: Scalar> Visitor<'de> for ValueVisitor<T> {
            type Value = Value<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a number, or a distribution: {uniform: [a, b]}, {normal: {mean, sd}}, \
                     {lognormal: {median, sigma}}, {triangular: [min, mode, max]}, \
                     {choice: [...], weights: [...]}",
                )
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value<T>, E> {
                T::deserialize(v.into_deserializer()).map(Value::Fixed)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value<T>, E> {
                T::deserialize(v.into_deserializer()).map(Value::Fixed)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value<T>, E> {
                T::deserialize(v.into_deserializer()).map(Value::Fixed)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Value<T>, E> {
                T::deserialize(v.into_deserializer()).map(Value::Fixed)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Value<T>, A::Error> {
                DistFields::<T>::deserialize(de::value::MapAccessDeserializer::new(map))?
                    .into_value()
                    .map_err(de::Error::custom)
            }
        }
        deserializer.deserialize_any(ValueVisitor(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::{Stream, stream};

    fn parse<T: Scalar>(yaml: &str) -> Result<Value<T>, String> {
        serde_yaml::from_str::<Value<T>>(yaml).map_err(|e| e.to_string())
    }

    fn moments<T: Scalar>(value: &Value<T>, n: usize) -> (f64, f64) {
        let mut rng = stream(9, 0, Stream::Inputs);
        let draws: Vec<f64> = (0..n).map(|_| value.draw(&mut rng).to_f64()).collect();
        let mean = draws.iter().sum::<f64>() / n as f64;
        let var = draws.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        (mean, var.sqrt())
    }

    #[test]
    fn plain_numbers_and_units_are_fixed() {
        assert_eq!(parse::<f64>("0.85").unwrap(), Value::Fixed(0.85));
        assert_eq!(
            parse::<Seconds>("5ms").unwrap(),
            Value::Fixed(Seconds(0.005))
        );
        assert_eq!(parse::<u64>("12").unwrap(), Value::Fixed(12));
        assert!(!parse::<u64>("12").unwrap().is_uncertain());
    }

    #[test]
    fn sample_moments_match_each_distribution() {
        let n = 200_000;
        // Uniform(2, 4): mean 3, sd 2/√12 = 0.5774.
        let (m, s) = moments(&parse::<PerSec>("{uniform: [2/s, 4/s]}").unwrap(), n);
        assert!(
            (m - 3.0).abs() < 0.01 && (s - 0.5774).abs() < 0.01,
            "{m} {s}"
        );
        let (m, s) = moments(&parse::<f64>("{normal: {mean: 1.2, sd: 0.03}}").unwrap(), n);
        assert!(
            (m - 1.2).abs() < 0.001 && (s - 0.03).abs() < 0.001,
            "{m} {s}"
        );
        // Lognormal(median 10, σ 0.5): mean 10·e^0.125 = 11.331.
        let (m, _) = moments(
            &parse::<f64>("{lognormal: {median: 10, sigma: 0.5}}").unwrap(),
            n,
        );
        assert!((m / 11.331 - 1.0).abs() < 0.01, "{m}");
        // Triangular(1, 2, 6): mean 3, sd √((1+4+36−2−6−12)/18) = 1.0801.
        let (m, s) = moments(&parse::<f64>("{triangular: [1, 2, 6]}").unwrap(), n);
        assert!(
            (m - 3.0).abs() < 0.01 && (s - 1.0801).abs() < 0.01,
            "{m} {s}"
        );
        // Choice of 4, 6, 8 with weights .2, .5, .3: mean 6.2.
        let choice = parse::<u32>("{choice: [4, 6, 8], weights: [2, 5, 3]}").unwrap();
        let (m, _) = moments(&choice, n);
        assert!((m - 6.2).abs() < 0.01, "{m}");
    }

    #[test]
    fn whole_numbers_draw_every_integer_in_range_equally() {
        let value = parse::<u32>("{uniform: [1, 4]}").unwrap();
        let mut rng = stream(1, 0, Stream::Inputs);
        let mut counts = [0u32; 5];
        for _ in 0..40_000 {
            counts[value.draw(&mut rng) as usize] += 1;
        }
        assert_eq!(counts[0], 0);
        assert!(
            counts[1..]
                .iter()
                .all(|c| (*c as f64 - 10_000.0).abs() < 400.0),
            "{counts:?}"
        );
    }

    #[test]
    fn bad_distributions_are_explained() {
        let err = parse::<f64>("{uniform: [4, 2]}").unwrap_err();
        assert!(err.contains("expected low ≤ high, got [4, 2]"), "{err}");
        let err = parse::<f64>("{normal: {mean: 1, sd: -0.1}}").unwrap_err();
        assert!(err.contains("sd ≥ 0"), "{err}");
        let err = parse::<f64>("{choice: [1, 2, 3], weights: [1, 2]}").unwrap_err();
        assert!(err.contains("3 values but 2 weights"), "{err}");
        let err = parse::<f64>("{triangular: [1, 5, 3]}").unwrap_err();
        assert!(err.contains("min ≤ mode ≤ max"), "{err}");
        let err = parse::<f64>("{uniform: [1, 2], normal: {mean: 1, sd: 1}}").unwrap_err();
        assert!(err.contains("exactly one of"), "{err}");
        let err = parse::<f64>("{weights: [1]}").unwrap_err();
        assert!(err.contains("exactly one of"), "{err}");
        assert!(
            parse::<f64>("{unifrom: [1, 2]}")
                .unwrap_err()
                .contains("unknown field")
        );
        assert!(
            parse::<u32>("{uniform: [1.5, 3]}").is_err(),
            "whole-number fields"
        );
    }

    #[test]
    fn a_field_draws_the_same_whatever_else_is_uncertain() {
        let uncertain = parse::<f64>("{uniform: [0, 1]}").unwrap();
        let mut alone = Drawer::new(5, 3);
        let first = alone.value("a.b", &uncertain);
        let mut crowded = Drawer::new(5, 3);
        crowded.value("x.y", &uncertain);
        crowded.value("z", &Value::Fixed(2.0));
        assert_eq!(crowded.value("a.b", &uncertain), first);
        assert_ne!(
            Drawer::new(5, 4).value("a.b", &uncertain),
            first,
            "another run"
        );
        let drawn = crowded.into_drawn();
        assert_eq!(drawn.len(), 2, "fixed values are not recorded");
        assert_eq!(drawn[1].field, "a.b");
        assert_eq!(drawn[1].distribution, "uniform(0, 1)");
    }

    #[test]
    fn descriptions_name_the_distribution() {
        let value = parse::<f64>("{triangular: [1.8, 2.5, 4]}").unwrap();
        assert_eq!(value.describe(), "triangular(1.8, 2.5, 4)");
        assert_eq!(parse::<u64>("7").unwrap().describe(), "7");
    }
}
