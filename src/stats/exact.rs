//! Sums whose bits do not depend on the order of their terms.
//!
//! Floating-point addition is not associative: adding the same terms in another order can
//! change the last bits. A run's replicas report into shared sums, and when they are
//! simulated apart (in parallel) their terms arrive in another order than in one simulation
//! of all of them. An [`ExactSum`] rounds each term once to fixed point (units of 2⁻³² in an
//! `i128`, about 2.3e-10) and adds integers, which is associative, so every order of the same
//! terms gives the same sum.

use std::ops::AddAssign;

/// Fractional bits of the fixed point.
const FRACTION_BITS: i32 = 32;
/// `2^FRACTION_BITS`, to convert back.
const ONE: f64 = (1u64 << FRACTION_BITS) as f64;
/// Bits of an `f64`'s significand, with the implicit leading one.
const SIGNIFICAND_BITS: i32 = 53;
/// Exponent bias of an `f64` plus its 52 stored fraction bits.
const EXPONENT_OFFSET: i32 = 1075;

/// A sum of reals, kept in fixed point so that it is the same in any order of its terms.
/// Terms are rounded to the nearest 2⁻³² and must be below 2⁹⁴ (about 2e28) in magnitude.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExactSum(i128);

impl ExactSum {
    /// Adds `term`.
    pub fn add(&mut self, term: f64) {
        self.0 += to_fixed(term);
    }

    /// The sum as an `f64` (rounded once, at the end).
    pub fn value(self) -> f64 {
        self.0 as f64 / ONE
    }
}

impl AddAssign for ExactSum {
    fn add_assign(&mut self, other: ExactSum) {
        self.0 += other.0;
    }
}

impl std::iter::Sum for ExactSum {
    fn sum<I: Iterator<Item = ExactSum>>(iter: I) -> ExactSum {
        let mut total = ExactSum::default();
        for term in iter {
            total += term;
        }
        total
    }
}

/// `x · 2³²` rounded to the nearest integer (ties away from zero), from the bits of `x`
/// (shifts only: no libm call, the same on every machine).
fn to_fixed(x: f64) -> i128 {
    assert!(x.is_finite(), "a sum's term must be finite, not {x}");
    let bits = x.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as i32;
    if exponent == 0 {
        // Zero, or subnormal: far below the resolution.
        return 0;
    }
    let significand = i128::from((bits & ((1 << 52) - 1)) | (1 << 52));
    let shift = exponent - EXPONENT_OFFSET + FRACTION_BITS;
    let magnitude = if shift >= 0 {
        assert!(
            shift < 127 - SIGNIFICAND_BITS,
            "a sum's term is too large: {x}"
        );
        significand << shift
    } else if shift > -SIGNIFICAND_BITS - 1 {
        (significand + (1 << (-shift - 1))) >> -shift
    } else {
        0
    };
    if bits >> 63 == 1 {
        -magnitude
    } else {
        magnitude
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum(terms: &[f64]) -> ExactSum {
        let mut s = ExactSum::default();
        for &t in terms {
            s.add(t);
        }
        s
    }

    #[test]
    fn terms_on_the_grid_are_kept_exactly() {
        assert_eq!(sum(&[1.0, 0.5, 0.25, 3.0e9, -2.0]).value(), 3.0e9 - 0.25);
        assert_eq!(to_fixed(1.0), 1 << 32);
        assert_eq!(to_fixed(-0.5), -(1 << 31));
        assert_eq!(to_fixed(0.0), 0);
        assert_eq!(
            to_fixed(2f64.powi(-33)),
            1,
            "half a unit rounds away from zero"
        );
        assert_eq!(to_fixed(2f64.powi(-34)), 0);
        assert_eq!(to_fixed(2f64.powi(90)), 1 << 122);
    }

    #[test]
    fn the_order_of_the_terms_does_not_change_the_bits() {
        // In f64, (0.1 + 0.2) + 0.3 and 0.1 + (0.2 + 0.3) differ in the last bit.
        assert_ne!((0.1 + 0.2) + 0.3, 0.1 + (0.2 + 0.3));
        let terms = [0.1, 0.2, 0.3, 1e15, 7.3e-3, 42.0];
        let mut reversed = terms;
        reversed.reverse();
        assert_eq!(sum(&terms), sum(&reversed));
        let (mut halves, second) = (sum(&terms[..3]), sum(&terms[3..]));
        halves += second;
        assert_eq!(halves, sum(&terms));
        assert!((sum(&terms).value() - terms.iter().sum::<f64>()).abs() < 1e-6);
    }

    #[test]
    fn rounding_is_within_half_a_unit_per_term() {
        let x = std::f64::consts::PI;
        assert!((sum(&[x]).value() - x).abs() <= 0.5 / ONE);
        assert!((sum(&[x; 1000]).value() - 1000.0 * x).abs() <= 500.0 / ONE + 1e-12);
    }
}
