//! The memtable's key layout: an internal key's inline head, laid out so that most
//! comparisons never leave the skiplist node.
//!
//! A plain `Vec<u8>` key makes every comparison chase a pointer to the heap. A node
//! keeps, inline, the first sixteen bytes of the user key as two big-endian integers
//! (the *prefix*), the key's length capped at seventeen, and the packed
//! `seqno << 8 | kind` trailer: a [`Head`]. Keys that differ in their first sixteen
//! bytes (random keys, but also keys sharing a common 8-byte start such as zero-padded
//! numbers or `user:0000...`) compare with two integer compares on memory the search
//! has already loaded. On equal prefixes, keys of at most sixteen bytes are ordered by
//! their lengths alone (see [`Head::cmp_user_key`]); only longer keys have their heap
//! bytes compared.
//!
//! A search probe ([`KeyParts`]) borrows the caller's key, so lookups allocate
//! nothing.

use std::cmp::Ordering;

use quickcache_sstable::{KeyRef, SeqNo, ValueKind};

/// Bytes of the user key held inline in the prefix.
const PREFIX_LEN: usize = 16;

/// The first sixteen bytes of `user_key`, zero-padded, as two big-endian integers
/// (compared as a pair, most significant first).
///
/// Different prefixes order user keys the same way the full keys do: the first
/// differing byte is either a real byte of both keys, or the end of the shorter key
/// (padding 0) against a byte of the longer key, which is then > 0 and the shorter key
/// is its prefix. Equal prefixes need [`Head::cmp_user_key`].
fn prefix_of(user_key: &[u8]) -> (u64, u64) {
    let mut bytes = [0u8; PREFIX_LEN];
    let n = user_key.len().min(PREFIX_LEN);
    bytes[..n].copy_from_slice(&user_key[..n]);
    let (hi, lo) = bytes.split_at(8);
    let word = |b: &[u8]| u64::from_be_bytes(b.try_into().unwrap_or([0; 8]));
    (word(hi), word(lo))
}

/// The inline part of an internal key: what a skiplist node stores beside its links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Head {
    /// [`prefix_of`] the user key.
    pub(crate) prefix: (u64, u64),
    /// The user key's length, or `PREFIX_LEN + 1` for anything longer: exact where
    /// the lengths decide an order, and it fits a byte.
    pub(crate) short_len: u8,
    /// `seqno << 8 | kind`, as [`KeyRef::trailer`].
    pub(crate) trailer: u64,
}

impl Head {
    /// The head of `key`.
    pub(crate) fn of(key: KeyRef<'_>) -> Head {
        let short = key.user_key.len().min(PREFIX_LEN + 1);
        Head {
            prefix: prefix_of(key.user_key),
            short_len: u8::try_from(short).unwrap_or(u8::MAX),
            trailer: key.trailer(),
        }
    }

    /// The sequence number of the trailer.
    pub(crate) fn seqno(self) -> SeqNo {
        // A trailer is built from a valid SeqNo shifted left by 8, so this is exact
        // (debug builds assert it).
        let seqno = SeqNo::new(self.trailer >> 8);
        debug_assert!(
            seqno.is_some(),
            "trailer {:#x}: seqno out of range",
            self.trailer
        );
        seqno.unwrap_or(SeqNo::MAX)
    }

    /// The kind of the trailer.
    pub(crate) fn kind(self) -> ValueKind {
        // Built from a ValueKind's own byte (debug builds assert it).
        let kind = ValueKind::from_u8(self.trailer as u8);
        debug_assert!(kind.is_some(), "trailer {:#x}: no value kind", self.trailer);
        kind.unwrap_or(ValueKind::Value)
    }

    /// The order of this head's user key against the probe's.
    ///
    /// `user_key` yields this head's full user key; it is called only on equal
    /// prefixes when either key is longer than the prefix. If both keys fit in the
    /// prefix, each is the common padded prefix cut to its length, so the shorter is
    /// a prefix of the longer (their difference is zero padding) and the lengths
    /// decide without reading the key bytes on the heap.
    #[inline]
    pub(crate) fn cmp_user_key<'k>(
        self,
        user_key: impl FnOnce() -> &'k [u8],
        probe: &KeyParts<'_>,
    ) -> Ordering {
        self.prefix.cmp(&probe.head.prefix).then_with(|| {
            let (a, b) = (self.short_len, probe.head.short_len);
            if usize::from(a) <= PREFIX_LEN && usize::from(b) <= PREFIX_LEN {
                a.cmp(&b)
            } else {
                user_key().cmp(probe.user_key)
            }
        })
    }

    /// The internal-key order of this head's key against the probe: user key
    /// ascending, then trailer descending (newer first).
    #[inline]
    pub(crate) fn cmp_probe<'k>(
        self,
        user_key: impl FnOnce() -> &'k [u8],
        probe: &KeyParts<'_>,
    ) -> Ordering {
        self.cmp_user_key(user_key, probe)
            .then_with(|| probe.head.trailer.cmp(&self.trailer))
    }
}

/// A borrowed internal key prepared for searching: its head and its user key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeyParts<'a> {
    pub(crate) head: Head,
    pub(crate) user_key: &'a [u8],
}

impl<'a> KeyParts<'a> {
    /// The parts of `key`.
    pub(crate) fn of(key: KeyRef<'a>) -> Self {
        KeyParts {
            head: Head::of(key),
            user_key: key.user_key,
        }
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

    /// The order the skiplist sees: `a` stored in a node, `b` as the probe.
    fn node_cmp(a: KeyRef<'_>, b: KeyRef<'_>) -> Ordering {
        Head::of(a).cmp_probe(|| a.user_key, &KeyParts::of(b))
    }

    #[test]
    fn a_head_keeps_seqno_and_kind() {
        let head = Head::of(key(b"apple", 9, true));
        assert_eq!((head.seqno().get(), head.kind()), (9, ValueKind::Tombstone));
        assert_eq!(Head::of(key(&[7; 40], 1, false)).short_len, 17);
    }

    #[test]
    fn padding_does_not_confuse_short_keys() {
        let (a, a0) = (key(b"a", 1, false), key(b"a\0", 1, false));
        assert_eq!(Head::of(a).prefix, Head::of(a0).prefix);
        assert_eq!(node_cmp(a, a0), Ordering::Less);
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
                let got = node_cmp(key(a, 5, false), key(b, 5, false));
                assert_eq!(got, a.cmp(b), "{a:?} vs {b:?}");
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
            node_cmp(ka, kb) == ka.cmp(&kb)
        }

        fn node_order_matches_internal_key_order(
            a: Vec<u8>, sa: u64, ta: bool, b: Vec<u8>, sb: u64, tb: bool
        ) -> bool {
            let (ka, kb) = (key(&a, sa, ta), key(&b, sb, tb));
            node_cmp(ka, kb) == ka.cmp(&kb)
        }
    }
}
