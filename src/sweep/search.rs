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
    passes: impl FnMut(u64) -> Result<bool, Error>,
) -> Result<Option<u64>, Error> {
    smallest_passing_from(unit, unit, max, passes)
}

/// [`smallest_passing`] for a search that knows every fleet smaller than `from` fails (a
/// growth plan whose load only rose since it last searched): tries `from`, then
/// `from + unit`, `from + 3·unit`, `from + 7·unit`, … (the step doubling) until one passes,
/// then bisects. From `unit` it tries exactly what `smallest_passing` tries; from the last
/// answer, a load that grew a little costs one or two calls. `from` is rounded up to a
/// multiple of `unit`.
pub fn smallest_passing_from(
    unit: u64,
    from: u64,
    max: u64,
    mut passes: impl FnMut(u64) -> Result<bool, Error>,
) -> Result<Option<u64>, Error> {
    let unit = unit.max(1);
    let max_k = max / unit;
    let first = from.div_ceil(unit).max(1);
    if first > max_k {
        return Ok(None);
    }
    // Invariant: `low` fails (`first − 1` stands for "known to fail"), `high` passes.
    let mut low = first - 1;
    let mut step = 1;
    let mut k = first;
    let high = loop {
        if passes(k * unit)? {
            break k;
        }
        low = k;
        if k == max_k {
            return Ok(None);
        }
        k = (k + step).min(max_k);
        step *= 2;
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

    #[test]
    fn a_search_from_a_known_failure_steps_up_then_bisects() {
        let from = |unit: u64, start: u64, max: u64, threshold: u64| {
            let mut tried = Vec::new();
            let found = smallest_passing_from(unit, start, max, |n| {
                tried.push(n);
                Ok(n >= threshold)
            })
            .unwrap();
            (found, tried)
        };
        // The last answer still passes: one call.
        assert_eq!(from(1, 5, 128, 5), (Some(5), vec![5]));
        assert_eq!(
            from(1, 5, 128, 3),
            (Some(5), vec![5]),
            "smaller ones assumed to fail"
        );
        // One more: two calls. Further: 5, 6, 8, 12, then bisection between 8 and 12.
        assert_eq!(from(1, 5, 128, 6), (Some(6), vec![5, 6]));
        assert_eq!(from(1, 5, 128, 10), (Some(10), vec![5, 6, 8, 12, 10, 9]));
        // Units: 5 rounds up to 6 = 3 units.
        assert_eq!(from(2, 5, 64, 9), (Some(10), vec![6, 8, 12, 10]));
        assert_eq!(from(1, 9, 8, 1), (None, vec![]));
        assert_eq!(from(1, 7, 8, 20), (None, vec![7, 8]));
    }
}
