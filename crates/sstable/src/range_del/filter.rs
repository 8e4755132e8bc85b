//! [`Filter`]: a quick "no fragment holds this key" for most keys outside them.
//!
//! Even with the directory, finding the fragment candidate of a key and checking its
//! end took about 40 instructions, and every get pays it once per memtable and table
//! holding tombstones, almost always to learn that the key lies outside them all. So
//! a filter answers first, for the key's *head* (see `probe.rs`) cut to its first
//! `t` bytes, the *group*: a range tombstone is usually narrow, so its fragments
//! reach few groups, and a key in another group is outside every fragment.
//!
//! Why it is exact: heads, and so groups, never decrease as keys grow. A key inside
//! `[start, end)` has a group between the start's and the end's, both included, and
//! the filter holds every group in those ranges. It answers "maybe" for them (and, as
//! a one-hash Bloom filter with 32 bits per group, for about 3% of the others), and
//! the full search decides those.
//!
//! `t` is the finest cut whose groups stay within a budget of 8 per fragment (at
//! least 16); when even one byte's groups exceed it, there is no filter.

/// The groups the fragments reach; see the module documentation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Filter {
    /// Shifting a head right by this keeps its first `t` bytes: `64 - 8t`.
    drop: u32,
    /// Shifting a hashed group right by this gives its bit: `64 - log2(bits)`.
    hash_shift: u32,
    /// The bit array; empty: no filter, every key may be inside.
    bits: Vec<u64>,
}

/// Fibonacci hashing's multiplier: consecutive groups land far apart.
const MULTIPLIER: u64 = 0x9E37_79B9_7F4A_7C15;
/// Bits per group: a false "maybe" for about 1 key in 32.
const BITS_PER_GROUP: usize = 32;
/// Groups allowed per fragment, and at least this many in all.
const GROUPS_PER_FRAGMENT: u128 = 8;
const MIN_GROUPS: u128 = 16;

impl Filter {
    /// The filter of fragments whose start and end heads are `starts` and `ends`
    /// (sorted, disjoint fragments).
    pub(crate) fn new(starts: &[u64], ends: &[u64]) -> Filter {
        let budget = (GROUPS_PER_FRAGMENT * starts.len() as u128).max(MIN_GROUPS);
        let Some(drop) = (0..8u32)
            .map(|bytes_cut| 8 * bytes_cut)
            .find(|&drop| groups(starts, ends, drop, budget).is_some())
        else {
            return Filter::default();
        };
        let count = groups(starts, ends, drop, budget).unwrap_or(budget) as usize;
        let bits = (count * BITS_PER_GROUP).next_power_of_two().max(64);
        let mut filter = Filter {
            drop,
            hash_shift: 64 - bits.trailing_zeros(),
            bits: vec![0; bits / 64],
        };
        for_each_group(starts, ends, drop, |group| filter.insert(group));
        filter
    }

    fn bit(&self, group: u64) -> usize {
        (group.wrapping_mul(MULTIPLIER) >> self.hash_shift) as usize
    }

    fn insert(&mut self, group: u64) {
        let bit = self.bit(group);
        if let Some(word) = self.bits.get_mut(bit / 64) {
            *word |= 1 << (bit % 64);
        }
    }

    /// Whether a key with head `h` may lie in a fragment: `false` only if none holds
    /// it.
    #[inline(always)]
    pub(crate) fn may_hold(&self, h: u64) -> bool {
        let bit = self.bit(h >> self.drop);
        match self.bits.get(bit / 64) {
            Some(word) => word >> (bit % 64) & 1 == 1,
            None => true,
        }
    }
}

/// How many distinct groups (heads shifted right by `drop`) the fragments reach, if
/// at most `budget`.
fn groups(starts: &[u64], ends: &[u64], drop: u32, budget: u128) -> Option<u128> {
    let mut count: u128 = 0;
    let mut next: u128 = 0; // the first group not yet counted
    for (&s, &e) in starts.iter().zip(ends) {
        let (first, last) = (u128::from(s >> drop).max(next), u128::from(e >> drop));
        if first <= last {
            count += last - first + 1;
            next = last + 1;
        }
        if count > budget {
            return None;
        }
    }
    Some(count)
}

/// Calls `f` on each distinct group the fragments reach (after [`groups`] said how
/// many, so this ends soon).
fn for_each_group(starts: &[u64], ends: &[u64], drop: u32, mut f: impl FnMut(u64)) {
    let mut next: Option<u64> = Some(0); // `None`: past `u64::MAX`, all done
    for (&s, &e) in starts.iter().zip(ends) {
        let Some(from) = next.map(|n| (s >> drop).max(n)) else {
            return;
        };
        let last = e >> drop;
        if from > last {
            continue;
        }
        for group in from..=last {
            f(group);
        }
        next = last.checked_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::quickcheck;

    quickcheck! {
        /// Every head in or at the edges of a fragment gets a "maybe".
        fn no_head_inside_is_refused(raw: Vec<(u64, u64)>, probes: Vec<u64>) -> bool {
            let mut points: Vec<u64> = raw.iter().flat_map(|&(a, b)| [a, b]).collect();
            points.sort_unstable();
            points.dedup();
            let (starts, ends): (Vec<u64>, Vec<u64>) =
                points.chunks_exact(2).map(|p| (p[0], p[1])).unzip();
            let filter = Filter::new(&starts, &ends);
            let inside = |h: u64| starts.iter().zip(&ends).any(|(&s, &e)| s <= h && h <= e);
            let edges = starts.iter().chain(&ends).flat_map(|&p| [p, p.saturating_add(1)]);
            probes.iter().copied().chain(edges).all(|h| !inside(h) || filter.may_hold(h))
        }
    }

    /// Decimal keys, narrow ranges: the filter refuses most heads outside them.
    #[test]
    fn narrow_ranges_of_decimal_keys_refuse_most_other_keys() {
        // The head after a shared prefix: six digits, zero-padded.
        let head = |i: u64| {
            let mut bytes = [0u8; 8];
            bytes[..6].copy_from_slice(format!("{i:06}").as_bytes());
            u64::from_be_bytes(bytes)
        };
        let (starts, ends): (Vec<u64>, Vec<u64>) = (0..50)
            .map(|r| (head(r * 4000 + 1000), head(r * 4000 + 1020)))
            .unzip();
        let filter = Filter::new(&starts, &ends);
        assert_eq!(filter.drop, 24, "groups of ten keys");
        let outside: Vec<u64> = (0..200_000)
            .filter(|i| !(1000..1020).contains(&(i % 4000)))
            .collect();
        let maybe = outside
            .iter()
            .filter(|&&i| filter.may_hold(head(i)))
            .count();
        assert!(
            maybe < outside.len() / 20,
            "{maybe} of {} outside keys",
            outside.len()
        );
        assert!((1000..1020).all(|i| filter.may_hold(head(i))));
    }
}
