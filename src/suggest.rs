//! "Did you mean …?": the nearest of a set of valid names to a mistyped one.

/// The candidate closest to `word`, if any is close enough to be a likely typo
/// (normalised Damerau–Levenshtein similarity of at least 0.6, or a prefix match, which
/// ranks above a mere likeness); ties go
/// to the more similar spelling, then to the earlier candidate.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word = word.to_lowercase();
    let mut best: Option<((f64, f64), &str)> = None;
    for candidate in candidates {
        let lower = candidate.to_lowercase();
        let similarity = strsim::normalized_damerau_levenshtein(&word, &lower);
        let prefix = lower.starts_with(&word) || word.starts_with(&lower);
        let score = (
            if prefix {
                similarity.max(0.9)
            } else {
                similarity
            },
            similarity,
        );
        if score.0 >= 0.6 && best.is_none_or(|(b, _)| score > b) {
            best = Some((score, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

/// ` (did you mean `x`?)` when a candidate is near, else nothing.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    nearest(word, candidates)
        .map(|name| format!(" (did you mean `{name}`?)"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_typos_and_ignores_strangers() {
        let keys = ["servers", "tensor_parallel", "pipeline_parallel", "router"];
        assert_eq!(nearest("servrs", keys), Some("servers"));
        assert_eq!(nearest("tensor_paralel", keys), Some("tensor_parallel"));
        assert_eq!(nearest("Router", keys), Some("router"));
        assert_eq!(nearest("banana", keys), None);
        assert_eq!(
            nearest("h100", ["h100-sxm", "h100-pcie", "a100-80gb"]),
            Some("h100-sxm")
        );
    }
}
