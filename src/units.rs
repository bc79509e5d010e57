//! Typed physical quantities and their human spellings.
//!
//! Every quantity that crosses a module boundary carries its unit in its type, so that
//! bytes are never added to seconds and a bandwidth is never mistaken for a FLOP rate.
//! Each type reads from YAML either as a plain number in its base unit or as a string
//! with a unit suffix (`24h`, `80GiB`, `3.35TB/s`, `989TFLOPS`, `700W`, `2.5/s`).

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Div, Mul, Sub};

/// Declares an `f64` quantity newtype with the arithmetic that keeps its unit.
macro_rules! quantity {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, PartialOrd, Serialize)]
        #[serde(transparent)]
        pub struct $name(pub f64);

        impl Add for $name {
            type Output = $name;
            fn add(self, rhs: $name) -> $name {
                $name(self.0 + rhs.0)
            }
        }
        impl Sub for $name {
            type Output = $name;
            fn sub(self, rhs: $name) -> $name {
                $name(self.0 - rhs.0)
            }
        }
        impl AddAssign for $name {
            fn add_assign(&mut self, rhs: $name) {
                self.0 += rhs.0;
            }
        }
        impl Mul<f64> for $name {
            type Output = $name;
            fn mul(self, rhs: f64) -> $name {
                $name(self.0 * rhs)
            }
        }
        impl Div<f64> for $name {
            type Output = $name;
            fn div(self, rhs: f64) -> $name {
                $name(self.0 / rhs)
            }
        }
        /// The ratio of two quantities of the same unit is a plain number.
        impl Div for $name {
            type Output = f64;
            fn div(self, rhs: $name) -> f64 {
                self.0 / rhs.0
            }
        }
        impl Sum for $name {
            fn sum<I: Iterator<Item = $name>>(iter: I) -> $name {
                $name(iter.map(|q| q.0).sum())
            }
        }
    };
}

quantity!(
    /// A span of time in seconds.
    Seconds
);
quantity!(
    /// An amount of data in bytes (fractional: int4 weights are half a byte each).
    Bytes
);
quantity!(
    /// A data rate in bytes per second.
    BytesPerSec
);
quantity!(
    /// A number of floating-point operations.
    Flops
);
quantity!(
    /// A compute rate in floating-point operations per second.
    FlopsPerSec
);
quantity!(
    /// Power in watts.
    Watts
);
quantity!(
    /// Energy in joules.
    Joules
);
quantity!(
    /// An event rate (requests) per second.
    PerSec
);
quantity!(
    /// A dimensionless ratio, such as a growth rate or a margin: `0.08`, or written as a
    /// percentage, `8%`.
    Ratio
);

impl Div<BytesPerSec> for Bytes {
    type Output = Seconds;
    fn div(self, rate: BytesPerSec) -> Seconds {
        Seconds(self.0 / rate.0)
    }
}

impl Div<FlopsPerSec> for Flops {
    type Output = Seconds;
    fn div(self, rate: FlopsPerSec) -> Seconds {
        Seconds(self.0 / rate.0)
    }
}

impl Mul<Seconds> for Watts {
    type Output = Joules;
    fn mul(self, time: Seconds) -> Joules {
        Joules(self.0 * time.0)
    }
}

impl Mul<Seconds> for PerSec {
    type Output = f64;
    fn mul(self, time: Seconds) -> f64 {
        self.0 * time.0
    }
}

impl Joules {
    /// Joules per kilowatt-hour: 1 kWh = 1000 W × 3600 s.
    pub const PER_KWH: f64 = 3.6e6;

    /// This energy in kilowatt-hours.
    pub fn kwh(self) -> f64 {
        self.0 / Self::PER_KWH
    }
}

impl Bytes {
    /// Bytes in one gibibyte (2^30).
    pub const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

    /// This amount in GiB, for messages.
    pub fn gib(self) -> f64 {
        self.0 / Self::GIB
    }
}

/// A unit suffix and the factor that turns it into the base unit.
type UnitTable = &'static [(&'static str, f64)];

const DURATION_UNITS: UnitTable = &[
    ("", 1.0),
    ("ns", 1e-9),
    ("us", 1e-6),
    ("µs", 1e-6),
    ("ms", 1e-3),
    ("s", 1.0),
    ("min", 60.0),
    ("m", 60.0),
    ("h", 3600.0),
    ("d", 86400.0),
];

const BYTE_UNITS: UnitTable = &[
    ("", 1.0),
    ("B", 1.0),
    ("KB", 1e3),
    ("MB", 1e6),
    ("GB", 1e9),
    ("TB", 1e12),
    ("KiB", 1024.0),
    ("MiB", 1024.0 * 1024.0),
    ("GiB", Bytes::GIB),
    ("TiB", Bytes::GIB * 1024.0),
];

const BANDWIDTH_UNITS: UnitTable = &[
    ("", 1.0),
    ("B/s", 1.0),
    ("KB/s", 1e3),
    ("MB/s", 1e6),
    ("GB/s", 1e9),
    ("TB/s", 1e12),
    ("GiB/s", Bytes::GIB),
    ("Mb/s", 1e6 / 8.0),
    ("Gb/s", 1e9 / 8.0),
    ("Tb/s", 1e12 / 8.0),
    ("Mbps", 1e6 / 8.0),
    ("Gbps", 1e9 / 8.0),
];

const FLOPS_UNITS: UnitTable = &[
    ("", 1.0),
    ("FLOPS", 1.0),
    ("GFLOPS", 1e9),
    ("TFLOPS", 1e12),
    ("PFLOPS", 1e15),
];

const POWER_UNITS: UnitTable = &[("", 1.0), ("W", 1.0), ("kW", 1e3), ("MW", 1e6)];

const RATE_UNITS: UnitTable = &[
    ("", 1.0),
    ("/s", 1.0),
    ("/min", 1.0 / 60.0),
    ("/h", 1.0 / 3600.0),
    ("/day", 1.0 / 86400.0),
    ("/d", 1.0 / 86400.0),
];

const RATIO_UNITS: UnitTable = &[("", 1.0), ("%", 0.01)];

/// Splits `"3.35TB/s"` into `(3.35, "TB/s")`: the longest leading number, then the rest.
fn split_number(text: &str) -> Option<(f64, &str)> {
    let text = text.trim();
    (1..=text.len())
        .rev()
        .filter(|&end| text.is_char_boundary(end))
        .find_map(|end| {
            let value: f64 = text[..end].replace('_', "").parse().ok()?;
            Some((value, text[end..].trim()))
        })
}

/// Parses `text` as a number followed by one of `units`.
fn parse_with_units(text: &str, units: UnitTable) -> Option<f64> {
    let (value, unit) = split_number(text)?;
    let factor = units.iter().find(|(name, _)| *name == unit)?.1;
    let scaled = value * factor;
    scaled.is_finite().then_some(scaled)
}

/// The spellings a unit table accepts, for error messages.
fn spellings(units: UnitTable) -> String {
    units
        .iter()
        .filter(|(name, _)| !name.is_empty())
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A quantity that can be read from a number or a string with a unit.
pub trait HumanUnit: Sized {
    /// The accepted unit suffixes and their factors to the base unit.
    const UNITS: UnitTable;
    /// What a value looks like, for error messages: "a duration such as `24h`".
    const EXPECTED: &'static str;
    /// Wraps a value in the base unit.
    fn from_base(value: f64) -> Self;

    /// Parses a human spelling such as `80GiB`.
    fn parse(text: &str) -> Result<Self, String> {
        parse_with_units(text, Self::UNITS)
            .map(Self::from_base)
            .ok_or_else(|| {
                format!(
                    "expected {} (units: {}), got `{}`",
                    Self::EXPECTED,
                    spellings(Self::UNITS),
                    text
                )
            })
    }
}

macro_rules! human_unit {
    ($name:ident, $units:expr, $expected:literal) => {
        impl HumanUnit for $name {
            const UNITS: UnitTable = $units;
            const EXPECTED: &'static str = $expected;
            fn from_base(value: f64) -> Self {
                $name(value)
            }
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_any(HumanVisitor::<$name>(std::marker::PhantomData))
            }
        }
    };
}

human_unit!(
    Seconds,
    DURATION_UNITS,
    "a duration such as `24h`, `90m`, `30s` or `5ms`"
);
human_unit!(Bytes, BYTE_UNITS, "a size such as `80GiB` or `141GB`");
human_unit!(
    BytesPerSec,
    BANDWIDTH_UNITS,
    "a bandwidth such as `3.35TB/s` or `400Gb/s`"
);
human_unit!(
    FlopsPerSec,
    FLOPS_UNITS,
    "a compute rate such as `989TFLOPS`"
);
human_unit!(Watts, POWER_UNITS, "a power such as `700W` or `10.2kW`");
human_unit!(
    PerSec,
    RATE_UNITS,
    "a rate such as `2.5/s`, `300/min` or `2e8/day`"
);

human_unit!(Ratio, RATIO_UNITS, "a ratio such as `0.08` or `8%`");

/// Reads a quantity from a YAML number (base unit) or a string with a unit.
struct HumanVisitor<T>(std::marker::PhantomData<T>);

impl<T: HumanUnit> Visitor<'_> for HumanVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(T::EXPECTED)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        if v.is_finite() {
            Ok(T::from_base(v))
        } else {
            Err(E::custom(format!("expected {}, got `{v}`", T::EXPECTED)))
        }
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        Ok(T::from_base(v as f64))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        Ok(T::from_base(v as f64))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        T::parse(v).map_err(E::custom)
    }
}

/// `x` rounded to the nearest whole number, halves away from zero, as a `u64`: what
/// `x.round() as u64` gives (negative and NaN values become zero and huge ones `u64::MAX`,
/// as `as u64` saturates), without the library call that `f64::round` is on baseline
/// x86-64, which the engine pays for every step and every latency it records. Below 2⁶³ it
/// takes the signed conversions, one instruction each way (the unsigned ones are sequences
/// of several on baseline x86-64), and adds the rounding without a branch; below 2⁵²,
/// `x − whole` is exact, and above it a float has no fraction.
pub fn round_to_u64(x: f64) -> u64 {
    if (0.0..TWO_TO_63).contains(&x) {
        let whole = x as i64;
        (whole + i64::from(x - whole as f64 >= 0.5)) as u64
    } else {
        x as u64
    }
}

/// 2⁶³, the first `f64` beyond `i64`.
const TWO_TO_63: f64 = 9_223_372_036_854_775_808.0;

/// `v as f64`, by the signed conversion (one instruction on x86-64, where the unsigned one
/// is a sequence of several) when `v` fits in an `i64`: the same value, rounded the same.
pub fn u64_to_f64(v: u64) -> f64 {
    match i64::try_from(v) {
        Ok(signed) => signed as f64,
        Err(_) => v as f64,
    }
}

/// Formats a value with an SI prefix and unit for people: `3.35 TB/s`, `989 TFLOPS`.
pub fn si(value: f64, unit: &str) -> String {
    const PREFIXES: [(f64, &str); 6] = [
        (1e15, "P"),
        (1e12, "T"),
        (1e9, "G"),
        (1e6, "M"),
        (1e3, "k"),
        (1.0, ""),
    ];
    let (scale, prefix) = PREFIXES
        .iter()
        .find(|(scale, _)| value.abs() >= *scale)
        .copied()
        .unwrap_or((1.0, ""));
    let scaled = value / scale;
    let digits = if scaled >= 100.0 {
        0
    } else if scaled >= 10.0 {
        1
    } else {
        2
    };
    format!("{scaled:.digits$} {prefix}{unit}")
}

impl fmt::Display for Bytes {
    /// Binary prefixes for people: `13.8 MiB`, `94.3 GiB`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const PREFIXES: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
        let mut value = self.0;
        let mut prefix = 0;
        while value.abs() >= 1024.0 && prefix + 1 < PREFIXES.len() {
            value /= 1024.0;
            prefix += 1;
        }
        if prefix == 0 {
            write!(f, "{value:.0} B")
        } else {
            write!(f, "{value:.1} {}", PREFIXES[prefix])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_round_halves_away_from_zero_as_f64_round_does() {
        for x in [
            0.0,
            0.49,
            0.5,
            1.5,
            2.5,
            2.499_999,
            1e15 + 0.5,
            4.5e15,
            0.499_999_999_999_999_94,
            4_503_599_627_370_495.5,
            9_223_372_036_854_774_784.0,
            TWO_TO_63,
            1e19,
            1.8446744073709552e19,
            1e30,
            f64::INFINITY,
        ] {
            assert_eq!(round_to_u64(x), x.round() as u64, "{x}");
        }
        assert_eq!(round_to_u64(-3.7), 0);
        assert_eq!(round_to_u64(f64::NAN), 0);
        assert_eq!(round_to_u64(2.5), 3);
    }

    #[test]
    fn the_signed_conversion_gives_what_the_unsigned_one_gives() {
        let edges = [
            i64::MAX as u64,
            i64::MAX as u64 + 1,
            u64::MAX,
            1 << 53,
            (1 << 53) + 1,
        ];
        for v in (0..64)
            .map(|k| 1u64 << k)
            .chain((0..64).map(|k| (1u64 << k) - 1))
            .chain(edges)
        {
            assert_eq!(u64_to_f64(v).to_bits(), (v as f64).to_bits(), "{v}");
        }
    }

    #[test]
    fn durations_read_in_every_unit() {
        assert_eq!(Seconds::parse("24h").unwrap(), Seconds(86400.0));
        assert_eq!(Seconds::parse("90m").unwrap(), Seconds(5400.0));
        assert_eq!(Seconds::parse("1.5 min").unwrap(), Seconds(90.0));
        assert_eq!(Seconds::parse("5ms").unwrap(), Seconds(0.005));
        assert_eq!(Seconds::parse("1e3us").unwrap(), Seconds(1e-3));
        assert_eq!(Seconds::parse("2d").unwrap(), Seconds(172800.0));
        assert_eq!(Seconds::parse("30").unwrap(), Seconds(30.0));
    }

    #[test]
    fn sizes_distinguish_decimal_and_binary_prefixes() {
        assert_eq!(
            Bytes::parse("80GiB").unwrap(),
            Bytes(80.0 * 1024f64.powi(3))
        );
        assert_eq!(Bytes::parse("141GB").unwrap(), Bytes(141e9));
        assert_eq!(Bytes::parse("1_000").unwrap(), Bytes(1000.0));
    }

    #[test]
    fn bandwidths_distinguish_bits_and_bytes() {
        assert_eq!(
            BytesPerSec::parse("3.35TB/s").unwrap(),
            BytesPerSec(3.35e12)
        );
        assert_eq!(BytesPerSec::parse("400Gb/s").unwrap(), BytesPerSec(50e9));
        assert_eq!(BytesPerSec::parse("400Gbps").unwrap(), BytesPerSec(50e9));
    }

    #[test]
    fn rates_flops_and_power_read() {
        assert_eq!(PerSec::parse("2.5/s").unwrap(), PerSec(2.5));
        assert_eq!(PerSec::parse("8.64e4/day").unwrap(), PerSec(1.0));
        assert_eq!(PerSec::parse("120/min").unwrap(), PerSec(2.0));
        assert_eq!(
            FlopsPerSec::parse("989TFLOPS").unwrap(),
            FlopsPerSec(989e12)
        );
        assert_eq!(Watts::parse("10.2kW").unwrap(), Watts(10200.0));
        assert_eq!(PerSec::parse("-3/s").unwrap(), PerSec(-3.0));
    }

    #[test]
    fn ratios_read_as_numbers_or_percentages() {
        assert_eq!(Ratio::parse("0.08").unwrap(), Ratio(0.08));
        assert_eq!(Ratio::parse("8%").unwrap(), Ratio(0.08));
        assert_eq!(Ratio::parse("-2.5 %").unwrap(), Ratio(-0.025));
        assert!(Ratio::parse("8 percent").is_err());
    }

    #[test]
    fn bad_spellings_say_what_was_expected() {
        let err = Seconds::parse("24 hours").unwrap_err();
        assert!(err.contains("a duration such as `24h`"), "{err}");
        assert!(err.contains("`24 hours`"), "{err}");
        assert!(Bytes::parse("GiB").is_err());
        assert!(Bytes::parse("5eGiB").is_err());
        assert!(BytesPerSec::parse("3TB").is_err());
    }

    #[test]
    fn unit_arithmetic_keeps_units() {
        assert_eq!(Bytes(10.0) / BytesPerSec(5.0), Seconds(2.0));
        assert_eq!(Flops(10.0) / FlopsPerSec(4.0), Seconds(2.5));
        assert_eq!(Watts(100.0) * Seconds(36.0), Joules(3600.0));
        assert_eq!(Joules(3.6e6).kwh(), 1.0);
        assert_eq!(Bytes(6.0) / Bytes(3.0), 2.0);
    }

    #[test]
    fn bytes_display_with_binary_prefixes() {
        assert_eq!(Bytes(14_427_648.0).to_string(), "13.8 MiB");
        assert_eq!(Bytes(80.0 * Bytes::GIB).to_string(), "80.0 GiB");
        assert_eq!(Bytes(512.0).to_string(), "512 B");
    }

    #[test]
    fn si_formats_for_people() {
        assert_eq!(si(3.35e12, "B/s"), "3.35 TB/s");
        assert_eq!(si(989e12, "FLOPS"), "989 TFLOPS");
        assert_eq!(si(12.0, "W"), "12.0 W");
    }
}
