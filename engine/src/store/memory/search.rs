//! The inventory's substring search without reading every identity: a trigram index over the
//! lowercased bytes of the searchable columns (name, ARN / id, unique id, owners), each
//! posting list the rows (u32, ascending) one of whose columns contains the trigram.
//! A search takes the rows on every list of its pattern's trigrams as candidates and checks
//! each with [`like`], the store's `ILIKE '%text%'` (where `%` and `_` in the text are wildcards).
//! Trigrams found in more than one row in [`COMMON`] are not listed (they narrow nothing);
//! a pattern made only of those, or without three literal bytes in a row, checks every row.

use super::columns::StrCol;

/// A trigram in more than `rows / COMMON` rows (and more than [`MIN_COMMON`]) is not listed.
const COMMON: usize = 16;
const MIN_COMMON: usize = 4096;

/// Trigram posting lists in one flat array.
#[derive(Debug, Default)]
pub(crate) struct Trigrams {
    /// Listed trigrams, ascending; list `i` is `postings[starts[i]..starts[i + 1]]`.
    keys: Vec<u32>,
    starts: Vec<u32>,
    postings: Vec<u32>,
    /// Trigrams too common to list, ascending.
    common: Vec<u32>,
}

fn trigram(w: &[u8]) -> u32 {
    (u32::from(w[0]) << 16) | (u32::from(w[1]) << 8) | u32::from(w[2])
}

/// The distinct trigrams of row `row` of `cols` (lowercased) into `out`.
fn row_trigrams(cols: &[&StrCol], row: usize, out: &mut Vec<u32>) {
    out.clear();
    for c in cols {
        let text = c.str(row).to_lowercase();
        out.extend(text.as_bytes().windows(3).map(trigram));
    }
    out.sort_unstable();
    out.dedup();
}

/// What a pattern's trigrams say about which rows may match.
pub(crate) enum Candidates {
    /// Only these rows (ascending) may match.
    Rows(Vec<u32>),
    /// Any row may: check them all.
    All,
}

impl Trigrams {
    /// Indexes `rows` rows of `cols`.
    pub(crate) fn build(rows: usize, cols: &[&StrCol]) -> Trigrams {
        let mut counts = vec![0u32; 1 << 24];
        let mut buf = Vec::new();
        for row in 0..rows {
            row_trigrams(cols, row, &mut buf);
            for t in &buf {
                counts[*t as usize] += 1;
            }
        }
        let limit = (rows / COMMON).max(MIN_COMMON) as u32;
        let mut out = Trigrams::default();
        let mut total = 0u32;
        // `counts` becomes each listed trigram's write cursor (u32::MAX: not listed).
        for (t, c) in counts.iter_mut().enumerate() {
            if *c == 0 {
                *c = u32::MAX;
            } else if *c > limit {
                out.common.push(t as u32);
                *c = u32::MAX;
            } else {
                out.keys.push(t as u32);
                out.starts.push(total);
                let n = *c;
                *c = total;
                total += n;
            }
        }
        out.starts.push(total);
        out.postings = vec![0; total as usize];
        for row in 0..rows {
            row_trigrams(cols, row, &mut buf);
            for t in &buf {
                let cursor = &mut counts[*t as usize];
                if *cursor != u32::MAX {
                    out.postings[*cursor as usize] = row as u32;
                    *cursor += 1;
                }
            }
        }
        out.keys.shrink_to_fit();
        out.starts.shrink_to_fit();
        out.common.shrink_to_fit();
        out
    }

    /// The rows whose columns may contain `pattern` (lowercased, `%`/`_` wildcards): the rows
    /// holding every listed trigram of its literal runs (intersected shortest list first).
    pub(crate) fn candidates(&self, pattern: &str) -> Candidates {
        let mut lists: Vec<&[u32]> = Vec::new();
        for literal in pattern.split(['%', '_']) {
            for w in literal.as_bytes().windows(3) {
                let t = trigram(w);
                match self.keys.binary_search(&t) {
                    Ok(i) => lists
                        .push(&self.postings[self.starts[i] as usize..self.starts[i + 1] as usize]),
                    Err(_) if self.common.binary_search(&t).is_ok() => {}
                    Err(_) => return Candidates::Rows(Vec::new()),
                }
            }
        }
        lists.sort_by_key(|l| l.len());
        let Some((first, rest)) = lists.split_first() else {
            return Candidates::All;
        };
        let mut rows = first.to_vec();
        for list in rest {
            if rows.len() < 16 {
                break;
            }
            rows.retain(|r| list.binary_search(r).is_ok());
        }
        Candidates::Rows(rows)
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        (self.keys.capacity()
            + self.starts.capacity()
            + self.postings.capacity()
            + self.common.capacity())
            * 4
    }
}

/// `text ILIKE '%' || pattern || '%'` with both already lowercased: `%` matches any run of
/// characters, `_` any one character, everything else itself.
pub(crate) fn like(text: &str, pattern: &str) -> bool {
    let mut rest = text;
    for segment in pattern.split('%') {
        if segment.is_empty() {
            continue;
        }
        match find(rest, segment) {
            Some(end) => rest = &rest[end..],
            None => return false,
        }
    }
    true
}

/// The end of the leftmost match of `segment` (no `%`; `_` = any character) in `text`.
fn find(text: &str, segment: &str) -> Option<usize> {
    if !segment.contains('_') {
        return text.find(segment).map(|i| i + segment.len());
    }
    let wanted: Vec<char> = segment.chars().collect();
    for (start, _) in text.char_indices() {
        let mut chars = text[start..].char_indices();
        let mut end = start;
        let mut ok = true;
        for w in &wanted {
            match chars.next() {
                Some((i, c)) if *w == '_' || c == *w => end = start + i + c.len_utf8(),
                _ => {
                    ok = false;
                    break;
                }
            }
        }
        if ok {
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_matches_substrings_with_wildcards() {
        assert!(like("svc-4242", "svc-42"));
        assert!(like("svc-4242", "c_42"));
        assert!(like("svc-4242", "s%2"));
        assert!(like("svc-4242", ""));
        assert!(!like("svc-4242", "svc-43"));
        assert!(!like("svc", "svc_"));
        assert!(like("aé-b", "é_b"));
        assert!(!like("ab", "b%a"));
    }

    #[test]
    fn candidates_cover_every_match() {
        let mut col = StrCol::default();
        let names: Vec<String> = (0..300).map(|i| format!("Svc-{i}")).collect();
        for n in &names {
            col.push(Some(n)).expect("fits");
        }
        let t = Trigrams::build(names.len(), &[&col]);
        for pattern in ["svc-12", "c-1_", "-29%9", "zz", "xyz", "sv"] {
            let expected: Vec<u32> = (0..300)
                .filter(|r| like(&names[*r as usize].to_lowercase(), pattern))
                .collect();
            let got: Vec<u32> = match t.candidates(pattern) {
                Candidates::Rows(rows) => rows
                    .iter()
                    .copied()
                    .filter(|r| like(&names[*r as usize].to_lowercase(), pattern))
                    .collect(),
                Candidates::All => expected.clone(),
            };
            assert_eq!(got, expected, "{pattern}");
        }
        assert!(matches!(t.candidates("xyz"), Candidates::Rows(r) if r.is_empty()));
        assert!(matches!(t.candidates("sv"), Candidates::All));
    }
}
