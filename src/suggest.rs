//! "Did you mean …?" for names typed by people: the known name most similar to
//! a wrong one (Jaro-Winkler similarity, via `strsim`).

/// The candidate most similar to `wrong`, if its similarity (0–1) exceeds
/// `min_similarity`.
pub fn closest<'a>(
    wrong: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    min_similarity: f64,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (strsim::jaro_winkler(wrong, candidate), candidate))
        .filter(|(score, _)| *score > min_similarity)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}
