//! The capacity search: the smallest fleet that passes, found by doubling and then bisection.
//!
//! It assumes that passing is monotone in the fleet size: once a fleet meets the SLO, every
//! larger one does. Under common random numbers (every fleet size sees the same arrivals,
//! lengths and drawn inputs) more servers only spread the same requests over more replicas,
//! so this holds but for router and failure effects; the sweep's tests check it on the
//! evaluated points.

use crate::error::Error;

/// The smallest multiple of `unit` servers, at most `max`, for which `passes` holds, and
/// whether the fleet one `unit` smaller was tried and failed. Tries `unit`, `2·unit`,
/// `4·unit`, … until one passes (the last try is `max` rounded down to a multiple of `unit`),
/// then bisects between the last failure and the first success: about `2·log2(answer)`
/// calls. `None` when even the largest allowed fleet fails.
pub fn smallest_passing(
    unit: u64,
    max: u64,
    mut passes: impl FnMut(u64) -> Result<bool, Error>,
) -> Result<Option<u64>, Error> {
    let unit = unit.max(1);
    let max_k = max / unit;
    if max_k == 0 {
        return Ok(None);
    }
    // Invariant: `low` fails (0 stands for "no fleet"), `high` passes.
    let mut low = 0;
    let mut k = 1;
    let high = loop {
        if passes(k * unit)? {
            break k;
        }
        low = k;
        if k == max_k {
            return Ok(None);
        }
        k = (k * 2).min(max_k);
    };
    let mut high = high;
    while high - low > 1 {
        let mid = low + (high - low) / 2;
        if passes(mid * unit)? {
            high = mid;
        } else {
            low = mid;
        }
    }
    Ok(Some(high * unit))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn search(unit: u64, max: u64, threshold: u64) -> (Option<u64>, Vec<u64>) {
        let mut tried = Vec::new();
        let found = smallest_passing(unit, max, |n| {
            tried.push(n);
            Ok(n >= threshold)
        })
        .unwrap();
        (found, tried)
    }

    #[test]
    fn finds_the_threshold_by_doubling_then_bisection() {
        for threshold in 1..=100 {
            let (found, tried) = search(1, 128, threshold);
            assert_eq!(found, Some(threshold));
            assert!(tried.len() <= 2 * 8, "{threshold}: {tried:?}");
            if threshold > 1 {
                assert!(
                    tried.contains(&(threshold - 1)),
                    "the next smaller fleet is tried"
                );
            }
        }
        assert_eq!(search(1, 128, 9).1, vec![1, 2, 4, 8, 16, 12, 10, 9]);
    }

    #[test]
    fn respects_the_unit_and_the_maximum() {
        assert_eq!(search(2, 64, 7).0, Some(8));
        assert_eq!(search(2, 64, 7).1, vec![2, 4, 8, 6]);
        assert_eq!(search(1, 10, 11), (None, vec![1, 2, 4, 8, 10]));
        assert_eq!(search(1, 10, 10).0, Some(10));
        assert_eq!(search(4, 3, 1), (None, vec![]));
    }
}
