//! Values handed out by tables: zero-copy slices of the mapped file.

use std::fmt;
use std::ops::Deref;

use quickcache_fs::Mapping;

use crate::{EXPIRY_LEN, SeqNo, Timestamp, ValueKind, split_expiring};

/// A value inside a table's mapped file. Holding it keeps the mapping alive (not the
/// table), so it may outlive the [`crate::Table`] it came from; cloning is cheap.
#[derive(Clone)]
pub struct ValueRef {
    map: Mapping,
    start: usize,
    len: usize,
}

impl ValueRef {
    /// The value at `map[start..start + len]`. Requires: the range lies inside `map`.
    /// Callers pass a range the block decoder has already checked against the block
    /// (bad bytes on disk are a corruption error there), so debug builds assert it;
    /// release builds return an empty value rather than slice out of bounds.
    pub(crate) fn new(map: Mapping, start: usize, len: usize) -> Self {
        let ok = start.checked_add(len).is_some_and(|end| end <= map.len());
        debug_assert!(ok, "value {start}+{len} outside a {}-byte file", map.len());
        let (start, len) = if ok { (start, len) } else { (0, 0) };
        ValueRef { map, start, len }
    }

    /// An empty value, the value of a tombstone made up by a range deletion.
    pub(crate) fn empty() -> Self {
        ValueRef {
            map: Mapping::from_vec(Vec::new()),
            start: 0,
            len: 0,
        }
    }

    /// The bytes of this value from `offset` on, or `None` if it is shorter.
    pub fn suffix(self, offset: usize) -> Option<ValueRef> {
        let len = self.len.checked_sub(offset)?;
        Some(ValueRef {
            start: self.start + offset,
            len,
            map: self.map,
        })
    }

    /// The value's bytes.
    pub fn as_slice(&self) -> &[u8] {
        self.map
            .get(self.start..self.start + self.len)
            .unwrap_or_default()
    }
}

impl Deref for ValueRef {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for ValueRef {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl PartialEq for ValueRef {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for ValueRef {}

impl PartialEq<[u8]> for ValueRef {
    fn eq(&self, other: &[u8]) -> bool {
        self.as_slice() == other
    }
}

impl fmt::Debug for ValueRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.as_slice().escape_ascii())
    }
}

/// The answer of [`crate::Table::get`]: the newest entry of a user key visible at a
/// snapshot. A tombstone is an answer ("deleted here"), distinct from no entry at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// When the entry was written.
    pub seqno: SeqNo,
    /// Value, tombstone or expiring value.
    pub kind: ValueKind,
    /// The value (empty for tombstones).
    pub value: ValueRef,
}

impl Entry {
    /// Whether the entry deletes its key.
    pub fn is_tombstone(&self) -> bool {
        self.kind == ValueKind::Tombstone
    }

    /// The value, or `None` for a tombstone. An expiring value is returned with its
    /// expiry prefix, as stored: see [`Entry::value_at`].
    pub fn into_value(self) -> Option<ValueRef> {
        (self.kind != ValueKind::Tombstone).then_some(self.value)
    }

    /// The user's value as of `now`: `None` for a tombstone and for an expiring value
    /// whose expiry is `<= now` (it then reads as deleted). [`crate::Table::get`]
    /// refuses expiring entries too short to hold an expiry, so entries it returns
    /// always have one; a shorter one reads as absent.
    pub fn value_at(self, now: Timestamp) -> Option<ValueRef> {
        match self.kind {
            ValueKind::Value => Some(self.value),
            ValueKind::Tombstone => None,
            ValueKind::ExpiringValue => {
                let (expires_at, _) = split_expiring(&self.value)?;
                (now < expires_at).then(|| self.value.suffix(EXPIRY_LEN))?
            }
        }
    }
}
