//! The write calls of [`Db`]: single puts and deletes, batches, and the durability
//! each asks for.

use std::cell::Cell;
use std::time::Duration;

use quickcache_sstable::KeyspaceId;

use super::Db;
use crate::error::{Error, Result};
use crate::{WriteBatch, WriteOptions};

type MemBatch = quickcache_memtable::WriteBatch;

const DEFAULT: KeyspaceId = KeyspaceId::DEFAULT;

thread_local! {
    /// The batch `Db::put` and `Db::delete` encode into, reused across calls. Taken
    /// out while in use, so a nested call (from another `Db`) just builds its own.
    static SCRATCH_BATCH: Cell<Option<MemBatch>> = const { Cell::new(None) };
}

/// The largest encoding a thread keeps in `SCRATCH_BATCH` for reuse.
const SCRATCH_BATCH_KEEP: usize = 64 << 10;

impl Db {
    /// Sets `key` to `value`.
    ///
    /// Durable as [`Options::durability`](crate::Options::durability) says: by default
    /// the write is handed to the OS before this returns, so it survives a process
    /// crash but not a power loss; [`Db::put_with`] and [`WriteOptions::synced`] (or a
    /// later [`Db::sync`]) for that.
    ///
    /// # Limits
    /// A write is one WAL record, and a record carries at most 64 MiB
    /// ([`quickcache_wal::MAX_RECORD_LEN`]): a key plus value (plus a few bytes of
    /// framing) beyond that fails with [`Error::WriteTooLarge`], which names the
    /// limit, and writes nothing. Bulk data goes in faster and without that limit
    /// through [`Db::ingest`] or [`crate::BulkLoader`], which bypass the WAL.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// db.put(b"key", [1u8, 2, 3])?;
    /// assert_eq!(db.get(b"key")?.unwrap(), [1u8, 2, 3]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn put(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<()> {
        self.put_with(key, value, &WriteOptions::default())
    }

    /// Sets `key` to `value`, durable as `options` ask: [`WriteOptions::durability`],
    /// or [`Options::durability`](crate::Options::durability) when that is `None` (see
    /// [`Db::put`]).
    ///
    /// # Examples
    /// ```
    /// use quickcache::WriteOptions;
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// db.put_with("k", "v", &WriteOptions::synced())?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn put_with(
        &self,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
        options: &WriteOptions,
    ) -> Result<()> {
        let (key, value) = (key.as_ref(), value.as_ref());
        let Some(ttl) = options.ttl else {
            return self.write_one(|batch| batch.put(key, value), options);
        };
        let expires_at = self.inner.options.clock.now().after(ttl);
        let put = |batch: &mut MemBatch| batch.put_expiring_in(DEFAULT, key, value, expires_at);
        self.write_one(put, options)
    }

    /// Sets `key` to `value` until `ttl` has passed (by
    /// [`Options::clock`](crate::Options::clock)); from then on `key` reads as absent,
    /// in gets, scans and snapshots alike, as if deleted at that instant (an older
    /// value of it does not come back), and compactions remove it. Durable as
    /// [`Db::put`] is.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// db.put_with_ttl("session:42", "token", Duration::from_secs(3600))?;
    /// assert_eq!(db.get("session:42")?.unwrap(), b"token");
    /// // A time to live of zero has already passed.
    /// db.put_with_ttl("gone", "x", Duration::ZERO)?;
    /// assert!(db.get("gone")?.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn put_with_ttl(
        &self,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
        ttl: Duration,
    ) -> Result<()> {
        let options = WriteOptions {
            ttl: Some(ttl),
            ..WriteOptions::default()
        };
        self.put_with(key, value, &options)
    }

    /// Deletes `key` (deleting an absent key is not an error).
    ///
    /// Durable as [`Options::durability`](crate::Options::durability) says: by default
    /// the write is handed to the OS before this returns, so it survives a process
    /// crash but not a power loss; [`Db::delete_with`] and [`WriteOptions::synced`] (or
    /// a later [`Db::sync`]) for that.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// db.put("k", "v")?;
    /// db.delete("k")?;
    /// assert_eq!(db.get("k")?, None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn delete(&self, key: impl AsRef<[u8]>) -> Result<()> {
        self.delete_with(key, &WriteOptions::default())
    }

    /// Deletes `key`, durable as `options` ask: [`WriteOptions::durability`], or
    /// [`Options::durability`](crate::Options::durability) when that is `None` (see
    /// [`Db::delete`]).
    ///
    /// # Examples
    /// ```
    /// use quickcache::WriteOptions;
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// db.put("k", "v")?;
    /// db.delete_with("k", &WriteOptions::synced())?; // survives a power loss
    /// assert_eq!(db.get("k")?, None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn delete_with(&self, key: impl AsRef<[u8]>, options: &WriteOptions) -> Result<()> {
        let key = key.as_ref();
        refuse_ttl(options, "a delete")?;
        self.write_one(|batch| batch.delete(key), options)
    }

    /// Applies `batch` atomically.
    ///
    /// Durable as [`Options::durability`](crate::Options::durability) says: by default
    /// the write is handed to the OS before this returns, so it survives a process
    /// crash but not a power loss; [`Db::write_with`] and [`WriteOptions::synced`] (or
    /// a later [`Db::sync`]) for that.
    ///
    /// # Limits
    /// The whole batch is one WAL record, of at most 64 MiB
    /// ([`quickcache_wal::MAX_RECORD_LEN`]): the keys and values plus 12 bytes of header
    /// and up to 16 per entry. A larger batch fails with [`Error::WriteTooLarge`],
    /// which names the limit, and writes nothing; split it (giving up its atomicity
    /// across the parts), or load bulk data with [`Db::ingest`] or
    /// [`crate::BulkLoader`], which bypass the WAL and have no such limit.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// let mut batch = quickcache::WriteBatch::new();
    /// batch.put("a", "1").put("b", "2");
    /// db.write(batch)?;
    /// assert_eq!(db.iter().count(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn write(&self, batch: WriteBatch) -> Result<()> {
        self.write_with(batch, &WriteOptions::default())
    }

    /// Applies `batch` atomically, durable as `options` ask:
    /// [`WriteOptions::durability`], or
    /// [`Options::durability`](crate::Options::durability) when that is `None` (see
    /// [`Db::write`]).
    ///
    /// # Errors
    /// A key or value too large for the batch format, or a batch over the WAL record
    /// limit ([`Error::WriteTooLarge`]; nothing is written); the read-only error state after a background failure ([`Error::is_read_only`]).
    ///
    /// # Examples
    /// ```
    /// use quickcache::{Durability, WriteOptions};
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// let mut batch = quickcache::WriteBatch::new();
    /// batch.put("a", "1");
    /// db.write_with(batch, &WriteOptions { durability: Some(Durability::Buffered), ..WriteOptions::default() })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn write_with(&self, batch: WriteBatch, options: &WriteOptions) -> Result<()> {
        refuse_ttl(options, "a batch")?;
        let mut checked = batch.into_checked(&self.inner)?;
        let durability = self.inner.durability(options);
        if checked.targets.is_empty() {
            // Only the default keyspace: its own write path.
            return self.inner.write(&mut checked.batch, durability, None);
        }
        self.inner.write_in(
            &mut checked.batch,
            durability,
            &checked.targets,
            checked.has_default,
            None,
        )
    }

    /// Writes a one-entry batch that `fill` builds in this thread's reusable batch, so
    /// that a single put or delete allocates nothing for its encoding in the steady
    /// state (building a fresh batch cost an allocation and two reallocations).
    pub(super) fn write_one(
        &self,
        fill: impl FnOnce(&mut MemBatch) -> std::result::Result<(), quickcache_memtable::Error>,
        options: &WriteOptions,
    ) -> Result<()> {
        let mut batch = SCRATCH_BATCH.take().unwrap_or_default();
        batch.clear();
        let result = match fill(&mut batch) {
            Ok(()) => (self.inner).write(&mut batch, self.inner.durability(options), None),
            Err(source) => Err(Error::Batch {
                operation: "building a write batch",
                source: Box::new(source),
            }),
        };
        // A batch that held a huge value is dropped rather than kept per thread.
        if batch.approximate_size() <= SCRATCH_BATCH_KEEP {
            SCRATCH_BATCH.set(Some(batch));
        }
        result
    }
}

/// Refuses a time to live in `options` for a write of another kind than a put.
pub(crate) fn refuse_ttl(options: &WriteOptions, what: &str) -> Result<()> {
    match options.ttl {
        None => Ok(()),
        Some(_) => Err(Error::InvalidOptions {
            reason: format!(
                "WriteOptions::ttl given for {what}: only a single put takes one (a batch's puts carry their own, WriteBatch::put_with_ttl)"
            ),
        }),
    }
}
