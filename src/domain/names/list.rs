//! The names in memory: one text of lowercased names in id order, and a search over it
//! that never matches across two names; and the rows the saved file holds.

/// Names of this many bytes or more have their length in `List::long`.
const LONG: u8 = u8::MAX;

/// Every this many names, where the next one starts is kept (`List::starts`).
const STRIDE: usize = 64;

/// Lowercased names in id order (index = id - 1): one text, each name followed by `\n`;
/// each name's length in one byte (with the few of 255 bytes or more apart), and where
/// every 64th name starts. 1M names of about 12 bytes: 14 MB, where the text and a `usize`
/// per name took 21 (9.3's RSS on a 10M-deal store, `onepoint-bench render`). A name may
/// hold a `\n` (none can since names refuse control characters, but a store may be older):
/// names are found by their lengths, never by the `\n`s.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct List {
    pub(super) text: String,
    /// Each name's length in bytes, or `LONG` when that is in `long`.
    lens: Vec<u8>,
    /// (index, length) of each name of `LONG` bytes or more, by index.
    long: Vec<(usize, usize)>,
    /// Where names 0, `STRIDE`, 2 * `STRIDE`, ... start in `text`.
    starts: Vec<usize>,
}

impl List {
    /// An empty list with room for `names` names of `bytes` bytes in all (their `\n`s too).
    pub fn with_capacity(names: usize, bytes: usize) -> List {
        List {
            text: String::with_capacity(bytes),
            lens: Vec::with_capacity(names),
            long: Vec::new(),
            starts: Vec::with_capacity(names.div_ceil(STRIDE)),
        }
    }

    pub fn len(&self) -> usize {
        self.lens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lens.is_empty()
    }

    /// The length of name `i` (< `len`), in bytes.
    fn len_of(&self, i: usize) -> usize {
        match self.lens[i] {
            LONG => {
                let at = self.long.partition_point(|&(j, _)| j < i);
                self.long[at].1
            }
            l => usize::from(l),
        }
    }

    /// Where name `i` (< `len`) starts in `text`: at most `STRIDE - 1` lengths added.
    fn start_of(&self, i: usize) -> usize {
        let block = i / STRIDE;
        (block * STRIDE..i).fold(self.starts[block], |s, j| s + self.len_of(j) + 1)
    }

    /// The name of member `i + 1`.
    pub fn get(&self, i: usize) -> Option<&str> {
        if i >= self.len() {
            return None;
        }
        let start = self.start_of(i);
        Some(&self.text[start..start + self.len_of(i)])
    }

    /// Adds the next member's name (lowercased).
    pub fn push(&mut self, name: &str) {
        self.index_next(self.text.len(), name.len());
        self.text.push_str(name);
        self.text.push('\n');
    }

    /// Counts in the next name, of `len` bytes starting at `start` in the text.
    fn index_next(&mut self, start: usize, len: usize) {
        let i = self.len();
        if i.is_multiple_of(STRIDE) {
            self.starts.push(start);
        }
        match u8::try_from(len) {
            Ok(l) if l < LONG => self.lens.push(l),
            _ => {
                self.lens.push(LONG);
                self.long.push((i, len));
            }
        }
    }

    /// The ids (ascending) of the members whose name holds `needle` (lowercased): one pass
    /// over the text, from each match on to the next name.
    pub fn matching(&self, needle: &str) -> Vec<u64> {
        if needle.is_empty() || needle.contains('\n') {
            // A match could cross names: test each one.
            return (0..self.len())
                .filter(|&i| self.get(i).is_some_and(|n| n.contains(needle)))
                .map(|i| i as u64 + 1)
                .collect();
        }
        let mut out = Vec::new();
        let mut from = 0;
        while let Some(at) = self.text[from..].find(needle) {
            // No `\n` in the needle: the match lies inside one name, the first ending after
            // it. Its block is the last starting at or before it; then name by name.
            let at = from + at;
            let block = self.starts.partition_point(|&s| s <= at) - 1;
            let mut i = block * STRIDE;
            let mut end = self.starts[block] + self.len_of(i);
            while end <= at {
                i += 1;
                end += 1 + self.len_of(i);
            }
            out.push(i as u64 + 1);
            from = end + 1;
        }
        out
    }

    /// The file's rows: every name's length (u32), then the text.
    pub(super) fn encode(&self, out: &mut Vec<u8>) {
        for i in 0..self.len() {
            out.extend_from_slice(&(self.len_of(i) as u32).to_le_bytes());
        }
        out.extend_from_slice(self.text.as_bytes());
    }

    /// `encode`'s rows for `count` names, or `None` when they are not that.
    pub(super) fn decode(count: usize, body: &[u8]) -> Option<List> {
        let (lens, text) = body.split_at_checked(count.checked_mul(4)?)?;
        // The text is taken whole at the end, with one copy.
        let mut list = List::with_capacity(count, 0);
        let mut start = 0usize;
        for l in lens.chunks_exact(4) {
            let len = u32::from_le_bytes(l.try_into().ok()?) as usize;
            let end = start.checked_add(len)?;
            if text.get(end) != Some(&b'\n') {
                return None;
            }
            list.index_next(start, len);
            start = end + 1;
        }
        if start != text.len() {
            return None;
        }
        // Every name ends at an ASCII `\n`, so every slice `get` takes is on char boundaries.
        list.text = String::from_utf8(text.to_vec()).ok()?;
        Some(list)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub(in crate::domain::names) fn list(names: &[&str]) -> List {
        let mut l = List::default();
        for n in names {
            l.push(n);
        }
        l
    }

    /// The ids whose name holds the needle, one name at a time.
    pub(in crate::domain::names) fn naive(names: &[&str], needle: &str) -> Vec<u64> {
        (0..names.len())
            .filter(|&i| names[i].contains(needle))
            .map(|i| i as u64 + 1)
            .collect()
    }

    const NAMES: [&str; 9] = [
        "kim minjun",
        "",
        "olivia park",
        "park park",
        "김민준",
        "a\nb",
        "émile kim",
        "kimkim",
        "m",
    ];

    #[test]
    fn matching_finds_each_name_once_and_never_across_names() {
        let l = list(&NAMES);
        assert_eq!(l.len(), NAMES.len());
        for (i, n) in NAMES.iter().enumerate() {
            assert_eq!(l.get(i), Some(*n));
        }
        assert_eq!(l.get(NAMES.len()), None);
        for needle in [
            "kim", "park", "민준", "m", "a", "b", "\n", "a\nb", "n\no", "mk", "", "zzz", "é",
        ] {
            assert_eq!(
                l.matching(needle),
                naive(&NAMES, needle),
                "needle {needle:?}"
            );
        }
    }

    /// Names around each `STRIDE` boundary, of every length class (empty, short, 254, 255
    /// and far more bytes, multi-byte, with a `\n`): each one read back by index and found
    /// by a search, as a list pushed and as one decoded from its rows.
    #[test]
    fn long_names_and_names_past_each_stride_are_found_where_they_are() {
        let long = "x".repeat(1000);
        let mut names: Vec<String> = Vec::new();
        for i in 0..(3 * STRIDE + 5) {
            names.push(match i % 7 {
                0 => String::new(),
                1 => "y".repeat(254),
                2 => "z".repeat(255),
                3 => format!("{long}{i}"),
                4 => format!("kim{i}"),
                5 => format!("é{i}\nq"),
                _ => format!("n{i}"),
            });
        }
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let pushed = list(&refs);
        let mut body = Vec::new();
        pushed.encode(&mut body);
        let decoded = List::decode(names.len(), &body).unwrap();
        assert_eq!(decoded, pushed);
        for l in [&pushed, &decoded] {
            assert_eq!(l.len(), names.len());
            for (i, n) in names.iter().enumerate() {
                assert_eq!(l.get(i), Some(n.as_str()), "name {i}");
            }
            assert_eq!(l.get(names.len()), None);
            for needle in [
                "kim", "x1", "xx", "y", "z", "é1", "q", "n6", "63", "64", "zy",
            ] {
                assert_eq!(
                    l.matching(needle),
                    naive(&refs, needle),
                    "needle {needle:?}"
                );
            }
        }
    }

    #[test]
    fn rows_round_trip_and_malformed_rows_are_refused() {
        let l = list(&NAMES);
        let mut body = Vec::new();
        l.encode(&mut body);
        assert_eq!(List::decode(NAMES.len(), &body), Some(l.clone()));
        assert_eq!(List::decode(NAMES.len() - 1, &body), None);
        assert_eq!(List::decode(NAMES.len(), &body[..body.len() - 1]), None);
        // A length that runs past its name's end.
        let mut bad = body.clone();
        bad[0] += 1;
        assert_eq!(List::decode(NAMES.len(), &bad), None);
        // Not UTF-8.
        let mut bad = body.clone();
        let at = body.len() - "m\n".len();
        bad[at] = 0xff;
        assert_eq!(List::decode(NAMES.len(), &bad), None);
    }
}
