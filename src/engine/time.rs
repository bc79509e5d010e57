//! Simulated time as integer nanoseconds: exact to add and compare, the same on every
//! machine, and ample for centuries of simulated time in a `u64`.

use crate::units::{Seconds, round_to_u64, u64_to_f64};
use std::fmt;
use std::ops::{Add, Sub};

/// A point in simulated time, in nanoseconds from midnight of day 0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(pub u64);

/// Ticks per second.
pub const TICKS_PER_SECOND: f64 = 1e9;

impl SimTime {
    /// Time zero: midnight of the first day.
    pub const ZERO: SimTime = SimTime(0);

    /// The tick nearest to `seconds` (negative times clamp to zero).
    pub fn from_secs(seconds: f64) -> SimTime {
        SimTime(round_to_u64(seconds * TICKS_PER_SECOND))
    }

    /// This time in seconds.
    pub fn secs(self) -> f64 {
        u64_to_f64(self.0) / TICKS_PER_SECOND
    }

    /// The span from `earlier` to `self` in seconds (zero if `earlier` is later).
    pub fn since(self, earlier: SimTime) -> Seconds {
        Seconds(u64_to_f64(self.0.saturating_sub(earlier.0)) / TICKS_PER_SECOND)
    }
}

impl Add<Seconds> for SimTime {
    type Output = SimTime;
    /// Advances by a duration rounded to the nearest tick.
    fn add(self, duration: Seconds) -> SimTime {
        SimTime(self.0 + SimTime::from_secs(duration.0).0)
    }
}

impl Sub for SimTime {
    type Output = Seconds;
    fn sub(self, earlier: SimTime) -> Seconds {
        self.since(earlier)
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.9}s", self.secs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_round_to_the_nearest_as_f64_round_does() {
        let reference = |s: f64| (s * TICKS_PER_SECOND).round().max(0.0) as u64;
        let mut x = 1e-10;
        while x < 1e6 {
            for s in [x, x * 1.000_000_7, x + 0.5e-9, x + 0.499_999_999e-9, -x] {
                assert_eq!(SimTime::from_secs(s).0, reference(s), "{s}");
            }
            x *= 1.37;
        }
        assert_eq!(SimTime::from_secs(f64::NAN), SimTime::ZERO);
        assert_eq!(SimTime::from_secs(2.5e-9), SimTime(3));
        assert_eq!(SimTime::from_secs(2.4999e-9), SimTime(2));
    }

    #[test]
    fn ticks_round_trip_seconds() {
        assert_eq!(SimTime::from_secs(1.5), SimTime(1_500_000_000));
        assert_eq!(SimTime::from_secs(1.5).secs(), 1.5);
        assert_eq!(SimTime::from_secs(-1.0), SimTime::ZERO);
        assert_eq!(SimTime(10) + Seconds(2e-9), SimTime(12));
        assert_eq!(
            SimTime(3_000_000_000) - SimTime(1_000_000_000),
            Seconds(2.0)
        );
    }
}
