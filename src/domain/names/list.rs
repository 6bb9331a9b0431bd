//! The names in memory: one text of lowercased names in id order, and a search over it
//! that never matches across two names; and the rows the saved file holds.

/// Lowercased names in id order (index = id - 1): one text, each name followed by `\n`,
/// and where each one's `\n` is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct List {
    pub(super) text: String,
    pub(super) ends: Vec<usize>,
}

impl List {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The name of member `i + 1`.
    pub fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] + 1 };
        Some(&self.text[start..end])
    }

    /// Adds the next member's name (lowercased).
    pub fn push(&mut self, name: &str) {
        self.text.push_str(name);
        self.ends.push(self.text.len());
        self.text.push('\n');
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
            // No `\n` in the needle: the match lies inside one name, the first ending after it.
            let i = self.ends.partition_point(|&e| e <= from + at);
            out.push(i as u64 + 1);
            from = self.ends[i] + 1;
        }
        out
    }

    /// The file's rows: every name's length (u32), then the text.
    pub(super) fn encode(&self, out: &mut Vec<u8>) {
        let mut start = 0;
        for &end in &self.ends {
            out.extend_from_slice(&((end - start) as u32).to_le_bytes());
            start = end + 1;
        }
        out.extend_from_slice(self.text.as_bytes());
    }

    /// `encode`'s rows for `count` names, or `None` when they are not that.
    pub(super) fn decode(count: usize, body: &[u8]) -> Option<List> {
        let (lens, text) = body.split_at_checked(count.checked_mul(4)?)?;
        let mut ends = Vec::with_capacity(count);
        let mut start = 0usize;
        for l in lens.chunks_exact(4) {
            let end = start.checked_add(u32::from_le_bytes(l.try_into().ok()?) as usize)?;
            if text.get(end) != Some(&b'\n') {
                return None;
            }
            ends.push(end);
            start = end + 1;
        }
        if start != text.len() {
            return None;
        }
        // Every name ends at an ASCII `\n`, so every slice `get` takes is on char boundaries.
        let text = String::from_utf8(text.to_vec()).ok()?;
        Some(List { text, ends })
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
