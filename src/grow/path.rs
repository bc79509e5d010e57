//! A growth path: the traffic of each month planned, as a multiplier of the scenario's
//! workload (month 0 is the workload as written), for one run's draw of the growth inputs.
//!
//! Three factors multiply:
//!
//! - **compound growth** `(1 + g)^p` in month `p`, with `g` the monthly rate;
//! - **events** (launches, losses): each multiplies its month and every later one;
//! - **dated multipliers**, a curve through given months: month 0 is 1 unless given, the
//!   months between two given ones are interpolated geometrically (a constant rate of
//!   growth between them), and the last value is held after its month.
//!
//! Pure functions: each run's path depends only on its drawn values.

/// A multiplier at a month, counted from the first month planned (0).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Step {
    /// Months after the first month planned.
    pub month: usize,
    /// The multiplier.
    pub multiplier: f64,
}

/// The traffic multiplier of each of `months` months: compound growth at `monthly_rate`,
/// times the `events` that took effect by then, times the dated curve through `dated`
/// (whose months are ascending and distinct; it may run past the last month planned).
pub fn multipliers(months: usize, monthly_rate: f64, events: &[Step], dated: &[Step]) -> Vec<f64> {
    (0..months)
        .map(|p| {
            let events: f64 = events
                .iter()
                .filter(|e| e.month <= p)
                .map(|e| e.multiplier)
                .product();
            compound(monthly_rate, p) * events * curve(dated, p)
        })
        .collect()
}

/// `(1 + rate)^month`.
fn compound(rate: f64, month: usize) -> f64 {
    (1.0 + rate).powi(month as i32)
}

/// The dated curve at `month`: through (0, 1) unless month 0 is given, geometric between
/// given months, held after the last.
fn curve(dated: &[Step], month: usize) -> f64 {
    let origin = Step {
        month: 0,
        multiplier: 1.0,
    };
    let mut before = origin;
    for &point in dated {
        if point.month == month {
            return point.multiplier;
        }
        if point.month > month {
            let share = (month - before.month) as f64 / (point.month - before.month) as f64;
            return before.multiplier * (point.multiplier / before.multiplier).powf(share);
        }
        before = point;
    }
    before.multiplier
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(month: usize, multiplier: f64) -> Step {
        Step { month, multiplier }
    }

    fn close(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12)
    }

    #[test]
    fn compound_growth_starts_from_the_workload() {
        assert_eq!(multipliers(3, 0.1, &[], &[]), vec![1.0, 1.1, 1.1 * 1.1]);
        assert_eq!(multipliers(2, 0.0, &[], &[]), vec![1.0, 1.0]);
        let shrinking = multipliers(3, -0.5, &[], &[]);
        assert!(close(&shrinking, &[1.0, 0.5, 0.25]), "{shrinking:?}");
    }

    #[test]
    fn events_multiply_their_month_and_every_later_one() {
        // 10% a month, a launch ×1.5 in month 2 and a loss ×0.5 in month 3.
        let path = multipliers(5, 0.1, &[step(2, 1.5), step(3, 0.5)], &[]);
        let expected = [1.0, 1.1, 1.21 * 1.5, 1.331 * 0.75, 1.4641 * 0.75];
        assert!(close(&path, &expected), "{path:?}");
    }

    #[test]
    fn dated_multipliers_interpolate_geometrically_and_hold() {
        // From 1 in month 0 to 4 in month 2: 2 in month 1; 4 held after.
        let path = multipliers(4, 0.0, &[], &[step(2, 4.0)]);
        assert!(close(&path, &[1.0, 2.0, 4.0, 4.0]), "{path:?}");
        // Month 0 given: 2, then 2 → 16 over three months is ×2 a month.
        let path = multipliers(5, 0.0, &[], &[step(0, 2.0), step(3, 16.0)]);
        assert!(close(&path, &[2.0, 4.0, 8.0, 16.0, 16.0]), "{path:?}");
        // A point past the horizon still bends the months before it: 1 → 9 over 4 months.
        let path = multipliers(3, 0.0, &[], &[step(4, 9.0)]);
        assert!(close(&path, &[1.0, 3f64.sqrt(), 3.0]), "{path:?}");
        // All three factors multiply.
        let path = multipliers(3, 0.1, &[step(1, 2.0)], &[step(2, 4.0)]);
        assert!(
            close(&path, &[1.0, 1.1 * 2.0 * 2.0, 1.21 * 2.0 * 4.0]),
            "{path:?}"
        );
    }
}
