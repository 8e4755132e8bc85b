//! [`Probe`]: the fragments' boundaries as integers, so that finding the fragment
//! holding a key compares machine words rather than byte strings.
//!
//! Every get checks the range tombstones of each memtable and table it visits, so
//! this search is on the read path of keys no tombstone covers. A binary search over
//! byte-string starts costs a `memcmp` call per step. Instead, the prefix shared by
//! every boundary (start and end) is set aside, and each boundary keeps the next
//! 8 bytes after it, big-endian and zero-padded, as a `u64` (its *head*). A key that
//! lacks the shared prefix lies outside every fragment. Otherwise the heads order the
//! key against a boundary, except when they are equal, which only then takes a full
//! comparison: if `head(a) < head(b)` then `a < b` (at the first differing byte
//! either `a`'s is smaller, or `a` ended there and its padding is the zero).
//!
//! A binary search over all the start heads still took most of a probe (about 45
//! instructions with 50 fragments, twice per get when a memtable and a table hold
//! tombstones). So a *directory* narrows it first: the heads from the first start's
//! up are cut into `2^k` equal buckets, and for each bucket the directory holds how
//! many starts lie below it. A key's bucket is a subtraction and a shift, and its
//! position among the starts lies between its bucket's count and the next one's, a
//! range of a few starts at most unless the keys crowd a few buckets. (Keys that use
//! few byte values, such as decimal digits, leave most buckets empty: with 50
//! fragments over 200k decimal keys a bucket still holds about five starts.)
//!
//! Before either, a [`Filter`] of the key groups the fragments reach refuses most keys
//! outside them (see `filter.rs`); the search is left to the few it lets through.

use super::Fragment;
use super::filter::Filter;

/// The search accelerator of one fragment list; see the module documentation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Probe {
    /// The prefix every start and end shares.
    prefix: Vec<u8>,
    /// Its first 8 bytes as [`head`] reads them, and the mask of the bits they fill:
    /// with an 8-byte key, checking a prefix of at most 8 is one comparison.
    word: u64,
    mask: u64,
    /// The head of each fragment's start, in fragment order (so ascending).
    starts: Vec<u64>,
    /// The head of each fragment's end.
    ends: Vec<u64>,
    /// The first start's head: bucket 0 begins there.
    base: u64,
    /// Each bucket spans `1 << shift` heads.
    shift: u32,
    /// For each bucket `b`, how many starts lie below its first head
    /// (`base + (b << shift)`), then a last entry `starts.len()`. Empty without
    /// fragments.
    dir: Vec<u32>,
    /// Answers first: most keys outside every fragment stop there.
    filter: Filter,
}

/// The most directory bits: 4096 buckets (16 KiB) bound its memory however many
/// fragments there are.
const MAX_DIR_BITS: u32 = 12;
/// The most starts in a bucket that [`Probe::candidate`] steps through one by one.
const LINEAR_MAX: usize = 8;
/// Buckets per fragment, as a power of two: 16, so that keys that use few of the
/// byte values still spread over more than one bucket.
const DIR_BITS_PER_FRAGMENT: u32 = 4;

impl Probe {
    /// The probe of `fragments` (sorted and disjoint).
    pub(crate) fn new(fragments: &[Fragment]) -> Probe {
        let Some(first) = fragments.first() else {
            return Probe::default();
        };
        let mut len = first.start.len();
        for f in fragments {
            len = shared(&first.start[..len], &f.start);
            len = shared(&first.start[..len], &f.end);
        }
        let head_of = |k: &Vec<u8>| head(k, len);
        let filled = 8 * len.min(8) as u32;
        let starts: Vec<u64> = fragments.iter().map(|f| head_of(&f.start)).collect();
        let (base, shift, dir) = directory(&starts);
        let ends: Vec<u64> = fragments.iter().map(|f| head_of(&f.end)).collect();
        Probe {
            filter: Filter::new(&starts, &ends),
            prefix: first.start[..len].to_vec(),
            word: head(&first.start[..len], 0),
            mask: u64::MAX.checked_shr(filled).map_or(u64::MAX, |low| !low),
            ends,
            starts,
            base,
            shift,
            dir,
        }
    }

    /// The index in `fragments` (those this probe was built from) of the fragment
    /// holding `key`, if any.
    #[inline(always)]
    pub(crate) fn find(&self, fragments: &[Fragment], key: &[u8]) -> Option<usize> {
        debug_assert_eq!(fragments.len(), self.starts.len(), "probe of another list");
        // Without the shared prefix, `key` sorts below or above every boundary.
        let prefixed = match key.first_chunk::<8>() {
            Some(word) if self.prefix.len() <= 8 => {
                (u64::from_be_bytes(*word) ^ self.word) & self.mask == 0
            }
            _ => key.starts_with(&self.prefix),
        };
        if !prefixed {
            return None;
        }
        let h = head(key, self.prefix.len());
        if !self.filter.may_hold(h) {
            debug_assert!(
                !(fragments.iter()).any(|f| f.start.as_slice() <= key && key < f.end.as_slice()),
                "the filter refused a key inside a fragment"
            );
            return None;
        }
        let i = self.candidate(fragments, key, h)?;
        debug_assert_eq!(
            Some(i),
            self.searched(fragments, key, h, 0, self.starts.len())
        );
        let end = *self.ends.get(i)?;
        let inside = end > h || (end == h && key < fragments.get(i)?.end.as_slice());
        inside.then_some(i)
    }

    /// The last fragment starting at or before `key` (whose head is `h`): the
    /// directory gives the range of starts to look at, a short scan finishes.
    #[inline(always)]
    fn candidate(&self, fragments: &[Fragment], key: &[u8], h: u64) -> Option<usize> {
        // Below the first start's head no start is.
        let offset = h.checked_sub(self.base)?;
        let Some(last) = self.dir.len().checked_sub(2) else {
            // No directory (more fragments than it counts): search them all.
            return self.searched(fragments, key, h, 0, self.starts.len());
        };
        let bucket = usize::try_from(offset >> self.shift).map_or(last, |b| b.min(last));
        let &[lo, hi] = self.dir.get(bucket..bucket + 2)? else {
            return None;
        };
        let (lo, hi) = (lo as usize, hi as usize);
        let bucket = self.starts.get(lo..hi)?;
        // A bucket holds a few starts when keys spread: stepping over them costs
        // less than a binary search's setup; crowded buckets still get one.
        if bucket.len() > LINEAR_MAX {
            return self.searched(fragments, key, h, lo, hi);
        }
        let mut below = lo;
        for &s in bucket {
            if s >= h {
                // A tie can only be here: the next bucket's starts are above `h`.
                if s == h {
                    return self.tied(fragments, key, h);
                }
                break;
            }
            below += 1;
        }
        // `below >= 1`: the first start's head is at most `h`, and a tie with it
        // returned above. (Were it 0, the wrapped index would find no fragment.)
        Some(below.wrapping_sub(1))
    }

    /// [`Probe::candidate`] by binary search among starts `lo..hi`, which hold the
    /// last one below `h` (or `lo` is 0).
    #[inline(never)]
    fn searched(
        &self,
        fragments: &[Fragment],
        key: &[u8],
        h: u64,
        lo: usize,
        hi: usize,
    ) -> Option<usize> {
        let below = lo + self.starts.get(lo..hi)?.partition_point(|&s| s < h);
        match self.starts.get(below) {
            Some(&s) if s == h => self.tied(fragments, key, h),
            _ => below.checked_sub(1),
        }
    }

    /// [`Probe::find`]'s candidate when starts have the same head as `key` (rare):
    /// the last fragment starting at or before `key`, the heads ordering all but the
    /// tied ones.
    #[cold]
    #[inline(never)]
    fn tied(&self, fragments: &[Fragment], key: &[u8], h: u64) -> Option<usize> {
        let first = self.starts.partition_point(|&s| s < h);
        let ties = self.starts.get(first..)?.partition_point(|&s| s == h);
        let tied = fragments.get(first..first + ties)?;
        let at_or_before = first + tied.partition_point(|f| f.start.as_slice() <= key);
        at_or_before.checked_sub(1)
    }
}

/// The directory of ascending `starts`: the first head, the bucket shift and the
/// counts (see [`Probe::dir`]).
fn directory(starts: &[u64]) -> (u64, u32, Vec<u32>) {
    let (Some(&base), Some(&top)) = (starts.first(), starts.last()) else {
        return (0, 0, Vec::new());
    };
    let Ok(count) = u32::try_from(starts.len()) else {
        return (base, 0, Vec::new());
    };
    // 2^bits buckets, so that the span from the first start to the last fits.
    let fragments_log = usize::BITS - starts.len().leading_zeros();
    let bits = (fragments_log + DIR_BITS_PER_FRAGMENT).min(MAX_DIR_BITS);
    let span_bits = u64::BITS - (top - base).leading_zeros();
    let shift = span_bits.saturating_sub(bits);
    let buckets = ((top - base) >> shift) as usize + 1;
    let mut dir = Vec::with_capacity(buckets + 1);
    let mut below = 0;
    for b in 0..buckets as u64 {
        // No overflow: `b << shift <= top - base`.
        let first = base + (b << shift);
        below += starts
            .get(below..)
            .map_or(0, |rest| rest.partition_point(|&s| s < first));
        dir.push(below as u32); // at most `count`
    }
    dir.push(count);
    (base, shift, dir)
}

/// The length of the longest common prefix of `a` and `b`.
fn shared(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// The 8 bytes of `key` from `from` on, big-endian, zero-padded past its end.
#[inline]
fn head(key: &[u8], from: usize) -> u64 {
    if let Some(word) = key.get(from..).and_then(|r| r.first_chunk::<8>()) {
        return u64::from_be_bytes(*word);
    }
    // Fewer than 8 bytes left: if the key has 8, its last 8 shifted up by the bytes
    // before `from`, which leaves zeros below.
    if let Some(last) = key.last_chunk::<8>()
        && from <= key.len()
    {
        let before = 8 - (key.len() - from); // 1..=8
        return u64::from_be_bytes(*last)
            .checked_shl(8 * before as u32)
            .unwrap_or(0);
    }
    let mut bytes = [0u8; 8];
    for (b, k) in bytes.iter_mut().zip(key.get(from..).unwrap_or_default()) {
        *b = *k;
    }
    u64::from_be_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use quickcheck::quickcheck;

    use crate::range_del::FragmentedRangeTombstones;
    use crate::{RangeTombstone, SeqNo};

    /// A key from a small alphabet with a shared prefix (most of the time), long
    /// enough that heads tie and short enough that they pad.
    fn key(raw: &[u8], prefixed: bool) -> Vec<u8> {
        let mut k = if prefixed {
            b"user:".to_vec()
        } else {
            Vec::new()
        };
        k.extend(raw.iter().take(11).map(|b| b"\x0001az"[usize::from(b % 5)]));
        k
    }

    quickcheck! {
        fn finds_what_a_linear_search_finds(
            raw: Vec<(Vec<u8>, Vec<u8>, u8)>,
            probes: Vec<(Vec<u8>, bool)>
        ) -> bool {
            let ts: Vec<RangeTombstone> = raw
                .iter()
                .map(|(a, b, s)| {
                    let seq = SeqNo::new(u64::from(*s) + 1).unwrap_or(SeqNo::MAX);
                    RangeTombstone::new(key(a, true), key(b, true), seq)
                })
                .collect();
            let list = FragmentedRangeTombstones::new(ts);
            probes.iter().all(|(p, prefixed)| {
                let k = key(p, *prefixed);
                let linear = list.fragments().iter().position(|f| {
                    f.start.as_slice() <= k.as_slice() && k.as_slice() < f.end.as_slice()
                });
                list.find(&k) == linear
            })
        }
    }

    quickcheck! {
        /// Any bytes at all (heads up to `u64::MAX`, so buckets up to the top of the
        /// range), against the brute-force answer.
        fn finds_what_a_linear_search_finds_for_any_bytes(
            raw: Vec<(Vec<u8>, Vec<u8>)>,
            probes: Vec<Vec<u8>>
        ) -> bool {
            let seq = SeqNo::new(1).unwrap_or(SeqNo::MAX);
            let ts = raw.iter().map(|(a, b)| RangeTombstone::new(a.clone(), b.clone(), seq));
            let list = FragmentedRangeTombstones::new(ts.collect());
            let mut keys: Vec<&[u8]> = probes.iter().map(Vec::as_slice).collect();
            for f in list.fragments() {
                keys.extend([f.start.as_slice(), f.end.as_slice()]);
            }
            keys.iter().all(|k| {
                let linear = list.fragments().iter().position(|f| {
                    f.start.as_slice() <= *k && *k < f.end.as_slice()
                });
                list.find(k) == linear
            })
        }
    }

    /// Decimal keys crowd a few buckets (most byte values never occur); many
    /// fragments, every key around each boundary.
    #[test]
    fn crowded_buckets_still_find_every_fragment() {
        let key = |i: u64| format!("key{i:010}").into_bytes();
        let seq = SeqNo::new(5).unwrap();
        let ts = (0..300).map(|r| RangeTombstone::new(key(r * 997 + 13), key(r * 997 + 40), seq));
        let list = FragmentedRangeTombstones::new(ts.collect());
        assert_eq!(list.fragments().len(), 300);
        for i in 0..300 * 997 + 100 {
            let k = key(i);
            let want = list
                .fragments()
                .iter()
                .position(|f| f.start <= k && k < f.end);
            assert_eq!(list.find(&k), want, "key {i}");
        }
    }

    #[test]
    fn heads_pad_with_zeros_whatever_the_key_length() {
        use super::head;
        assert_eq!(head(b"abcdefghij", 2), u64::from_be_bytes(*b"cdefghij"));
        assert_eq!(head(b"abcdefghij", 4), u64::from_be_bytes(*b"efghij\0\0"));
        assert_eq!(
            head(b"abcdefghij", 9),
            u64::from_be_bytes(*b"j\0\0\0\0\0\0\0")
        );
        assert_eq!(head(b"abcdefghij", 10), 0);
        assert_eq!(head(b"abc", 1), u64::from_be_bytes(*b"bc\0\0\0\0\0\0"));
        assert_eq!(head(b"abc", 3), 0);
    }

    #[test]
    fn keys_without_the_shared_prefix_are_outside_and_ties_compare_in_full() {
        let seq = SeqNo::new(3).unwrap();
        let list = FragmentedRangeTombstones::new(vec![
            RangeTombstone::new("key0000000010", "key0000000012", seq),
            RangeTombstone::new("key0000000020", "key00000000200", seq),
        ]);
        assert_eq!(list.find(b"key0000000011"), Some(0));
        assert_eq!(list.find(b"key0000000012"), None);
        assert_eq!(list.find(b"key0000000020"), Some(1));
        assert_eq!(list.find(b"key00000000200"), None);
        assert_eq!(list.find(b"key"), None);
        assert_eq!(list.find(b"kez"), None);
        assert_eq!(list.find(b"a"), None);
    }
}
