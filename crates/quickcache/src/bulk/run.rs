//! The loader's in-memory run: entries appended to one arena, sorted by key with the
//! latest of equal keys kept.

use std::cmp::Ordering;

/// Key bytes held inline in each entry: keys up to this long sort without touching
/// the arena.
const HEAD_LEN: usize = 16;

/// One entry: its key's first [`HEAD_LEN`] bytes (big-endian, zero-padded) and where
/// its key and value lie in the arena.
///
/// Why the head: a sort that reads every key through the arena misses the cache on
/// nearly every comparison (the entries arrive in random order); comparing heads
/// settles most comparisons from the entry itself.
#[derive(Debug, Clone, Copy)]
struct Entry {
    head: u128,
    at: usize,
    key_len: u32,
    value_len: u32,
}

/// Entries in one byte arena: ten million small entries cost two allocations, not
/// twenty million.
#[derive(Debug, Default)]
pub(crate) struct Run {
    arena: Vec<u8>,
    entries: Vec<Entry>,
    /// Whether every key so far sorted strictly after the one before: such input needs
    /// neither a sort nor the removal of duplicates.
    out_of_order: bool,
}

/// Bytes an entry costs besides its key and value.
pub(crate) const ENTRY_OVERHEAD: usize = size_of::<Entry>();

/// The first [`HEAD_LEN`] bytes of `key` as a big-endian number, zero-padded.
fn head(key: &[u8]) -> u128 {
    let mut bytes = [0u8; HEAD_LEN];
    let n = key.len().min(HEAD_LEN);
    bytes[..n].copy_from_slice(&key[..n]);
    u128::from_be_bytes(bytes)
}

impl Run {
    /// Appends an entry. Requires: key and value each shorter than 4 GiB (checked
    /// by the caller).
    pub(crate) fn push(&mut self, key: &[u8], value: &[u8]) {
        debug_assert!(u32::try_from(key.len()).is_ok() && u32::try_from(value.len()).is_ok());
        let entry = Entry {
            head: head(key),
            at: self.arena.len(),
            key_len: key.len() as u32,
            value_len: value.len() as u32,
        };
        if !self.out_of_order
            && let Some(last) = self.entries.last()
        {
            self.out_of_order = self.cmp(last, &entry, key) != Ordering::Less;
        }
        self.arena.extend_from_slice(key);
        self.arena.extend_from_slice(value);
        self.entries.push(entry);
    }

    /// `a` against `b`, whose key is `b_key` (`b` may not be in the arena yet).
    fn cmp(&self, a: &Entry, b: &Entry, b_key: &[u8]) -> Ordering {
        a.head.cmp(&b.head).then_with(|| {
            if a.key_len as usize <= HEAD_LEN && b.key_len as usize <= HEAD_LEN {
                // Equal heads of short keys: they differ at most by trailing zero
                // bytes, so the shorter sorts first.
                a.key_len.cmp(&b.key_len)
            } else {
                self.key(a).cmp(b_key)
            }
        })
    }

    /// Heap bytes held.
    pub(crate) fn bytes(&self) -> usize {
        self.arena.len() + self.entries.len() * ENTRY_OVERHEAD
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries held.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    fn key(&self, e: &Entry) -> &[u8] {
        &self.arena[e.at..e.at + e.key_len as usize]
    }

    /// Sorts by key; of equal keys only the last pushed stays (ties are broken by
    /// arena position, which grows with every push, so the last of each group is
    /// the latest; an unstable sort with that tie-break is faster than a stable one).
    /// Input pushed in strictly ascending order is left as it is.
    pub(crate) fn sort_dedup(&mut self) {
        if !self.out_of_order {
            return;
        }
        let mut entries = std::mem::take(&mut self.entries);
        entries.sort_unstable_by(|a, b| self.cmp(a, b, self.key(b)).then(a.at.cmp(&b.at)));
        // In place (no second entry vector): of each group of equal keys the first
        // slot stays and takes the group's last, latest, entry.
        entries.dedup_by(|later, kept| {
            let same = self.cmp(kept, later, self.key(later)) == Ordering::Equal;
            if same {
                *kept = *later;
            }
            same
        });
        self.entries = entries;
        self.out_of_order = false;
    }

    /// Entry `i` in the current order, as `(key, value)`.
    pub(crate) fn get(&self, i: usize) -> Option<(&[u8], &[u8])> {
        let e = self.entries.get(i)?;
        let key_end = e.at + e.key_len as usize;
        Some((
            &self.arena[e.at..key_end],
            &self.arena[key_end..key_end + e.value_len as usize],
        ))
    }

    /// The entries in their current order, as `(key, value)`.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        (0..self.entries.len()).filter_map(|i| self.get(i))
    }

    /// Empties the run, keeping its allocations for the next one.
    pub(crate) fn clear(&mut self) {
        self.arena.clear();
        self.entries.clear();
        self.out_of_order = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(entries: &[(&str, &str)]) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut run = Run::default();
        for (k, v) in entries {
            run.push(k.as_bytes(), v.as_bytes());
        }
        run.sort_dedup();
        run.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect()
    }

    fn owned(entries: &[(&str, &str)]) -> Vec<(Vec<u8>, Vec<u8>)> {
        let pairs = entries.iter();
        pairs
            .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn sorting_keeps_the_latest_of_equal_keys() {
        let got = sorted(&[("b", "1"), ("a", "2"), ("b", "3"), ("c", "4"), ("a", "5")]);
        assert_eq!(got, owned(&[("a", "5"), ("b", "3"), ("c", "4")]));
    }

    #[test]
    fn keys_past_the_head_and_trailing_zeros_sort_bytewise() {
        let long = "0123456789abcdefZ";
        let longer = "0123456789abcdefZZ";
        let input = [
            (longer, "1"),
            ("a\0", "2"),
            (long, "3"),
            ("a", "4"),
            (longer, "5"),
        ];
        let got = sorted(&input);
        let want = [(long, "3"), (longer, "5"), ("a", "4"), ("a\0", "2")];
        assert_eq!(got, owned(&want));
    }

    #[test]
    fn ascending_input_is_detected_and_a_repeat_is_not_ascending() {
        let mut run = Run::default();
        for k in ["a", "b", "c"] {
            run.push(k.as_bytes(), b"");
        }
        assert!(!run.out_of_order);
        run.push(b"c", b"again");
        assert!(run.out_of_order);
        run.sort_dedup();
        assert_eq!(run.get(2), Some((&b"c"[..], &b"again"[..])));
        assert_eq!(run.len(), 3);
    }
}
