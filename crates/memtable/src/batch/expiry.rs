//! Expiring puts in a batch: entries of kind [`ValueKind::ExpiringValue`], whose stored
//! value is an expiry followed by the user's value (`docs/format/write_batch.md`).

use quickcache_sstable::{EXPIRY_LEN, KeyspaceId, Timestamp, encode_expiring};

use super::{BatchEntry, BatchKind, WriteBatch, check_len, codec};
use crate::error::Result;

impl WriteBatch {
    /// Adds a put of `key` to `value` in `keyspace` that reads as deleted from
    /// `expires_at` on (an entry of kind [`BatchKind::PutExpiring`], whose stored
    /// value is the expiry followed by `value`). Fails like [`WriteBatch::put`].
    ///
    /// # Examples
    /// ```
    /// use quickcache_memtable::{BatchKind, WriteBatch};
    /// use quickcache_sstable::{KeyspaceId, Timestamp, split_expiring};
    ///
    /// let mut batch = WriteBatch::new();
    /// let at = Timestamp::from_millis(5_000);
    /// batch.put_expiring_in(KeyspaceId::DEFAULT, b"k", b"v", at)?;
    /// let entry = batch.iter().next().unwrap();
    /// assert_eq!(entry.kind, BatchKind::PutExpiring);
    /// assert_eq!(split_expiring(entry.value), Some((at, &b"v"[..])));
    /// # Ok::<(), quickcache_memtable::Error>(())
    /// ```
    pub fn put_expiring_in(
        &mut self,
        keyspace: KeyspaceId,
        key: &[u8],
        value: &[u8],
        expires_at: Timestamp,
    ) -> Result<()> {
        // Checked before the copy below, which would otherwise be made for nothing.
        check_len("value", value.len().saturating_add(EXPIRY_LEN))?;
        let mut stored = Vec::new();
        encode_expiring(expires_at, value, &mut stored);
        self.push(BatchEntry {
            kind: BatchKind::PutExpiring,
            keyspace,
            key,
            value: &stored,
        })
    }

    /// Moves the expiry of the listed entries (indices, ascending, each an expiring put) `by`
    /// milliseconds later, saturating: a batch built with times to live stored as
    /// expiries relative to 0 is made absolute this way when it is written, by the
    /// engine that knows the clock. Other entries listed are left alone.
    ///
    /// # Examples
    /// ```
    /// use quickcache_memtable::WriteBatch;
    /// use quickcache_sstable::{KeyspaceId, Timestamp, split_expiring};
    ///
    /// let mut batch = WriteBatch::new();
    /// batch.put(b"plain", b"v")?;
    /// batch.put_expiring_in(KeyspaceId::DEFAULT, b"k", b"v", Timestamp::from_millis(60))?;
    /// batch.delay_expiries(&[0, 1], 1_000);
    /// let entry = batch.iter().nth(1).unwrap();
    /// assert_eq!(split_expiring(entry.value), Some((Timestamp::from_millis(1_060), &b"v"[..])));
    /// # Ok::<(), quickcache_memtable::Error>(())
    /// ```
    pub fn delay_expiries(&mut self, entries: &[u32], by: u64) {
        // The buffer is well-formed by invariant (see `iter`); debug builds assert it.
        let offsets = codec::expiry_offsets(&self.rep);
        debug_assert!(offsets.is_ok(), "a batch's own bytes fail to decode");
        for (i, at) in offsets.unwrap_or_default() {
            if entries.binary_search(&i).is_err() {
                continue;
            }
            let Some(slot) = self.rep.get_mut(at..at + EXPIRY_LEN) else {
                continue;
            };
            let old = u64::from_le_bytes(slot.try_into().unwrap_or([0; EXPIRY_LEN]));
            slot.copy_from_slice(&old.saturating_add(by).to_le_bytes());
        }
    }
}
