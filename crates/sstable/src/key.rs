//! The internal key: user key, sequence number and kind, with its order and encoding.
//!
//! Every entry below the public API carries an internal key. For one user key, newer
//! entries sort first, so a forward seek to `(key, snapshot)` lands on the newest
//! version visible at `snapshot`.
//!
//! Encoding (used in WAL batches, memtable nodes and table blocks):
//!
//! ```text
//! +----------------------+-------------------------------------------+
//! | user key (n bytes)   | trailer: u64 LE = seqno << 8 | kind       |
//! +----------------------+-------------------------------------------+
//! ```
//!
//! Encoded keys do not sort bytewise; compare them with [`compare_encoded`].

use std::cmp::Ordering;
use std::fmt;

/// A sequence number: the position of a write in the engine's total order.
///
/// Only the low 56 bits are usable ([`SeqNo::MAX`]): the trailer packs the kind into
/// the low byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SeqNo(u64);

impl SeqNo {
    /// The largest representable sequence number; as a snapshot it sees everything.
    pub const MAX: SeqNo = SeqNo((1 << 56) - 1);
    /// Zero: nothing has been written yet.
    pub const ZERO: SeqNo = SeqNo(0);

    /// A sequence number, or `None` if `n` exceeds [`SeqNo::MAX`].
    pub const fn new(n: u64) -> Option<SeqNo> {
        if n <= Self::MAX.0 {
            Some(SeqNo(n))
        } else {
            None
        }
    }

    /// The number as a `u64`.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// The next sequence number, or `None` past [`SeqNo::MAX`].
    pub const fn checked_add(self, n: u64) -> Option<SeqNo> {
        match self.0.checked_add(n) {
            Some(v) => SeqNo::new(v),
            None => None,
        }
    }
}

impl fmt::Display for SeqNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What an entry says about its user key. Persisted: values are fixed, 0 is reserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum ValueKind {
    /// The key maps to the entry's value.
    Value = 1,
    /// The key was deleted; older entries of it are hidden.
    Tombstone = 2,
    /// The key maps to the entry's value until an expiry time, then reads as deleted
    /// (hiding older entries, as a tombstone does). The stored value is the expiry,
    /// a [`crate::Timestamp`] as `u64` LE, followed by the user's value
    /// ([`crate::split_expiring`]). Written from table and batch format version 3 on;
    /// 3 is left to range deletes, being added beside it.
    ExpiringValue = 4,
}

impl ValueKind {
    /// The kind that sorts first among entries with equal user key and sequence
    /// number; lookup keys use it so that a seek lands before every such entry.
    pub const SEEK: ValueKind = ValueKind::ExpiringValue;

    /// Decodes a persisted kind byte.
    pub const fn from_u8(b: u8) -> Option<ValueKind> {
        match b {
            1 => Some(ValueKind::Value),
            2 => Some(ValueKind::Tombstone),
            4 => Some(ValueKind::ExpiringValue),
            _ => None,
        }
    }
}

/// Length of the encoded trailer that follows the user key.
pub const TRAILER_LEN: usize = 8;

/// A borrowed internal key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyRef<'a> {
    /// The user's key.
    pub user_key: &'a [u8],
    /// When the entry was written.
    pub seqno: SeqNo,
    /// Value, tombstone or expiring value.
    pub kind: ValueKind,
}

impl<'a> KeyRef<'a> {
    /// An internal key.
    pub const fn new(user_key: &'a [u8], seqno: SeqNo, kind: ValueKind) -> Self {
        KeyRef {
            user_key,
            seqno,
            kind,
        }
    }

    /// The key to seek to for the newest version of `user_key` visible at `snapshot`:
    /// it sorts before every entry of `user_key` with a sequence number `<= snapshot`.
    pub const fn lookup(user_key: &'a [u8], snapshot: SeqNo) -> Self {
        KeyRef {
            user_key,
            seqno: snapshot,
            kind: ValueKind::SEEK,
        }
    }

    /// The packed trailer `seqno << 8 | kind`.
    pub const fn trailer(&self) -> u64 {
        (self.seqno.0 << 8) | self.kind as u64
    }

    /// Appends the encoding to `buf`.
    pub fn encode_into(&self, buf: &mut Vec<u8>) {
        buf.extend_from_slice(self.user_key);
        buf.extend_from_slice(&self.trailer().to_le_bytes());
    }

    /// The encoded length.
    pub const fn encoded_len(&self) -> usize {
        self.user_key.len() + TRAILER_LEN
    }

    /// Decodes an encoded internal key; `None` if it is too short or its kind unknown.
    pub fn decode(bytes: &'a [u8]) -> Option<Self> {
        let split = bytes.len().checked_sub(TRAILER_LEN)?;
        let (user_key, trailer) = bytes.split_at(split);
        let trailer = u64::from_le_bytes(trailer.try_into().ok()?);
        let kind = ValueKind::from_u8((trailer & 0xff) as u8)?;
        Some(KeyRef {
            user_key,
            seqno: SeqNo(trailer >> 8),
            kind,
        })
    }

    /// An owned copy.
    pub fn to_owned(&self) -> InternalKey {
        InternalKey {
            user_key: self.user_key.to_vec(),
            seqno: self.seqno,
            kind: self.kind,
        }
    }
}

impl Ord for KeyRef<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        // Inline eight-byte compares instead of a `memcmp` call: merges compare keys
        // at every step.
        crate::compare::cmp_bytes(self.user_key, other.user_key)
            .then_with(|| other.trailer().cmp(&self.trailer()))
    }
}

impl PartialOrd for KeyRef<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Debug for KeyRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.user_key.escape_ascii(), self.seqno)?;
        match self.kind {
            ValueKind::Value => {}
            ValueKind::Tombstone => f.write_str(" (tombstone)")?,
            ValueKind::ExpiringValue => f.write_str(" (expiring)")?,
        }
        Ok(())
    }
}

/// An owned internal key.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct InternalKey {
    /// The user's key.
    pub user_key: Vec<u8>,
    /// When the entry was written.
    pub seqno: SeqNo,
    /// Value, tombstone or expiring value.
    pub kind: ValueKind,
}

impl InternalKey {
    /// An internal key.
    pub fn new(user_key: impl Into<Vec<u8>>, seqno: SeqNo, kind: ValueKind) -> Self {
        InternalKey {
            user_key: user_key.into(),
            seqno,
            kind,
        }
    }

    /// The borrowed form.
    pub fn as_ref(&self) -> KeyRef<'_> {
        KeyRef {
            user_key: &self.user_key,
            seqno: self.seqno,
            kind: self.kind,
        }
    }
}

impl Ord for InternalKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_ref().cmp(&other.as_ref())
    }
}

impl PartialOrd for InternalKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Debug for InternalKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_ref().fmt(f)
    }
}

/// Compares two encoded internal keys by the internal-key order. A malformed key
/// (shorter than the trailer) sorts by its raw bytes before well-formed ones, so the
/// comparison is total and never panics.
pub fn compare_encoded(a: &[u8], b: &[u8]) -> Ordering {
    match (split(a), split(b)) {
        (Some((ua, ta)), Some((ub, tb))) => ua.cmp(ub).then_with(|| tb.cmp(&ta)),
        (None, None) => a.cmp(b),
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
    }
}

fn split(bytes: &[u8]) -> Option<(&[u8], u64)> {
    let at = bytes.len().checked_sub(TRAILER_LEN)?;
    let (user, trailer) = bytes.split_at(at);
    Some((user, u64::from_le_bytes(trailer.try_into().ok()?)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::quickcheck;

    fn seq(n: u64) -> SeqNo {
        SeqNo::new(n).unwrap()
    }

    #[test]
    fn newer_versions_sort_first() {
        let old = KeyRef::new(b"k", seq(1), ValueKind::Value);
        let new = KeyRef::new(b"k", seq(2), ValueKind::Tombstone);
        assert!(new < old);
        assert!(KeyRef::lookup(b"k", seq(2)) <= new);
        assert!(KeyRef::lookup(b"k", seq(1)) > new);
        assert!(KeyRef::new(b"j", seq(0), ValueKind::Value) < new);
    }

    #[test]
    fn seqno_bounds() {
        assert_eq!(SeqNo::new(1 << 56), None);
        assert_eq!(SeqNo::MAX.checked_add(1), None);
        assert_eq!(seq(5).checked_add(2), Some(seq(7)));
    }

    #[test]
    fn decode_rejects_bad_input() {
        assert_eq!(KeyRef::decode(b"short"), None);
        assert_eq!(KeyRef::decode(&[0u8; 8]), None); // kind 0 is reserved
    }

    #[test]
    fn kinds_round_trip_and_the_seek_kind_sorts_first() {
        for kind in [
            ValueKind::Value,
            ValueKind::Tombstone,
            ValueKind::ExpiringValue,
        ] {
            assert_eq!(ValueKind::from_u8(kind as u8), Some(kind));
            let entry = KeyRef::new(b"k", seq(5), kind);
            assert!(KeyRef::lookup(b"k", seq(5)) <= entry, "{kind:?}");
        }
        assert_eq!(ValueKind::from_u8(3), None);
    }

    quickcheck! {
        fn encoding_round_trips(key: Vec<u8>, s: u64, kind: u8) -> bool {
            let kinds = [ValueKind::Value, ValueKind::Tombstone, ValueKind::ExpiringValue];
            let kind = kinds[usize::from(kind % 3)];
            let k = KeyRef::new(&key, seq(s & SeqNo::MAX.get()), kind);
            let mut buf = Vec::new();
            k.encode_into(&mut buf);
            buf.len() == k.encoded_len() && KeyRef::decode(&buf) == Some(k)
        }

        fn encoded_order_matches_key_order(a: Vec<u8>, sa: u64, b: Vec<u8>, sb: u64) -> bool {
            let ka = KeyRef::new(&a, seq(sa & SeqNo::MAX.get()), ValueKind::Value);
            let kb = KeyRef::new(&b, seq(sb & SeqNo::MAX.get()), ValueKind::Value);
            let (mut ea, mut eb) = (Vec::new(), Vec::new());
            ka.encode_into(&mut ea);
            kb.encode_into(&mut eb);
            compare_encoded(&ea, &eb) == ka.cmp(&kb)
        }

        fn decode_never_panics(bytes: Vec<u8>) -> bool {
            let _ = KeyRef::decode(&bytes);
            true
        }
    }
}
