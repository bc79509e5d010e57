//! Calendar months, `YYYY-MM`: the periods a growth plan counts in.

use std::fmt;

/// One calendar month. Months order and subtract as a count since year 0, so that
/// `2027-03 − 2026-11` is 4.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Month {
    /// `year × 12 + (month − 1)`.
    index: i64,
}

impl Month {
    /// The month `year-month` (`month` 1 to 12).
    pub fn new(year: i64, month: u32) -> Month {
        Month {
            index: year * 12 + i64::from(month.clamp(1, 12)) - 1,
        }
    }

    /// Reads `YYYY-MM` (a four-digit year, a two-digit month from 01 to 12).
    pub fn parse(text: &str) -> Result<Month, String> {
        let bad = || format!("expected a month as YYYY-MM, such as 2027-01; got `{text}`");
        let (year, month) = text.trim().split_once('-').ok_or_else(bad)?;
        let digits = |t: &str, n: usize| t.len() == n && t.bytes().all(|b| b.is_ascii_digit());
        if !digits(year, 4) || !digits(month, 2) {
            return Err(bad());
        }
        let (year, month): (i64, u32) = (
            year.parse().map_err(|_| bad())?,
            month.parse().map_err(|_| bad())?,
        );
        if !(1..=12).contains(&month) {
            return Err(bad());
        }
        Ok(Month::new(year, month))
    }

    /// The month `months` later (earlier when negative).
    pub fn plus(self, months: i64) -> Month {
        Month {
            index: self.index + months,
        }
    }

    /// Months from `earlier` to this one (negative when this one is earlier).
    pub fn since(self, earlier: Month) -> i64 {
        self.index - earlier.index
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}",
            self.index.div_euclid(12),
            self.index.rem_euclid(12) + 1
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_read_count_and_print() {
        let start = Month::parse("2026-11").unwrap();
        assert_eq!(start, Month::new(2026, 11));
        assert_eq!(start.plus(2).to_string(), "2027-01");
        assert_eq!(start.plus(-11).to_string(), "2025-12");
        assert_eq!(Month::parse("2027-03").unwrap().since(start), 4);
        assert_eq!(start.since(Month::parse("2027-03").unwrap()), -4);
        for bad in [
            "2027-13", "2027-00", "2027-1", "27-01", "2027/01", "2027", "x",
        ] {
            let err = Month::parse(bad).unwrap_err();
            assert!(err.contains("YYYY-MM"), "{bad}: {err}");
        }
    }
}
