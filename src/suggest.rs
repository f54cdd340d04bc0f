//! Did-you-mean hints: the known name a misspelt one most likely meant.
//! A leaf module, so that the scenario's diagnostics and the pedigree's
//! checks share it without importing each other.

/// The candidate closest to `word` by edit distance, if it is close enough to
/// be a likely typo (case is ignored).
pub fn closest<'c>(word: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    let word_lower = word.to_lowercase();
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (edit_distance(&word_lower, &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Edit distance in characters where swapping two neighbours counts as one
/// edit (optimal string alignment), since swaps are the commonest typo.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    d[0] = (0..=b.len()).collect();
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_only_close_names() {
        assert_eq!(closest("fahter", ["father", "mother"]), Some("father"));
        assert_eq!(closest("Mal", ["Male", "Female"]), Some("Male"));
        assert_eq!(closest("eyse", ["eyes", "ears", "nose"]), Some("eyes"));
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(closest("zzz", ["father", "mother"]), None);
    }
}
