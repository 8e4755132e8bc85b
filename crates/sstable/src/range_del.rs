//! Range tombstones, and their fragmentation into non-overlapping pieces with
//! sequence-number stacks (RocksDB's `FragmentedRangeTombstoneList`).
//!
//! A range tombstone `[start, end) @ s` deletes every entry of a user key in
//! `start <= key < end` written before `s` (sequence number `< s`); newer entries of
//! those keys are untouched. Tombstones may overlap arbitrarily. Fragmenting cuts the
//! key line at every start and end, so that each piece (*fragment*) is covered by the
//! same set of tombstones along its whole width; that set is kept as the fragment's
//! *stack* of sequence numbers, newest first:
//!
//! ```text
//! tombstones:  [a ------------- e) @ 5
//!                    [c ------------------ g) @ 9
//! fragments:   [a -- c) {5}  [c -- e) {9, 5}  [e -- g) {9}
//! ```
//!
//! Fragments are sorted and disjoint, so "which tombstones cover key k" is one binary
//! search, and the newest one a snapshot sees is the first stack entry at or below it.

pub(crate) mod block;
mod filter;
mod probe;

use crate::SeqNo;
use probe::Probe;

/// One range deletion as written: `[start, end) @ seqno`. Requires `start < end`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RangeTombstone {
    /// The first user key deleted.
    pub start: Vec<u8>,
    /// The first user key past the deletion (exclusive).
    pub end: Vec<u8>,
    /// The tombstone's sequence number: it hides entries older than this.
    pub seqno: SeqNo,
}

impl RangeTombstone {
    /// `[start, end) @ seqno`.
    pub fn new(start: impl Into<Vec<u8>>, end: impl Into<Vec<u8>>, seqno: SeqNo) -> Self {
        RangeTombstone {
            start: start.into(),
            end: end.into(),
            seqno,
        }
    }
}

/// One piece of the fragmented key line: every key in `[start, end)` is covered by
/// exactly the tombstones whose sequence numbers are in `seqnos`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragment {
    /// The first user key of the piece.
    pub start: Vec<u8>,
    /// The first user key past the piece (exclusive); `start < end`.
    pub end: Vec<u8>,
    /// Sequence numbers of the tombstones covering the piece, strictly descending,
    /// never empty.
    pub seqnos: Vec<SeqNo>,
}

/// Range tombstones, fragmented: sorted, disjoint fragments with their stacks.
///
/// Invariants (checked by the block decoder for bytes from disk, and asserted in
/// debug builds otherwise): fragments are sorted by start, `start < end`, each ends at
/// or before the next one starts, and each stack is non-empty and strictly
/// descending.
///
/// # Examples
/// ```
/// use quickcache_sstable::{FragmentedRangeTombstones, RangeTombstone, SeqNo};
///
/// let seq = |n| SeqNo::new(n).unwrap();
/// let list = FragmentedRangeTombstones::new(vec![
///     RangeTombstone::new("a", "e", seq(5)),
///     RangeTombstone::new("c", "g", seq(9)),
/// ]);
/// assert_eq!(list.fragments().len(), 3);
/// assert_eq!(list.max_covering(b"d", SeqNo::MAX), Some(seq(9)));
/// assert_eq!(list.max_covering(b"d", seq(8)), Some(seq(5))); // a snapshot before 9
/// assert_eq!(list.max_covering(b"g", SeqNo::MAX), None); // `end` is exclusive
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FragmentedRangeTombstones {
    fragments: Vec<Fragment>,
    /// What [`FragmentedRangeTombstones::find`] searches; derived from `fragments`.
    probe: Probe,
}

impl FragmentedRangeTombstones {
    /// Fragments `tombstones` (any order, overlaps and duplicates allowed; empty
    /// ranges, `start >= end`, are ignored).
    pub fn new(mut tombstones: Vec<RangeTombstone>) -> Self {
        tombstones.retain(|t| t.start < t.end);
        if tombstones.is_empty() {
            return FragmentedRangeTombstones::default();
        }
        tombstones.sort_unstable_by(|a, b| a.start.cmp(&b.start));
        let mut points: Vec<&[u8]> = tombstones
            .iter()
            .flat_map(|t| [t.start.as_slice(), t.end.as_slice()])
            .collect();
        points.sort_unstable();
        points.dedup();
        let mut fragments: Vec<Fragment> = Vec::new();
        let mut active: Vec<&RangeTombstone> = Vec::new();
        let mut next = 0;
        for pair in points.windows(2) {
            let (lo, hi) = (pair[0], pair[1]);
            while let Some(t) = tombstones.get(next).filter(|t| t.start.as_slice() <= lo) {
                active.push(t);
                next += 1;
            }
            active.retain(|t| t.end.as_slice() > lo);
            if active.is_empty() {
                continue;
            }
            let mut seqnos: Vec<SeqNo> = active.iter().map(|t| t.seqno).collect();
            seqnos.sort_unstable_by(|a, b| b.cmp(a));
            seqnos.dedup();
            push_merged(&mut fragments, lo, hi, seqnos);
        }
        FragmentedRangeTombstones::from_fragments(fragments)
    }

    /// Fragments already sorted, disjoint and with valid stacks (from the block
    /// decoder, which checked them).
    pub(crate) fn from_fragments(fragments: Vec<Fragment>) -> Self {
        debug_assert!(well_formed(&fragments), "fragments out of order");
        let probe = Probe::new(&fragments);
        FragmentedRangeTombstones { fragments, probe }
    }

    /// The fragments, sorted and disjoint.
    pub fn fragments(&self) -> &[Fragment] {
        &self.fragments
    }

    /// Whether there are no range tombstones.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.fragments.is_empty()
    }

    /// The index of the fragment holding `key`, if any.
    #[inline]
    fn find(&self, key: &[u8]) -> Option<usize> {
        self.probe.find(&self.fragments, key)
    }

    /// The newest tombstone covering `key` that `snapshot` sees: the largest sequence
    /// number `<= snapshot` among those covering it. An entry of `key` written before
    /// it (smaller sequence number) is deleted at that snapshot.
    #[inline]
    pub fn max_covering(&self, key: &[u8], snapshot: SeqNo) -> Option<SeqNo> {
        if self.fragments.is_empty() {
            return None;
        }
        let f = self.fragments.get(self.find(key)?)?;
        f.seqnos.iter().copied().find(|&s| s <= snapshot)
    }

    /// The stack of the fragment holding `key`: the sequence numbers of every
    /// tombstone covering it, newest first; empty if none does.
    pub fn covering(&self, key: &[u8]) -> &[SeqNo] {
        match self.find(key).and_then(|i| self.fragments.get(i)) {
            Some(f) => &f.seqnos,
            None => &[],
        }
    }

    /// Whether an entry of `key` at `seqno` is deleted by a tombstone `snapshot` sees.
    #[inline]
    pub fn covers(&self, key: &[u8], seqno: SeqNo, snapshot: SeqNo) -> bool {
        self.max_covering(key, snapshot).is_some_and(|t| seqno < t)
    }

    /// Every tombstone again, one per fragment and stack entry (so a tombstone that
    /// spans several fragments comes back in pieces): the input of a new
    /// fragmentation that merges these with others.
    pub fn tombstones(&self) -> impl Iterator<Item = RangeTombstone> + '_ {
        self.fragments.iter().flat_map(|f| {
            f.seqnos
                .iter()
                .map(|&s| RangeTombstone::new(f.start.clone(), f.end.clone(), s))
        })
    }

    /// The smallest start and the largest end, if any.
    pub fn bounds(&self) -> Option<(&[u8], &[u8])> {
        let first = self.fragments.first()?;
        let last = self.fragments.last()?;
        Some((&first.start, &last.end))
    }

    /// The smallest and the largest sequence number of any tombstone, if any.
    pub fn seqno_range(&self) -> Option<(SeqNo, SeqNo)> {
        let all = self.fragments.iter().flat_map(|f| f.seqnos.iter().copied());
        all.fold(None, |acc, s| match acc {
            None => Some((s, s)),
            Some((lo, hi)) => Some((lo.min(s), hi.max(s))),
        })
    }

    /// Number of (fragment, sequence number) pairs.
    pub fn len(&self) -> usize {
        self.fragments.iter().map(|f| f.seqnos.len()).sum()
    }
}

/// Appends `[lo, hi) {seqnos}`, extending the last fragment instead when it ends at
/// `lo` with the same stack (so a tombstone over a gap-free run stays one fragment).
fn push_merged(fragments: &mut Vec<Fragment>, lo: &[u8], hi: &[u8], seqnos: Vec<SeqNo>) {
    if let Some(last) = fragments.last_mut()
        && last.end.as_slice() == lo
        && last.seqnos == seqnos
    {
        last.end = hi.to_vec();
        return;
    }
    fragments.push(Fragment {
        start: lo.to_vec(),
        end: hi.to_vec(),
        seqnos,
    });
}

/// The invariants of [`FragmentedRangeTombstones`].
pub(crate) fn well_formed(fragments: &[Fragment]) -> bool {
    let each = fragments.iter().all(|f| {
        f.start < f.end && !f.seqnos.is_empty() && f.seqnos.windows(2).all(|w| w[0] > w[1])
    });
    each && fragments.windows(2).all(|w| w[0].end <= w[1].start)
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::quickcheck;

    fn seq(n: u64) -> SeqNo {
        SeqNo::new(n).unwrap()
    }

    fn t(start: &str, end: &str, s: u64) -> RangeTombstone {
        RangeTombstone::new(start, end, seq(s))
    }

    fn shape(list: &FragmentedRangeTombstones) -> Vec<(String, String, Vec<u64>)> {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let frags = list.fragments().iter();
        frags
            .map(|f| {
                (
                    text(&f.start),
                    text(&f.end),
                    f.seqnos.iter().map(|s| s.get()).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn overlapping_tombstones_split_into_stacks() {
        let list = FragmentedRangeTombstones::new(vec![t("a", "e", 5), t("c", "g", 9)]);
        let want = [
            ("a", "c", vec![5]),
            ("c", "e", vec![9, 5]),
            ("e", "g", vec![9]),
        ];
        let want: Vec<_> = want
            .into_iter()
            .map(|(a, b, s)| (a.to_owned(), b.to_owned(), s))
            .collect();
        assert_eq!(shape(&list), want);
    }

    #[test]
    fn gaps_stay_uncovered_and_adjacent_equal_stacks_merge() {
        let list =
            FragmentedRangeTombstones::new(vec![t("a", "b", 3), t("b", "c", 3), t("x", "z", 1)]);
        assert_eq!(list.fragments().len(), 2);
        assert_eq!(list.max_covering(b"bb", SeqNo::MAX), Some(seq(3)));
        assert_eq!(list.max_covering(b"m", SeqNo::MAX), None);
        assert_eq!(list.max_covering(b"z", SeqNo::MAX), None);
        assert_eq!(list.max_covering(b"x", SeqNo::MAX), Some(seq(1)));
    }

    #[test]
    fn empty_ranges_and_duplicates_vanish() {
        let list = FragmentedRangeTombstones::new(vec![t("b", "b", 3), t("c", "a", 4)]);
        assert!(list.is_empty());
        let list = FragmentedRangeTombstones::new(vec![t("a", "c", 3), t("a", "c", 3)]);
        assert_eq!(shape(&list), [("a".into(), "c".into(), vec![3])]);
    }

    #[test]
    fn a_snapshot_sees_only_older_tombstones() {
        let list = FragmentedRangeTombstones::new(vec![t("a", "z", 10), t("a", "z", 4)]);
        assert!(list.covers(b"k", seq(9), SeqNo::MAX));
        assert!(!list.covers(b"k", seq(11), SeqNo::MAX));
        assert!(
            !list.covers(b"k", seq(5), seq(9)),
            "the snapshot predates 10"
        );
        assert!(list.covers(b"k", seq(3), seq(9)));
        assert_eq!(list.max_covering(b"k", seq(3)), None);
    }

    #[test]
    fn refragmenting_the_pieces_gives_the_same_list() {
        let list =
            FragmentedRangeTombstones::new(vec![t("a", "e", 5), t("c", "g", 9), t("d", "f", 2)]);
        let again = FragmentedRangeTombstones::new(list.tombstones().collect());
        assert_eq!(again, list);
        assert_eq!(list.bounds(), Some((&b"a"[..], &b"g"[..])));
        assert_eq!(list.seqno_range(), Some((seq(2), seq(9))));
    }

    /// The brute-force answer: the newest covering tombstone at or below the snapshot.
    fn brute(ts: &[RangeTombstone], key: &[u8], snapshot: SeqNo) -> Option<SeqNo> {
        ts.iter()
            .filter(|t| t.start.as_slice() <= key && key < t.end.as_slice() && t.seqno <= snapshot)
            .map(|t| t.seqno)
            .max()
    }

    quickcheck! {
        fn agrees_with_brute_force(raw: Vec<(u8, u8, u8)>, probes: Vec<(u8, u8)>) -> bool {
            let ts: Vec<RangeTombstone> = raw
                .iter()
                .map(|&(a, b, s)| RangeTombstone::new([a % 16], [b % 16], seq(u64::from(s % 8) + 1)))
                .collect();
            let list = FragmentedRangeTombstones::new(ts.clone());
            well_formed(list.fragments())
                && probes.iter().all(|&(k, s)| {
                    let snapshot = seq(u64::from(s % 10));
                    list.max_covering(&[k % 17], snapshot) == brute(&ts, &[k % 17], snapshot)
                })
        }
    }
}
