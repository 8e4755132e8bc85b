//! The write batch: puts and deletes applied atomically, kept in its encoded form.
//!
//! Like LevelDB's `WriteBatch`, the batch *is* its encoding (see [`codec`] and
//! `docs/format/write_batch.md`): building one appends to a byte buffer, logging one
//! hands that buffer to the WAL unchanged, and recovering one validates the logged
//! bytes once and then iterates them in place.

pub(crate) mod codec;
mod expiry;

use std::ops::Bound;

use quickcache_sstable::{KeyspaceId, SeqNo, ValueKind};

use crate::error::{Error, Result};
pub use codec::BatchFormat;
use codec::{MAX_LEN, Reader};

/// What a batch entry does. Persisted (the entry's kind byte): values are fixed, 0 is
/// reserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum BatchKind {
    /// Sets the key to the value ([`ValueKind::Value`]).
    Put = 1,
    /// Deletes the key ([`ValueKind::Tombstone`]); the value is empty.
    Delete = 2,
    /// Deletes every key in `key..value` (the value is the range's exclusive end).
    /// Batch format version 3 and later. The same value as RocksDB's
    /// `kTypeRangeDeletion`, well apart from the point kinds so that other new kinds
    /// can take 3, 4, ...
    DeleteRange = 15,
    /// Sets the key to the value until an expiry time ([`ValueKind::ExpiringValue`]):
    /// the stored value is the expiry, then the user's value. Batch format version 3
    /// and later.
    PutExpiring = 4,
}

impl BatchKind {
    /// Decodes a persisted kind byte.
    pub const fn from_u8(b: u8) -> Option<BatchKind> {
        match b {
            1 => Some(BatchKind::Put),
            2 => Some(BatchKind::Delete),
            4 => Some(BatchKind::PutExpiring),
            15 => Some(BatchKind::DeleteRange),
            _ => None,
        }
    }

    /// The kind of the point entry a put or delete becomes; `None` for a range delete.
    pub const fn value_kind(self) -> Option<ValueKind> {
        match self {
            BatchKind::Put => Some(ValueKind::Value),
            BatchKind::Delete => Some(ValueKind::Tombstone),
            BatchKind::PutExpiring => Some(ValueKind::ExpiringValue),
            BatchKind::DeleteRange => None,
        }
    }
}

/// One entry of a batch, borrowed from its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchEntry<'a> {
    /// Put, delete, put with an expiry or range delete.
    pub kind: BatchKind,
    /// The keyspace (tree) the entry is for.
    pub keyspace: KeyspaceId,
    /// The user key; for a range delete, the range's first key.
    pub key: &'a [u8],
    /// The value as stored: empty for a delete, the expiry then the value for an
    /// expiring put ([`quickcache_sstable::split_expiring`]); for a range delete, the
    /// range's end (exclusive).
    pub value: &'a [u8],
}

/// An ordered group of puts and deletes that becomes visible all at once.
///
/// Entry *i* is written with sequence number `base_seqno() + i`; the engine assigns the
/// base with [`WriteBatch::set_base_seqno`] just before logging the batch. Later
/// entries for the same key win, because they get higher sequence numbers. Each entry
/// names its keyspace ([`WriteBatch::put_in`]); [`WriteBatch::put`] and
/// [`WriteBatch::delete`] write to the default one. One batch, whatever keyspaces it
/// touches, is one WAL record, so it is atomic across them.
///
/// Invariant: the buffer always holds one well-formed encoded batch, so
/// [`WriteBatch::encoded`] is always a valid WAL payload.
///
/// # Examples
/// ```
/// use quickcache_memtable::WriteBatch;
///
/// let mut batch = WriteBatch::new();
/// batch.put(b"k1", b"v1")?;
/// batch.delete(b"k2")?;
/// assert_eq!(batch.count(), 2);
/// let copy = WriteBatch::decode(batch.encoded())?;
/// assert_eq!(copy, batch);
/// # Ok::<(), quickcache_memtable::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct WriteBatch {
    rep: Vec<u8>,
    count: u32,
    seqno: SeqNo,
}

impl WriteBatch {
    /// An empty, unsequenced batch.
    pub fn new() -> Self {
        WriteBatch {
            rep: codec::empty(),
            count: 0,
            seqno: SeqNo::ZERO,
        }
    }

    /// Adds a put of `key` to `value`.
    ///
    /// Fails with [`Error::TooLarge`] if the key or value exceeds 4 GiB − 1 or the batch
    /// already holds `u32::MAX` entries, and with [`Error::SeqNoExhausted`] if the batch
    /// is sequenced and one more entry would run past [`SeqNo::MAX`].
    pub fn put(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        self.put_in(KeyspaceId::DEFAULT, key, value)
    }

    /// Adds a delete of `key`. Fails like [`WriteBatch::put`].
    pub fn delete(&mut self, key: &[u8]) -> Result<()> {
        self.delete_in(KeyspaceId::DEFAULT, key)
    }

    /// Adds a put of `key` to `value` in `keyspace`. Fails like [`WriteBatch::put`].
    ///
    /// # Examples
    /// ```
    /// use quickcache_memtable::WriteBatch;
    /// use quickcache_sstable::KeyspaceId;
    ///
    /// let mut batch = WriteBatch::new();
    /// batch.put_in(KeyspaceId(2), b"k", b"v")?;
    /// batch.delete(b"k")?;
    /// let keyspaces: Vec<_> = batch.iter().map(|e| e.keyspace).collect();
    /// assert_eq!(keyspaces, [KeyspaceId(2), KeyspaceId::DEFAULT]);
    /// # Ok::<(), quickcache_memtable::Error>(())
    /// ```
    pub fn put_in(&mut self, keyspace: KeyspaceId, key: &[u8], value: &[u8]) -> Result<()> {
        self.push(BatchEntry {
            kind: BatchKind::Put,
            keyspace,
            key,
            value,
        })
    }

    /// Adds a delete of `key` in `keyspace`. Fails like [`WriteBatch::put`].
    pub fn delete_in(&mut self, keyspace: KeyspaceId, key: &[u8]) -> Result<()> {
        self.push(BatchEntry {
            kind: BatchKind::Delete,
            keyspace,
            key,
            value: &[],
        })
    }

    /// Adds a delete of every key in `start..end` (`end` exclusive) in `keyspace`: one
    /// entry, whatever the number of keys the range covers. An empty range
    /// (`start >= end`) adds nothing. Fails like [`WriteBatch::put`].
    ///
    /// # Examples
    /// ```
    /// use quickcache_memtable::{BatchKind, WriteBatch};
    /// use quickcache_sstable::KeyspaceId;
    ///
    /// let mut batch = WriteBatch::new();
    /// batch.delete_range_in(KeyspaceId::DEFAULT, b"a", b"m")?;
    /// batch.delete_range_in(KeyspaceId::DEFAULT, b"z", b"a")?; // empty: ignored
    /// let entry = batch.iter().next().unwrap();
    /// assert_eq!((entry.kind, entry.key, entry.value), (BatchKind::DeleteRange, &b"a"[..], &b"m"[..]));
    /// assert_eq!(batch.count(), 1);
    /// # Ok::<(), quickcache_memtable::Error>(())
    /// ```
    pub fn delete_range_in(
        &mut self,
        keyspace: KeyspaceId,
        start: &[u8],
        end: &[u8],
    ) -> Result<()> {
        if start >= end {
            return Ok(());
        }
        self.push(BatchEntry {
            kind: BatchKind::DeleteRange,
            keyspace,
            key: start,
            value: end,
        })
    }

    /// [`WriteBatch::delete_range_in`] for a range given by its bounds: an excluded
    /// start, or an included end, becomes the next key after it (the key with a zero
    /// byte appended); an unbounded start is the empty key. Fails with
    /// [`Error::UnboundedRange`] for an unbounded end, adding nothing.
    ///
    /// # Examples
    /// ```
    /// use std::ops::Bound;
    /// use quickcache_memtable::WriteBatch;
    /// use quickcache_sstable::KeyspaceId;
    ///
    /// let mut batch = WriteBatch::new();
    /// batch.delete_range_bounds_in(KeyspaceId::DEFAULT, Bound::Unbounded, Bound::Included(b"k"))?;
    /// let entry = batch.iter().next().unwrap();
    /// assert_eq!((entry.key, entry.value), (&b""[..], &b"k\0"[..]));
    /// assert!(batch.delete_range_bounds_in(KeyspaceId::DEFAULT, Bound::Included(b"k"), Bound::Unbounded).is_err());
    /// # Ok::<(), quickcache_memtable::Error>(())
    /// ```
    pub fn delete_range_bounds_in(
        &mut self,
        keyspace: KeyspaceId,
        start: Bound<&[u8]>,
        end: Bound<&[u8]>,
    ) -> Result<()> {
        let after = |k: &[u8]| [k, &[0]].concat();
        let start = match start {
            Bound::Included(k) => k.to_vec(),
            Bound::Excluded(k) => after(k),
            Bound::Unbounded => Vec::new(),
        };
        let end = match end {
            Bound::Excluded(k) => k.to_vec(),
            Bound::Included(k) => after(k),
            Bound::Unbounded => return Err(Error::UnboundedRange),
        };
        self.delete_range_in(keyspace, &start, &end)
    }

    fn push(&mut self, entry: BatchEntry<'_>) -> Result<()> {
        check_len("key", entry.key.len())?;
        check_len("value", entry.value.len())?;
        let count = self.count.checked_add(1).ok_or(Error::TooLarge {
            what: "entry count",
            len: u64::from(self.count) + 1,
            max: u64::from(u32::MAX),
        })?;
        check_seqnos(self.seqno, count)?;
        codec::append_entry(&mut self.rep, &entry);
        codec::write_count(&mut self.rep, count);
        self.count = count;
        Ok(())
    }

    /// Number of entries.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Whether the batch holds no entries.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Sequence number of the first entry; [`SeqNo::ZERO`] if not yet sequenced.
    pub fn base_seqno(&self) -> SeqNo {
        self.seqno
    }

    /// Sequence number of the last entry; `None` if unsequenced or empty.
    pub fn last_seqno(&self) -> Option<SeqNo> {
        if self.seqno == SeqNo::ZERO || self.count == 0 {
            return None;
        }
        codec::last_seqno(self.seqno, self.count)
    }

    /// Assigns sequence numbers `base..base + count()` to the entries.
    ///
    /// Fails with [`Error::SeqNoExhausted`] if the last would exceed [`SeqNo::MAX`].
    pub fn set_base_seqno(&mut self, base: SeqNo) -> Result<()> {
        check_seqnos(base, self.count)?;
        codec::write_seqno(&mut self.rep, base);
        self.seqno = base;
        Ok(())
    }

    /// The encoded batch: the WAL payload.
    pub fn encoded(&self) -> &[u8] {
        &self.rep
    }

    /// Size of the encoding in bytes; what the batch adds to the log.
    pub fn approximate_size(&self) -> usize {
        self.rep.len()
    }

    /// Decodes a batch from its encoding in the current layout
    /// ([`BatchFormat::CURRENT`]), checking every field.
    ///
    /// Never panics; damaged or truncated bytes give [`Error::Corruption`].
    pub fn decode(bytes: &[u8]) -> Result<WriteBatch> {
        let header = codec::validate(bytes)?;
        Ok(WriteBatch {
            rep: bytes.to_vec(),
            count: header.count,
            seqno: header.seqno,
        })
    }

    /// Decodes a batch laid out as `format`. A [`BatchFormat::V1`] batch (from a WAL
    /// segment of format version 1) is re-encoded in the current layout, its entries
    /// in the default keyspace; [`WriteBatch::encoded`] then differs from `bytes`.
    ///
    /// Never panics; damaged or truncated bytes give [`Error::Corruption`], with
    /// offsets into `bytes`.
    ///
    /// # Examples
    /// ```
    /// use quickcache_memtable::{BatchFormat, WriteBatch};
    /// use quickcache_sstable::KeyspaceId;
    ///
    /// // Version 1: base seqno 7, one put of "a" to "x", no keyspace field.
    /// let v1 = [7, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 1, b'a', 1, b'x'];
    /// let batch = WriteBatch::decode_format(&v1, BatchFormat::V1)?;
    /// let entry = batch.iter().next().unwrap();
    /// assert_eq!((entry.keyspace, entry.key), (KeyspaceId::DEFAULT, &b"a"[..]));
    /// assert_eq!(batch.base_seqno().get(), 7);
    /// # Ok::<(), quickcache_memtable::Error>(())
    /// ```
    pub fn decode_format(bytes: &[u8], format: BatchFormat) -> Result<WriteBatch> {
        match format {
            BatchFormat::V3 => WriteBatch::decode(bytes),
            // The same layout, with fewer kinds: a version 2 record holding a range
            // delete or an expiring value is damaged, not a newer batch.
            BatchFormat::V2 => {
                let header = codec::validate_as(bytes, BatchFormat::V2)?;
                Ok(WriteBatch {
                    rep: bytes.to_vec(),
                    count: header.count,
                    seqno: header.seqno,
                })
            }
            BatchFormat::V1 => {
                let (header, rep) = codec::decode_v1(bytes)?;
                Ok(WriteBatch {
                    rep,
                    count: header.count,
                    seqno: header.seqno,
                })
            }
        }
    }

    /// Like [`WriteBatch::decode`], taking ownership of the bytes instead of copying.
    pub fn from_encoded(bytes: Vec<u8>) -> Result<WriteBatch> {
        let header = codec::validate(&bytes)?;
        Ok(WriteBatch {
            rep: bytes,
            count: header.count,
            seqno: header.seqno,
        })
    }

    /// The entries in the order they were added.
    pub fn iter(&self) -> BatchIter<'_> {
        let mut reader = Reader::new(&self.rep);
        // The buffer is well-formed by invariant (built here, or validated by
        // `decode`, which turns bad bytes from disk into an error), so the header read
        // cannot fail. Debug builds assert it; an empty iterator is the release
        // fallback, never a panic.
        let header = codec::read_header(&mut reader, BatchFormat::CURRENT);
        debug_assert!(header.is_ok(), "a batch's own header fails to decode");
        let remaining = header.map_or(0, |h| h.count);
        BatchIter { reader, remaining }
    }

    /// Removes every entry and the sequence number, keeping the allocation.
    pub fn clear(&mut self) {
        self.rep.truncate(codec::HEADER_LEN);
        codec::write_count(&mut self.rep, 0);
        codec::write_seqno(&mut self.rep, SeqNo::ZERO);
        self.count = 0;
        self.seqno = SeqNo::ZERO;
    }
}

impl Default for WriteBatch {
    fn default() -> Self {
        WriteBatch::new()
    }
}

impl std::fmt::Debug for WriteBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteBatch")
            .field("base_seqno", &self.seqno)
            .field("count", &self.count)
            .field("bytes", &self.rep.len())
            .finish()
    }
}

impl<'a> IntoIterator for &'a WriteBatch {
    type Item = BatchEntry<'a>;
    type IntoIter = BatchIter<'a>;
    fn into_iter(self) -> BatchIter<'a> {
        self.iter()
    }
}

fn check_len(what: &'static str, len: usize) -> Result<()> {
    let len = len as u64;
    if len > MAX_LEN {
        return Err(Error::TooLarge {
            what,
            len,
            max: MAX_LEN,
        });
    }
    Ok(())
}

/// A sequenced batch of `count` entries must end at or below [`SeqNo::MAX`].
fn check_seqnos(base: SeqNo, count: u32) -> Result<()> {
    if base != SeqNo::ZERO && codec::last_seqno(base, count).is_none() {
        return Err(Error::SeqNoExhausted {
            first: base.get(),
            count: u64::from(count),
        });
    }
    Ok(())
}

/// The entries of a [`WriteBatch`], in order.
#[derive(Debug, Clone)]
pub struct BatchIter<'a> {
    reader: Reader<'a>,
    remaining: u32,
}

impl<'a> Iterator for BatchIter<'a> {
    type Item = BatchEntry<'a>;

    fn next(&mut self) -> Option<BatchEntry<'a>> {
        self.remaining = self.remaining.checked_sub(1)?;
        // Well-formed by the batch's invariant (see `WriteBatch::iter`). Debug builds
        // assert it; release builds would end the iteration early rather than panic.
        let entry = codec::read_entry(&mut self.reader, BatchFormat::CURRENT);
        debug_assert!(entry.is_ok(), "a batch's own entry fails to decode");
        entry.ok()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.remaining as usize;
        (n, Some(n))
    }
}

impl ExactSizeIterator for BatchIter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::{TestResult, quickcheck};

    type Ops = Vec<(bool, Vec<u8>, Vec<u8>)>;
    /// Ops with a keyspace each: (keyspace, put?, key, value).
    type KsOps = Vec<(u32, bool, Vec<u8>, Vec<u8>)>;

    fn build(ops: &Ops) -> WriteBatch {
        let ops: KsOps = ops
            .iter()
            .map(|(p, k, v)| (0, *p, k.clone(), v.clone()))
            .collect();
        build_in(&ops)
    }

    fn build_in(ops: &KsOps) -> WriteBatch {
        let mut batch = WriteBatch::new();
        for (keyspace, put, key, value) in ops {
            let keyspace = KeyspaceId(*keyspace);
            if *put {
                batch.put_in(keyspace, key, value).unwrap();
            } else {
                batch.delete_in(keyspace, key).unwrap();
            }
        }
        batch
    }

    #[test]
    fn iterates_entries_in_insertion_order() {
        let mut batch = WriteBatch::new();
        batch.put(b"b", b"1").unwrap();
        batch.delete(b"a").unwrap();
        batch.put(b"b", b"2").unwrap();
        let entries: Vec<_> = batch.iter().map(|e| (e.kind, e.key, e.value)).collect();
        assert_eq!(
            entries,
            [
                (BatchKind::Put, &b"b"[..], &b"1"[..]),
                (BatchKind::Delete, b"a", b""),
                (BatchKind::Put, b"b", b"2"),
            ]
        );
        assert_eq!(batch.iter().len(), 3);
    }

    /// The example in `docs/format/write_batch.md`, byte for byte.
    #[test]
    fn encoding_matches_the_spec_example() {
        let mut batch = WriteBatch::new();
        batch.put(b"ab", b"x").unwrap();
        batch.delete_in(KeyspaceId(3), b"ab").unwrap();
        batch.set_base_seqno(SeqNo::new(7).unwrap()).unwrap();
        let want = [
            7, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, // header
            1, 0, 2, b'a', b'b', 1, b'x', // put in keyspace 0
            2, 3, 2, b'a', b'b', 0, // delete in keyspace 3
        ];
        assert_eq!(batch.encoded(), want);
        assert_eq!(batch.approximate_size(), want.len());
    }

    /// The version-1 example in `docs/format/write_batch.md`, read back.
    #[test]
    fn the_version_1_spec_example_decodes_into_the_default_keyspace() {
        let v1 = [
            7, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, // header
            1, 2, b'a', b'b', 1, b'x', // put
            2, 2, b'a', b'b', 0, // delete
        ];
        let batch = WriteBatch::decode_format(&v1, BatchFormat::V1).unwrap();
        let mut want = WriteBatch::new();
        want.put(b"ab", b"x").unwrap();
        want.delete(b"ab").unwrap();
        want.set_base_seqno(SeqNo::new(7).unwrap()).unwrap();
        assert_eq!(batch, want);
        assert!(WriteBatch::decode_format(&v1, BatchFormat::V2).is_err());
        let err = WriteBatch::decode_format(&v1[..20], BatchFormat::V1).unwrap_err();
        assert!(err.is_corruption(), "{err}");
    }

    #[test]
    fn sequencing_is_bounded_by_the_maximum() {
        let mut batch = build(&vec![(true, b"k".to_vec(), vec![]); 3]);
        assert_eq!(batch.last_seqno(), None);
        let base = SeqNo::new(SeqNo::MAX.get() - 2).unwrap();
        batch.set_base_seqno(base).unwrap();
        assert_eq!(batch.last_seqno(), Some(SeqNo::MAX));
        let err = batch.put(b"k", b"").unwrap_err();
        assert!(matches!(err, Error::SeqNoExhausted { count: 4, .. }));
        assert_eq!(batch.count(), 3, "a failed put leaves the batch unchanged");
        let err = batch.set_base_seqno(SeqNo::MAX).unwrap_err();
        assert!(matches!(err, Error::SeqNoExhausted { .. }));
        assert_eq!(batch.base_seqno(), base);
    }

    #[test]
    fn range_deletes_are_version_3_only() {
        let mut batch = WriteBatch::new();
        batch.delete_range_in(KeyspaceId(2), b"a", b"q").unwrap();
        batch.set_base_seqno(SeqNo::new(5).unwrap()).unwrap();
        let bytes = batch.encoded();
        // Header, then kind 15, keyspace 2, "a", end "q".
        assert_eq!(&bytes[12..], &[15, 2, 1, b'a', 1, b'q']);
        assert_eq!(
            WriteBatch::decode_format(bytes, BatchFormat::V3).unwrap(),
            batch
        );
        for old in [BatchFormat::V2, BatchFormat::V1] {
            let err = WriteBatch::decode_format(bytes, old).unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::Corruption {
                        field: "entry kind",
                        ..
                    }
                ),
                "{err}"
            );
        }
        // An empty or reversed range never decodes: the writer drops those.
        let mut reversed = bytes.to_vec();
        (reversed[15], reversed[17]) = (b'q', b'a');
        let err = WriteBatch::decode(&reversed).unwrap_err();
        assert!(
            matches!(err, Error::Corruption { field: "value", .. }),
            "{err}"
        );
    }

    #[test]
    fn clear_returns_to_the_empty_encoding() {
        let mut batch = build(&vec![(true, b"k".to_vec(), b"v".to_vec())]);
        batch.set_base_seqno(SeqNo::new(9).unwrap()).unwrap();
        batch.clear();
        assert_eq!(batch, WriteBatch::new());
        assert_eq!(batch.encoded(), WriteBatch::new().encoded());
    }

    quickcheck! {
        fn encoding_round_trips(ops: KsOps, seqno: u64) -> bool {
            let mut batch = build_in(&ops);
            let base = SeqNo::new(seqno % (1 << 40)).unwrap();
            batch.set_base_seqno(base).unwrap();
            let decoded = WriteBatch::decode(batch.encoded()).unwrap();
            let entries: KsOps = decoded.iter().map(|e| (
                e.keyspace.0, e.kind == BatchKind::Put, e.key.to_vec(), e.value.to_vec()
            )).collect();
            let want: KsOps = ops.iter().map(|(ks, put, k, v)| {
                (*ks, *put, k.clone(), if *put { v.clone() } else { Vec::new() })
            }).collect();
            decoded == batch
                && decoded.base_seqno() == base
                && entries == want
                && WriteBatch::from_encoded(batch.encoded().to_vec()).unwrap() == batch
        }

        fn a_version_1_batch_reads_as_the_same_entries_in_the_default_keyspace(
            ops: Ops, seqno: u64
        ) -> bool {
            let mut batch = build(&ops);
            batch.set_base_seqno(SeqNo::new(seqno % (1 << 40)).unwrap()).unwrap();
            // The version-1 bytes: each entry without its keyspace byte (always 0 here,
            // one byte, right after the kind).
            let mut v1 = batch.encoded()[..codec::HEADER_LEN].to_vec();
            for entry in &batch {
                v1.push(entry.kind as u8);
                let mut one = Vec::new();
                codec::append_entry(&mut one, &entry);
                v1.extend_from_slice(&one[2..]);
            }
            WriteBatch::decode_format(&v1, BatchFormat::V1).unwrap() == batch
        }

        fn decode_never_panics(bytes: Vec<u8>) -> bool {
            let _ = WriteBatch::decode(&bytes);
            let _ = WriteBatch::decode_format(&bytes, BatchFormat::V1);
            true
        }

        fn decoding_damaged_batches_never_panics(ops: KsOps, at: usize, byte: u8, cut: usize)
            -> TestResult
        {
            let batch = build_in(&ops);
            let mut bytes = batch.encoded().to_vec();
            let i = at % bytes.len();
            bytes[i] = byte;
            bytes.truncate(bytes.len() - cut % bytes.len());
            // Whatever decodes must re-encode to the same bytes: the form is canonical.
            match WriteBatch::decode(&bytes) {
                Ok(b) => TestResult::from_bool(b.encoded() == bytes.as_slice()
                    && b.iter().count() == b.count() as usize),
                Err(e) => TestResult::from_bool(e.is_corruption()),
            }
        }
    }
}
