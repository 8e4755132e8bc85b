//! `SortKey`: the part of a child's current key that the merge compares, kept beside
//! the heap.
//!
//! A heap comparison used to ask both children for their keys (a call down each
//! child's cursor stack) and compare the byte strings; a step makes two or three such
//! comparisons. Copying the compared parts once per move instead makes most
//! comparisons two integer compares on memory the merge already holds: the first
//! sixteen bytes of the user key as one big-endian integer (as the memtable's node
//! keys do), the key's length and the trailer. Only keys longer than sixteen bytes
//! with equal prefixes need the children's full keys.

use std::cmp::Ordering;

use quickcache_sstable::KeyRef;

/// Bytes of the user key held in the prefix.
const PREFIX_LEN: usize = 16;

/// The compared parts of one child's current key.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SortKey {
    /// The first sixteen bytes of the user key, zero-padded, big-endian.
    prefix: u128,
    len: usize,
    /// `seqno << 8 | kind`: larger sorts first among equal user keys.
    trailer: u64,
}

impl SortKey {
    #[inline]
    pub(crate) fn of(key: KeyRef<'_>) -> SortKey {
        let bytes = match key.user_key.first_chunk::<PREFIX_LEN>() {
            Some(head) => *head,
            None => {
                let mut padded = [0u8; PREFIX_LEN];
                for (b, k) in padded.iter_mut().zip(key.user_key) {
                    *b = *k;
                }
                padded
            }
        };
        SortKey {
            prefix: u128::from_be_bytes(bytes),
            len: key.user_key.len(),
            trailer: key.trailer(),
        }
    }

    /// The order of the two user keys, or `None` if it takes their bytes past the
    /// prefix.
    ///
    /// Different prefixes order the keys as the full keys do (the first differing
    /// byte is a real byte of both, or the padding of the shorter against a non-zero
    /// byte of the longer, of which the shorter is then a prefix). With equal
    /// prefixes, a key of at most sixteen bytes is its padded prefix cut to its
    /// length, so it is a prefix of the other key and the lengths decide; only two
    /// longer keys need their remaining bytes compared.
    #[inline]
    fn cmp_user(&self, other: &SortKey) -> Option<Ordering> {
        match self.prefix.cmp(&other.prefix) {
            Ordering::Equal if self.len > PREFIX_LEN && other.len > PREFIX_LEN => None,
            Ordering::Equal => Some(self.len.cmp(&other.len)),
            ord => Some(ord),
        }
    }

    /// The internal-key order of the keys these were taken from, or `None` if it takes
    /// the user keys' bytes past the prefix.
    #[inline(always)]
    pub(crate) fn cmp_quick(&self, other: &SortKey) -> Option<Ordering> {
        let user = self.cmp_user(other)?;
        Some(user.then_with(|| other.trailer.cmp(&self.trailer)))
    }

    /// The internal-key order of the keys these were taken from; `full` gives both
    /// user keys for the rare comparison the prefixes leave open.
    #[inline]
    pub(crate) fn cmp_with<'a>(
        &self,
        other: &SortKey,
        full: impl FnOnce() -> (&'a [u8], &'a [u8]),
    ) -> Ordering {
        let user = self.cmp_user(other).unwrap_or_else(|| {
            let (a, b) = full();
            a.cmp(b)
        });
        user.then_with(|| other.trailer.cmp(&self.trailer))
    }
}

#[cfg(test)]
mod tests {
    use quickcache_sstable::{SeqNo, ValueKind};
    use quickcheck::quickcheck;

    use super::*;

    quickcheck! {
        fn orders_as_internal_keys(a: Vec<u8>, b: Vec<u8>, shared: u8, sa: u8, sb: u8) -> bool {
            // A shared head of 0 to 20 bytes makes equal prefixes (and zero padding
            // against real zeros) common.
            let head = vec![0u8; usize::from(shared % 21)];
            let (a, b) = ([head.as_slice(), &a].concat(), [head.as_slice(), &b].concat());
            let ka = KeyRef::new(&a, SeqNo::new(u64::from(sa % 4)).unwrap_or(SeqNo::ZERO), ValueKind::Value);
            let kb = KeyRef::new(&b, SeqNo::new(u64::from(sb % 4)).unwrap_or(SeqNo::ZERO), ValueKind::Value);
            let got = SortKey::of(ka).cmp_with(&SortKey::of(kb), || (&a, &b));
            got == ka.cmp(&kb)
        }
    }
}
