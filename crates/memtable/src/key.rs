//! The memtable's node key: an internal key laid out so that most comparisons never
//! leave the skiplist node.
//!
//! A plain `Vec<u8>` key makes every comparison chase a pointer to the heap. A
//! [`NodeKey`] keeps, inline in the node, the first sixteen bytes of the user key as
//! two big-endian integers (the *prefix*) and the packed `seqno << 8 | kind` trailer.
//! Keys that differ in their first sixteen bytes (random keys, but also keys sharing a
//! common 8-byte start such as zero-padded numbers or `user:0000...`) compare with two
//! integer compares on memory the skiplist has already loaded. On equal prefixes, keys
//! of at most sixteen bytes are ordered by their lengths alone (see
//! [`cmp_equal_prefix`]); only longer keys have their heap bytes compared.
//!
//! The key and the value share one heap allocation (`data`), so an insert costs one
//! allocation besides the skiplist node.
//!
//! Lookups must not allocate a `NodeKey`. crossbeam-skiplist 0.1.3 searches with any
//! `Q: Ord + ?Sized` that the key type can `Borrow` as; [`NodeKey`] borrows as the
//! trait object `dyn AsParts`, which a stack-allocated [`KeyParts`] built from the
//! caller's slice also implements. Both sides compare through [`KeyParts::cmp`], so
//! the `Borrow` contract (same order for the key and its borrowed form) holds.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;

use quickcache_sstable::{KeyRef, SeqNo, ValueKind};

/// Bytes of the user key held inline in the prefix.
const PREFIX_LEN: usize = 16;

/// The first sixteen bytes of `user_key`, zero-padded, as two big-endian integers
/// (compared as a pair, most significant first).
///
/// Different prefixes order user keys the same way the full keys do: the first
/// differing byte is either a real byte of both keys, or the end of the shorter key
/// (padding 0) against a byte of the longer key, which is then > 0 and the shorter key
/// is its prefix. Equal prefixes need [`cmp_equal_prefix`].
fn prefix_of(user_key: &[u8]) -> (u64, u64) {
    let mut bytes = [0u8; PREFIX_LEN];
    let n = user_key.len().min(PREFIX_LEN);
    bytes[..n].copy_from_slice(&user_key[..n]);
    let (hi, lo) = bytes.split_at(8);
    let word = |b: &[u8]| u64::from_be_bytes(b.try_into().unwrap_or([0; 8]));
    (word(hi), word(lo))
}

/// The order of two user keys whose prefixes are equal.
///
/// If both keys fit in the prefix, each is the common padded prefix cut to its length,
/// so the shorter is a prefix of the longer (their difference is zero padding) and the
/// lengths decide, without reading the key bytes on the heap. Otherwise the bytes do.
fn cmp_equal_prefix(a: &[u8], b: &[u8]) -> Ordering {
    if a.len() <= PREFIX_LEN && b.len() <= PREFIX_LEN {
        a.len().cmp(&b.len())
    } else {
        a.cmp(b)
    }
}

/// The comparable parts of an internal key, borrowed. Its order is the internal key
/// order of [`KeyRef`]: user key ascending, then trailer descending (newer first).
#[derive(Clone, Copy)]
pub(crate) struct KeyParts<'a> {
    prefix: (u64, u64),
    trailer: u64,
    user_key: &'a [u8],
}

impl<'a> KeyParts<'a> {
    /// The parts of `key`; used as a search probe.
    pub(crate) fn of(key: KeyRef<'a>) -> Self {
        KeyParts {
            prefix: prefix_of(key.user_key),
            trailer: key.trailer(),
            user_key: key.user_key,
        }
    }
}

impl Ord for KeyParts<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.prefix
            .cmp(&other.prefix)
            .then_with(|| cmp_equal_prefix(self.user_key, other.user_key))
            .then_with(|| other.trailer.cmp(&self.trailer))
    }
}

impl PartialOrd for KeyParts<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for KeyParts<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for KeyParts<'_> {}

/// Anything that can present itself as [`KeyParts`]: the stored [`NodeKey`] and a
/// borrowed probe. The skiplist compares both through this trait object.
pub(crate) trait AsParts {
    /// The comparable parts.
    fn parts(&self) -> KeyParts<'_>;
}

impl AsParts for KeyParts<'_> {
    fn parts(&self) -> KeyParts<'_> {
        *self
    }
}

impl Ord for dyn AsParts + '_ {
    fn cmp(&self, other: &Self) -> Ordering {
        self.parts().cmp(&other.parts())
    }
}

impl PartialOrd for dyn AsParts + '_ {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for dyn AsParts + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for dyn AsParts + '_ {}

/// An internal key and its value, owned by one skiplist node.
///
/// Invariant: `key_len <= data.len()`; `data[..key_len]` is the user key and
/// `data[key_len..]` the value (empty for tombstones).
pub(crate) struct NodeKey {
    prefix: (u64, u64),
    seqno: SeqNo,
    key_len: usize,
    data: Box<[u8]>,
    kind: ValueKind,
}

impl NodeKey {
    /// A node key holding `key` and `value` in one allocation.
    pub(crate) fn new(key: KeyRef<'_>, value: &[u8]) -> Self {
        let mut data = Vec::with_capacity(key.user_key.len() + value.len());
        data.extend_from_slice(key.user_key);
        data.extend_from_slice(value);
        NodeKey {
            prefix: prefix_of(key.user_key),
            seqno: key.seqno,
            key_len: key.user_key.len(),
            data: data.into_boxed_slice(),
            kind: key.kind,
        }
    }

    /// The user key.
    pub(crate) fn user_key(&self) -> &[u8] {
        &self.data[..self.key_len]
    }

    /// The value; empty for tombstones.
    pub(crate) fn value(&self) -> &[u8] {
        &self.data[self.key_len..]
    }

    /// The sequence number.
    pub(crate) fn seqno(&self) -> SeqNo {
        self.seqno
    }

    /// The internal key.
    pub(crate) fn key(&self) -> KeyRef<'_> {
        KeyRef::new(self.user_key(), self.seqno, self.kind)
    }

    /// Bytes of key and value held on the heap.
    pub(crate) fn data_len(&self) -> usize {
        self.data.len()
    }
}

impl AsParts for NodeKey {
    fn parts(&self) -> KeyParts<'_> {
        KeyParts {
            prefix: self.prefix,
            trailer: self.key().trailer(),
            user_key: self.user_key(),
        }
    }
}

impl<'a> Borrow<dyn AsParts + 'a> for NodeKey {
    fn borrow(&self) -> &(dyn AsParts + 'a) {
        self
    }
}

impl Ord for NodeKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.parts().cmp(&other.parts())
    }
}

impl PartialOrd for NodeKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for NodeKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for NodeKey {}

impl fmt::Debug for NodeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.key().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::quickcheck;

    fn key(user: &[u8], seq: u64, tomb: bool) -> KeyRef<'_> {
        let kind = if tomb {
            ValueKind::Tombstone
        } else {
            ValueKind::Value
        };
        KeyRef::new(user, SeqNo::new(seq & SeqNo::MAX.get()).unwrap(), kind)
    }

    #[test]
    fn holds_key_and_value_apart() {
        let k = key(b"apple", 9, false);
        let node = NodeKey::new(k, b"red");
        assert_eq!(node.user_key(), b"apple");
        assert_eq!(node.value(), b"red");
        assert_eq!(node.key(), k);
        assert_eq!(node.data_len(), 8);
    }

    #[test]
    fn padding_does_not_confuse_short_keys() {
        let a = NodeKey::new(key(b"a", 1, false), b"");
        let a0 = NodeKey::new(key(b"a\0", 1, false), b"");
        assert_eq!(a.prefix, a0.prefix);
        assert!(a < a0);
    }

    #[test]
    fn equal_prefixes_order_by_length_or_bytes() {
        let keys: [&[u8]; 7] = [
            b"0000000000000001",
            b"0000000000000001\0",
            b"0000000000000001a",
            b"000000000000000",
            b"000000000000000\0",
            b"0000000000000002",
            b"00000000000000010",
        ];
        for a in keys {
            for b in keys {
                let (na, nb) = (
                    NodeKey::new(key(a, 5, false), b""),
                    NodeKey::new(key(b, 5, false), b""),
                );
                assert_eq!(na.cmp(&nb), a.cmp(b), "{a:?} vs {b:?}");
            }
        }
    }

    quickcheck! {
        fn order_holds_for_keys_sharing_a_long_start(
            a: Vec<u8>, sa: u64, b: Vec<u8>, sb: u64, shared: u8
        ) -> bool {
            // Keys around the 16-byte prefix boundary, mostly equal up to it.
            let start = vec![b'0'; usize::from(shared % 20)];
            let (a, b) = ([&start[..], &a[..a.len().min(6)]].concat(), [&start[..], &b[..b.len().min(6)]].concat());
            let (ka, kb) = (key(&a, sa, false), key(&b, sb, true));
            let (na, nb) = (NodeKey::new(ka, b"x"), NodeKey::new(kb, b""));
            let probe: &dyn AsParts = &KeyParts::of(kb);
            let node: &dyn AsParts = na.borrow();
            na.cmp(&nb) == ka.cmp(&kb) && node.cmp(probe) == ka.cmp(&kb)
        }

        fn node_order_matches_internal_key_order(
            a: Vec<u8>, sa: u64, ta: bool, b: Vec<u8>, sb: u64, tb: bool
        ) -> bool {
            let (ka, kb) = (key(&a, sa, ta), key(&b, sb, tb));
            let (na, nb) = (NodeKey::new(ka, b"x"), NodeKey::new(kb, b""));
            let probe: &dyn AsParts = &KeyParts::of(kb);
            let node: &dyn AsParts = na.borrow();
            na.cmp(&nb) == ka.cmp(&kb) && node.cmp(probe) == ka.cmp(&kb)
        }
    }
}
