//! The memtable's node key: an internal key laid out so that most comparisons never
//! leave the skiplist node.
//!
//! A plain `Vec<u8>` key makes every comparison chase a pointer to the heap. A
//! [`NodeKey`] keeps, inline in the node, the first eight bytes of the user key as a
//! big-endian integer (the *prefix*) and the packed `seqno << 8 | kind` trailer. For
//! random keys the prefixes almost always differ, so the comparison ends after one
//! integer compare on memory the skiplist has already loaded. Only on equal prefixes
//! are the full user keys compared.
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

/// The first eight bytes of `user_key`, zero-padded, as a big-endian integer.
///
/// Different prefixes order user keys the same way the full keys do: the first
/// differing byte is either a real byte of both keys, or the end of the shorter key
/// (padding 0) against a byte of the longer key, which is then > 0 and the shorter key
/// is its prefix. Equal prefixes say nothing, and the full keys decide.
fn prefix_of(user_key: &[u8]) -> u64 {
    let mut bytes = [0u8; 8];
    let n = user_key.len().min(8);
    bytes[..n].copy_from_slice(&user_key[..n]);
    u64::from_be_bytes(bytes)
}

/// The comparable parts of an internal key, borrowed. Its order is the internal key
/// order of [`KeyRef`]: user key ascending, then trailer descending (newer first).
#[derive(Clone, Copy)]
pub(crate) struct KeyParts<'a> {
    prefix: u64,
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
            .then_with(|| self.user_key.cmp(other.user_key))
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
    prefix: u64,
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

    quickcheck! {
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
