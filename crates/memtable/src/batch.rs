//! The write batch: puts and deletes applied atomically, kept in its encoded form.
//!
//! Like LevelDB's `WriteBatch`, the batch *is* its encoding (see [`codec`] and
//! `docs/format/write_batch.md`): building one appends to a byte buffer, logging one
//! hands that buffer to the WAL unchanged, and recovering one validates the logged
//! bytes once and then iterates them in place.

pub(crate) mod codec;

use quickcache_sstable::{SeqNo, ValueKind};

use crate::error::{Error, Result};
use codec::{MAX_LEN, Reader};

/// One entry of a batch, borrowed from its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchEntry<'a> {
    /// Put ([`ValueKind::Value`]) or delete ([`ValueKind::Tombstone`]).
    pub kind: ValueKind,
    /// The user key.
    pub key: &'a [u8],
    /// The value; empty for a delete.
    pub value: &'a [u8],
}

/// An ordered group of puts and deletes that becomes visible all at once.
///
/// Entry *i* is written with sequence number `base_seqno() + i`; the engine assigns the
/// base with [`WriteBatch::set_base_seqno`] just before logging the batch. Later
/// entries for the same key win, because they get higher sequence numbers.
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
        self.push(ValueKind::Value, key, value)
    }

    /// Adds a delete of `key`. Fails like [`WriteBatch::put`].
    pub fn delete(&mut self, key: &[u8]) -> Result<()> {
        self.push(ValueKind::Tombstone, key, &[])
    }

    fn push(&mut self, kind: ValueKind, key: &[u8], value: &[u8]) -> Result<()> {
        check_len("key", key.len())?;
        check_len("value", value.len())?;
        let count = self.count.checked_add(1).ok_or(Error::TooLarge {
            what: "entry count",
            len: u64::from(self.count) + 1,
            max: u64::from(u32::MAX),
        })?;
        check_seqnos(self.seqno, count)?;
        codec::append_entry(&mut self.rep, kind, key, value);
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

    /// Decodes a batch from its encoding, checking every field.
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
        let header = codec::read_header(&mut reader);
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
        let entry = codec::read_entry(&mut self.reader);
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

    fn build(ops: &Ops) -> WriteBatch {
        let mut batch = WriteBatch::new();
        for (put, key, value) in ops {
            if *put {
                batch.put(key, value).unwrap();
            } else {
                batch.delete(key).unwrap();
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
                (ValueKind::Value, &b"b"[..], &b"1"[..]),
                (ValueKind::Tombstone, b"a", b""),
                (ValueKind::Value, b"b", b"2"),
            ]
        );
        assert_eq!(batch.iter().len(), 3);
    }

    /// The example in `docs/format/write_batch.md`, byte for byte.
    #[test]
    fn encoding_matches_the_spec_example() {
        let mut batch = WriteBatch::new();
        batch.put(b"ab", b"x").unwrap();
        batch.delete(b"ab").unwrap();
        batch.set_base_seqno(SeqNo::new(7).unwrap()).unwrap();
        let want = [
            7, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, // header
            1, 2, b'a', b'b', 1, b'x', // put
            2, 2, b'a', b'b', 0, // delete
        ];
        assert_eq!(batch.encoded(), want);
        assert_eq!(batch.approximate_size(), want.len());
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
    fn clear_returns_to_the_empty_encoding() {
        let mut batch = build(&vec![(true, b"k".to_vec(), b"v".to_vec())]);
        batch.set_base_seqno(SeqNo::new(9).unwrap()).unwrap();
        batch.clear();
        assert_eq!(batch, WriteBatch::new());
        assert_eq!(batch.encoded(), WriteBatch::new().encoded());
    }

    quickcheck! {
        fn encoding_round_trips(ops: Ops, seqno: u64) -> bool {
            let mut batch = build(&ops);
            let base = SeqNo::new(seqno % (1 << 40)).unwrap();
            batch.set_base_seqno(base).unwrap();
            let decoded = WriteBatch::decode(batch.encoded()).unwrap();
            let entries: Vec<_> = decoded.iter().map(|e| (
                e.kind == ValueKind::Value, e.key.to_vec(), e.value.to_vec()
            )).collect();
            let want: Ops = ops.iter().map(|(put, k, v)| {
                (*put, k.clone(), if *put { v.clone() } else { Vec::new() })
            }).collect();
            decoded == batch
                && decoded.base_seqno() == base
                && entries == want
                && WriteBatch::from_encoded(batch.encoded().to_vec()).unwrap() == batch
        }

        fn decode_never_panics(bytes: Vec<u8>) -> bool {
            let _ = WriteBatch::decode(&bytes);
            true
        }

        fn decoding_damaged_batches_never_panics(ops: Ops, at: usize, byte: u8, cut: usize)
            -> TestResult
        {
            let batch = build(&ops);
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
