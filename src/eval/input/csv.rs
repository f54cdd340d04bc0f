//! A small CSV reader (RFC 4180 quoting) for `families.csv` and FIW's
//! `mid.csv`; the writer is `crate::dataset::csv`.

/// The fields of one line. Quoted fields may hold commas and doubled
/// quotes; a line break inside quotes is not supported (neither table
/// has one).
pub fn fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.trim_end_matches(['\r', '\n']).chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut field)),
            _ => field.push(c),
        }
    }
    out.push(field);
    out
}

/// A table's rows, each with its 1-based line number for error messages.
pub type Rows = Vec<(usize, Vec<String>)>;

/// Header and rows of a CSV text, blank lines skipped.
pub fn table(text: &str) -> Option<(Vec<String>, Rows)> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines.next()?;
    let header = fields(header)
        .into_iter()
        .map(|h| h.trim().to_string())
        .collect();
    Some((header, lines.map(|(i, l)| (i + 1, fields(l))).collect()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_back_what_the_dataset_writer_writes() {
        let line = crate::dataset::csv::row(&["a", "b c", "d,e", "say \"hi\"", ""]);
        assert_eq!(super::fields(&line), ["a", "b c", "d,e", "say \"hi\"", ""]);
    }
}
