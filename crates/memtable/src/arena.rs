//! An append-only array whose slots never move: the storage under the skiplist.
//!
//! The skiplist needs memory that many threads fill and read at once without locks
//! and without `unsafe`. A `Vec` cannot grow while others hold references into it, so
//! [`Buckets`] grows by adding buckets instead: bucket `b` holds `FIRST << b` slots
//! and is created once, on first use, through a [`OnceLock`]. Slot `i` therefore has a
//! fixed address for the array's whole life, and reaching it costs a shift, a
//! leading-zero count and one load of an already-cached bucket pointer.
//!
//! Geometric buckets keep the unused tail below the used part (capacity is at most
//! twice what was claimed, plus the first bucket) and need only [`BUCKETS`] pointers
//! for any size memory can hold.

use crate::sync::OnceLock;

/// Slots in bucket 0.
#[cfg(not(quickcache_loom))]
const FIRST: usize = 1 << 12;

/// Slots in bucket 0 in the model-checked build: small, so that a few inserts
/// already grow the array by several buckets, and cheap, since every loom atomic
/// is tracked.
#[cfg(quickcache_loom)]
const FIRST: usize = 4;

/// Buckets: `FIRST * (2^36 - 1)`, about 2^48 slots, more than any memtable could
/// fill (the skiplist caps its node words lower, see its store).
const BUCKETS: usize = 36;

/// A lock-free, append-only array of `T`, each slot created by `T::default()`.
///
/// Thread safety: `Sync` when `T` is; slots are shared, so `T` provides its own
/// interior mutability (atomics, [`OnceLock`]). Creating a bucket briefly blocks the
/// other threads that need the same bucket; nothing else ever waits.
pub(crate) struct Buckets<T> {
    buckets: [OnceLock<Box<[T]>>; BUCKETS],
}

impl<T: Default> Buckets<T> {
    /// An array with no bucket allocated yet.
    pub(crate) fn new() -> Self {
        Buckets {
            buckets: std::array::from_fn(|_| OnceLock::new()),
        }
    }

    /// The slots from `index` to the end of its bucket, creating the bucket if
    /// needed; `None` past the last bucket.
    pub(crate) fn claim(&self, index: usize) -> Option<&[T]> {
        let (b, i) = locate(index)?;
        let bucket = self.buckets.get(b)?.get_or_init(|| {
            let len = FIRST << b;
            (0..len).map(|_| T::default()).collect()
        });
        bucket.get(i..)
    }

    /// The slots from `index` to the end of its bucket, if that bucket exists.
    ///
    /// Reading a slot that another thread claimed needs no more: its writer
    /// publishes it (see the skiplist) only after creating the bucket.
    #[inline(always)]
    pub(crate) fn get(&self, index: usize) -> Option<&[T]> {
        let (b, i) = locate(index)?;
        self.buckets.get(b)?.get()?.get(i..)
    }
}

/// Whether `index` and `index + len - 1` lie in the same bucket, so that `len` slots
/// from `index` form one slice.
pub(crate) fn fits(index: usize, len: usize) -> bool {
    let last = index.checked_add(len.saturating_sub(1));
    match (locate(index), last.and_then(locate)) {
        (Some((a, _)), Some((b, _))) => a == b,
        _ => false,
    }
}

/// The bucket of slot `index` and its position there. Bucket `b` covers
/// `FIRST * (2^b - 1) .. FIRST * (2^(b+1) - 1)`, so `index / FIRST + 1` lies in
/// `2^b .. 2^(b+1)`.
#[inline(always)]
fn locate(index: usize) -> Option<(usize, usize)> {
    let q = (index / FIRST).checked_add(1)?;
    let b = q.ilog2() as usize;
    let start = FIRST * ((1 << b) - 1);
    Some((b, index - start))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn buckets_tile_the_index_space() {
        assert_eq!(locate(0), Some((0, 0)));
        assert_eq!(locate(FIRST - 1), Some((0, FIRST - 1)));
        assert_eq!(locate(FIRST), Some((1, 0)));
        assert_eq!(locate(3 * FIRST - 1), Some((1, 2 * FIRST - 1)));
        assert_eq!(locate(3 * FIRST), Some((2, 0)));
        assert!(Buckets::<AtomicUsize>::new().claim(usize::MAX).is_none());
        assert!(fits(FIRST - 2, 2));
        assert!(!fits(FIRST - 2, 3));
    }

    #[test]
    fn claimed_slots_keep_their_values_as_the_array_grows() {
        let array = Buckets::<AtomicUsize>::new();
        assert!(array.get(5).is_none(), "no bucket yet");
        let mut ids = Vec::new();
        for i in (0..20 * FIRST).step_by(7) {
            array.claim(i).unwrap()[0].store(i, Ordering::Relaxed);
            ids.push(i);
        }
        for i in ids {
            assert_eq!(array.get(i).unwrap()[0].load(Ordering::Relaxed), i);
        }
    }
}
