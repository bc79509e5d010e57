//! Range checks for input values, each returning an [`InputError`] that names the field,
//! the value and what was expected.

use crate::error::InputError;

/// Requires a finite value above zero.
pub fn positive(field: &str, value: f64) -> Result<(), InputError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(InputError::field(
            field,
            format!("expected a positive number, got {value}"),
        ))
    }
}

/// Requires a finite value of zero or more.
pub fn non_negative(field: &str, value: f64) -> Result<(), InputError> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(InputError::field(
            field,
            format!("expected a number ≥ 0, got {value}"),
        ))
    }
}

/// Requires a finite value of at least `min`; `what` names it: "a price", "a PUE".
pub fn min(field: &str, value: f64, min: f64, what: &str) -> Result<(), InputError> {
    if value.is_finite() && value >= min {
        Ok(())
    } else {
        Err(InputError::field(
            field,
            format!("expected {what} ≥ {min}, got {value}"),
        ))
    }
}

/// Requires a fraction in (0, 1], such as an efficiency.
pub fn fraction(field: &str, value: f64) -> Result<(), InputError> {
    if value.is_finite() && value > 0.0 && value <= 1.0 {
        Ok(())
    } else {
        Err(InputError::field(
            field,
            format!("expected a fraction above 0 and at most 1, got {value}"),
        ))
    }
}

/// Requires a whole number of at least `min`.
pub fn at_least(field: &str, value: u64, min: u64) -> Result<(), InputError> {
    if value >= min {
        Ok(())
    } else {
        Err(InputError::field(
            field,
            format!("must be at least {min}, got {value}"),
        ))
    }
}

/// Requires a whole number no larger than `max`, the value of what `max_name` names.
pub fn at_most(field: &str, value: u64, max: u64, max_name: &str) -> Result<(), InputError> {
    if value <= max {
        Ok(())
    } else {
        Err(InputError::field(
            field,
            format!("cannot exceed {max_name} ({max}), got {value}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_accept_and_reject_their_edges() {
        assert!(positive("x", 1e-9).is_ok());
        assert!(positive("x", 0.0).is_err());
        assert!(positive("x", f64::NAN).is_err());
        assert!(non_negative("x", 0.0).is_ok());
        assert!(non_negative("x", -1.0).is_err());
        assert!(min("x", 1.0, 1.0, "a PUE").is_ok());
        let err = min("facility.pue", 0.9, 1.0, "a PUE").unwrap_err();
        assert_eq!(err.to_string(), "facility.pue: expected a PUE ≥ 1, got 0.9");
        assert!(fraction("x", 1.0).is_ok());
        assert!(fraction("x", 1.01).is_err());
        assert!(fraction("x", 0.0).is_err());
        assert!(at_least("x", 1, 1).is_ok());
        assert!(at_most("x", 3, 3, "y").is_ok());
        let err = at_most("moe.active", 9, 8, "moe.experts").unwrap_err();
        assert_eq!(
            err.to_string(),
            "moe.active: cannot exceed moe.experts (8), got 9"
        );
        let err = at_least("fleet.servers", 0, 1).unwrap_err();
        assert_eq!(err.to_string(), "fleet.servers: must be at least 1, got 0");
    }
}
