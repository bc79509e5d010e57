//! The steps of an estimate: each a named figure, the formula that gives it, and the
//! formula with its numbers put in, so that a reader can redo every step by hand.

use crate::report::markdown::{count, percent, significant, usd};

/// How a step's value reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Dollars: `$1,234.56`.
    Usd,
    /// A share, printed as a percentage.
    Share,
    /// A plain number followed by this unit: `tokens`, `GPU-s`, `kWh`.
    Of(&'static str),
}

/// One step: `name = formula = numbers = value unit`.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// What the figure is: `requests/day`, `decode FLOPs/day`.
    pub name: String,
    /// The formula in words and symbols: `requests/day × mean prompt`.
    pub formula: String,
    /// The formula with its numbers: `500,000 × 978.3`; empty when the value is given.
    pub numbers: String,
    /// The result.
    pub value: f64,
    /// Its unit.
    pub unit: Unit,
}

/// A titled group of steps.
#[derive(Clone, Debug, PartialEq)]
pub struct Section {
    /// Heading: `traffic`, `decode`, `cost per day`.
    pub title: String,
    /// The steps in order.
    pub steps: Vec<Step>,
}

impl Section {
    /// An empty section titled `title`.
    pub fn new(title: impl Into<String>) -> Section {
        Section {
            title: title.into(),
            steps: Vec::new(),
        }
    }

    /// Appends a step.
    pub fn step(
        &mut self,
        name: impl Into<String>,
        formula: impl Into<String>,
        numbers: impl Into<String>,
        value: f64,
        unit: Unit,
    ) {
        self.steps.push(Step {
            name: name.into(),
            formula: formula.into(),
            numbers: numbers.into(),
            value,
            unit,
        });
    }
}

/// A number for people: whole numbers as they are, others to four significant digits
/// without trailing zeros, thousands separated, and powers of ten from a billion up
/// (`7.92e18`).
pub fn num(value: f64) -> String {
    if !value.is_finite() {
        return "–".into();
    }
    if value == 0.0 {
        return "0".into();
    }
    if value.abs() < 1e9 && value.fract() == 0.0 {
        let sign = if value < 0.0 { "-" } else { "" };
        return format!("{sign}{}", count(value.abs() as u64));
    }
    if value.abs() >= 1e9 {
        let text = format!("{value:.3e}");
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
        return format!("{mantissa}e{exponent}");
    }
    let text = significant(value);
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// A value in its unit, as the last column of a step shows it.
pub fn value_text(value: f64, unit: Unit) -> String {
    match unit {
        Unit::Usd => usd(value),
        Unit::Share => percent(value),
        Unit::Of(unit) => format!("{} {unit}", num(value)),
    }
}

/// Dollars in a formula: `$1.86`, `$0.05`, `$184.06`; prices below a cent keep their digits.
pub fn price(value: f64) -> String {
    if value != 0.0 && value.abs() < 0.01 {
        let text = format!("{value:.6}");
        format!("${}", text.trim_end_matches('0'))
    } else {
        usd(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_for_people() {
        assert_eq!(num(7.9204e18), "7.92e18");
        assert_eq!(num(1e9), "1e9");
        assert_eq!(num(500_000.0), "500,000");
        assert_eq!(num(978.34), "978.3");
        assert_eq!(num(8.0), "8");
        assert_eq!(num(0.5), "0.5");
        assert_eq!(num(1.2), "1.2");
        assert_eq!(num(-1200.0), "-1,200");
        assert_eq!(num(0.0), "0");
        assert_eq!(num(f64::NAN), "–");
        assert_eq!(value_text(0.2734, Unit::Share), "27.3%");
        assert_eq!(value_text(179.934, Unit::Usd), "$179.93");
        assert_eq!(value_text(36_512.4, Unit::Of("GPU-s")), "36,512 GPU-s");
        assert_eq!(price(0.004), "$0.004");
        assert_eq!(price(1.86), "$1.86");
    }
}
