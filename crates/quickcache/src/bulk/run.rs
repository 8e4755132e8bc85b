//! The loader's in-memory run: entries appended to one arena, sorted by key with the
//! latest of equal keys kept.

/// Entries as `(key start, key length, value length)` into one byte arena: ten
/// million small entries cost two allocations, not twenty million.
#[derive(Debug, Default)]
pub(crate) struct Run {
    arena: Vec<u8>,
    entries: Vec<(usize, u32, u32)>,
}

/// Bytes an entry costs besides its key and value.
pub(crate) const ENTRY_OVERHEAD: usize = size_of::<(usize, u32, u32)>();

impl Run {
    /// Appends an entry. Requires: key and value each shorter than 4 GiB (checked
    /// by the caller).
    pub(crate) fn push(&mut self, key: &[u8], value: &[u8]) {
        let at = self.arena.len();
        self.arena.extend_from_slice(key);
        self.arena.extend_from_slice(value);
        debug_assert!(u32::try_from(key.len()).is_ok() && u32::try_from(value.len()).is_ok());
        self.entries
            .push((at, key.len() as u32, value.len() as u32));
    }

    /// Heap bytes held.
    pub(crate) fn bytes(&self) -> usize {
        self.arena.len() + self.entries.len() * ENTRY_OVERHEAD
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn key(&self, e: &(usize, u32, u32)) -> &[u8] {
        &self.arena[e.0..e.0 + e.1 as usize]
    }

    /// Sorts by key; of equal keys only the last pushed stays (ties are broken by
    /// arena position, which grows with every push, so the last of each group is
    /// the latest; an unstable sort with that tie-break is faster than a stable one).
    pub(crate) fn sort_dedup(&mut self) {
        let mut entries = std::mem::take(&mut self.entries);
        entries.sort_unstable_by(|a, b| self.key(a).cmp(self.key(b)).then(a.0.cmp(&b.0)));
        let mut kept: Vec<(usize, u32, u32)> = Vec::with_capacity(entries.len());
        for e in entries {
            match kept.last_mut() {
                Some(last) if self.key(last) == self.key(&e) => *last = e,
                _ => kept.push(e),
            }
        }
        self.entries = kept;
    }

    /// The entries in their current order, as `(key, value)`.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.entries.iter().map(|&(at, k, v)| {
            let key_end = at + k as usize;
            (
                &self.arena[at..key_end],
                &self.arena[key_end..key_end + v as usize],
            )
        })
    }

    pub(crate) fn clear(&mut self) {
        self.arena.clear();
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorting_keeps_the_latest_of_equal_keys() {
        let mut run = Run::default();
        for (k, v) in [("b", "1"), ("a", "2"), ("b", "3"), ("c", "4"), ("a", "5")] {
            run.push(k.as_bytes(), v.as_bytes());
        }
        run.sort_dedup();
        let got: Vec<(&[u8], &[u8])> = run.iter().collect();
        let want: Vec<(&[u8], &[u8])> = vec![(b"a", b"5"), (b"b", b"3"), (b"c", b"4")];
        assert_eq!(got, want);
    }
}
