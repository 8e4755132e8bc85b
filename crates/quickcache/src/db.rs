//! `Db`: the database handle users hold; the state it shares lives in `Inner`.

use std::cell::Cell;
use std::fmt;
use std::ops::RangeBounds;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use quickcache_compaction::Compactor;
use quickcache_fs::FileLock;

mod maintenance;

use crate::error::{Error, Result};
use crate::inner::{Inner, lock};
use crate::iter::{owned_bounds, prefix_bounds};
use crate::{Iter, Options, RecoveryReport, Snapshot, Stats, Value, WriteBatch, WriteOptions};

type MemBatch = quickcache_memtable::WriteBatch;

thread_local! {
    /// The batch `Db::put` and `Db::delete` encode into, reused across calls. Taken
    /// out while in use, so a nested call (from another `Db`) just builds its own.
    static SCRATCH_BATCH: Cell<Option<MemBatch>> = const { Cell::new(None) };
}

/// The largest encoding a thread keeps in `SCRATCH_BATCH` for reuse.
const SCRATCH_BATCH_KEEP: usize = 64 << 10;

/// An open quickcache database.
///
/// `Db` is `Send + Sync`: share it between threads through an `Arc<Db>`. Writes from
/// many threads share WAL writes and syncs (group commit) and insert into the
/// memtable without a lock; reads take no lock a writer holds.
///
/// Dropping it closes it (waiting for background work, releasing the lock) but cannot
/// report errors; call [`Db::close`] to see them.
///
/// # Examples
/// ```
/// use quickcache::Db;
///
/// let dir = tempfile::tempdir()?;
/// let db = Db::open(dir.path())?;
/// db.put("apple", "red")?;
/// assert_eq!(db.get("apple")?.unwrap(), b"red");
/// db.delete("apple")?;
/// assert!(!db.contains_key("apple")?);
/// db.close()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Db {
    pub(crate) inner: Arc<Inner>,
    pub(crate) flusher: Mutex<Option<JoinHandle<()>>>,
    pub(crate) lock: Mutex<Option<Box<dyn FileLock>>>,
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Db").field("dir", &self.inner.dir).finish()
    }
}

impl Db {
    /// Opens (or creates) the database in `path` with default [`Options`] on the real
    /// file system.
    ///
    /// # Errors
    /// The directory is locked by another opener ([`Error::is_locked`]), is not a
    /// quickcache database ([`Error::is_not_a_database`]), was written by a newer
    /// version ([`Error::is_newer_format`]), or recovery failed.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path().join("data"))?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Db> {
        Db::open_with(path, Options::default())
    }

    /// Opens (or creates) the database in `path` with `options`.
    ///
    /// # Examples
    /// ```
    /// use quickcache::{Db, Options};
    /// let dir = tempfile::tempdir()?;
    /// let db = Db::open_with(dir.path(), Options { memtable_size: 4 << 20, ..Options::default() })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open_with(path: impl AsRef<Path>, options: Options) -> Result<Db> {
        crate::open::open(path.as_ref(), options)
    }

    /// Sets `key` to `value`.
    ///
    /// Durable as [`Options::durability`] says: by default the write is handed to the
    /// OS before this returns, so it survives a process crash but not a power loss;
    /// [`Db::put_with`] and [`WriteOptions::synced`] (or a later [`Db::sync`]) for that.
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
    /// or [`Options::durability`] when that is `None` (see [`Db::put`]).
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
        self.write_one(|batch| batch.put(key, value), options)
    }

    /// Deletes `key` (deleting an absent key is not an error).
    ///
    /// Durable as [`Options::durability`] says: by default the write is handed to the
    /// OS before this returns, so it survives a process crash but not a power loss;
    /// [`Db::delete_with`] and [`WriteOptions::synced`] (or a later [`Db::sync`]) for that.
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
    /// [`Options::durability`] when that is `None` (see [`Db::delete`]).
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
        self.write_one(|batch| batch.delete(key), options)
    }

    /// The value of `key`, or `None`. A value from a table is a zero-copy view of
    /// the mapped file ([`Value::is_mapped`]).
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// assert_eq!(db.get("missing")?, None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Value>> {
        self.inner.get_at(key.as_ref(), None)
    }

    /// Whether `key` has a value.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// db.put("k", "")?;
    /// assert!(db.contains_key("k")?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn contains_key(&self, key: impl AsRef<[u8]>) -> Result<bool> {
        Ok(self.get(key)?.is_some())
    }

    /// Applies `batch` atomically.
    ///
    /// Durable as [`Options::durability`] says: by default the write is handed to the
    /// OS before this returns, so it survives a process crash but not a power loss;
    /// [`Db::write_with`] and [`WriteOptions::synced`] (or a later [`Db::sync`]) for that.
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

    /// Applies `batch` atomically, durable as `options` ask: [`WriteOptions::durability`],
    /// or [`Options::durability`] when that is `None` (see [`Db::write`]).
    ///
    /// # Errors
    /// A key or value too large for the batch format (nothing is written); the
    /// read-only error state after a background failure ([`Error::is_read_only`]).
    ///
    /// # Examples
    /// ```
    /// use quickcache::{Durability, WriteOptions};
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// let mut batch = quickcache::WriteBatch::new();
    /// batch.put("a", "1");
    /// db.write_with(batch, &WriteOptions { durability: Some(Durability::Buffered) })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn write_with(&self, batch: WriteBatch, options: &WriteOptions) -> Result<()> {
        let mut batch = batch.into_checked()?;
        let durability = self.inner.durability(options);
        self.inner.write(&mut batch, durability)
    }

    /// Writes a one-entry batch that `fill` builds in this thread's reusable batch, so
    /// that a single put or delete allocates nothing for its encoding in the steady
    /// state (building a fresh batch cost an allocation and two reallocations).
    fn write_one(
        &self,
        fill: impl FnOnce(&mut MemBatch) -> std::result::Result<(), quickcache_memtable::Error>,
        options: &WriteOptions,
    ) -> Result<()> {
        let mut batch = SCRATCH_BATCH.take().unwrap_or_default();
        batch.clear();
        let result = match fill(&mut batch) {
            Ok(()) => self.inner.write(&mut batch, self.inner.durability(options)),
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

    /// The pairs whose keys lie in `range`, in key order (or reverse, with
    /// [`DoubleEndedIterator`]), as of this call.
    ///
    /// For every pair use [`Db::iter`]: a bare `..` has no key type to infer, so it
    /// would need `db.range::<&[u8], _>(..)`.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// for i in 0..10u8 {
    ///     db.put([i], [i])?;
    /// }
    /// let rev: Vec<u8> = db.range([3u8]..=[5u8]).rev().map(|kv| kv.map(|(k, _)| k[0])).collect::<Result<_, _>>()?;
    /// assert_eq!(rev, [5, 4, 3]);
    /// assert_eq!(db.range(..[2u8]).count(), 2); // half-open ranges infer the type
    /// assert_eq!(db.iter().count(), db.range::<&[u8], _>(..).count());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn range<K: AsRef<[u8]>, R: RangeBounds<K>>(&self, range: R) -> Iter {
        let (lower, upper) = owned_bounds(&range);
        self.inner.iter_at(lower, upper, None)
    }

    /// The pairs whose keys start with `prefix`.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// db.put("user:1", "ann")?;
    /// db.put("user:2", "bob")?;
    /// db.put("users", "x")?;
    /// assert_eq!(db.prefix("user:").count(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn prefix(&self, prefix: impl AsRef<[u8]>) -> Iter {
        let (lower, upper) = prefix_bounds(prefix.as_ref());
        self.inner.iter_at(lower, upper, None)
    }

    /// Every pair, in key order.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// db.put("b", "2")?;
    /// db.put("a", "1")?;
    /// let (first, _) = db.iter().next().unwrap()?;
    /// assert_eq!(first, b"a");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn iter(&self) -> Iter {
        self.range::<&[u8], _>(..)
    }

    /// A read-only view as of now; see [`Snapshot`].
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// let snapshot = db.snapshot();
    /// db.put("k", "v")?;
    /// assert!(!snapshot.contains_key("k")?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn snapshot(&self) -> Snapshot {
        Snapshot::new(Arc::clone(&self.inner))
    }

    /// Figures about the tree, memory, WAL, amplification, stalls and errors.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// db.put("k", "v")?;
    /// let stats = db.stats();
    /// assert!(stats.memtable_bytes > 0);
    /// assert_eq!(stats.levels.len(), 7);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stats(&self) -> Stats {
        Stats::gather(&self.inner)
    }

    /// What opening the database recovered.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// assert!(db.recovery_report().created);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.inner.report
    }

    /// The database directory.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// assert_eq!(db.path(), dir.path());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn path(&self) -> &Path {
        &self.inner.dir
    }

    /// Flushes the memtables (unless [`Options::flush_on_close`] is off), stops
    /// background work, makes every write durable, and releases the lock, reporting
    /// the first error.
    ///
    /// # Errors
    /// The background error that made the database read-only ([`Error::is_read_only`]),
    /// including a compaction that failed just before the close; otherwise a failed
    /// flush or WAL close. The threads are stopped and the lock released in every
    /// case, and only a close without error leaves the clean-close marker.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// db.close()?;
    /// let again = quickcache::Db::open(dir.path())?; // the lock is free
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn close(self) -> Result<()> {
        self.shutdown()
    }

    fn shutdown(&self) -> Result<()> {
        let inner = &self.inner;
        if inner.closed.load(Ordering::Acquire) {
            return Ok(());
        }
        // No writer is left (closing takes the handle), so nothing lands in the
        // memtable after this flush; in the error state there is nothing to try.
        let flushed = if inner.options.flush_on_close && !inner.failed.load(Ordering::Acquire) {
            inner.flush_all()
        } else {
            Ok(())
        };
        if inner.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        self.stop_background();
        let closed = inner
            .wal
            .close()
            .map_err(|source| inner.wal_error("closing", source));
        // Everything is synced now (the WAL's close waits for that; tables and
        // manifest edits are synced when installed): let the next open skip its syncs.
        let background = inner.background_error();
        if flushed.is_ok() && closed.is_ok() && background.is_none() {
            crate::clean::leave(inner.options.fs.as_ref(), &inner.dir);
        }
        lock(&self.lock).take();
        // The background error is the first: a flush on close fails because of it.
        match background {
            Some(source) => Err(Error::Background { source }),
            None => flushed.and(closed),
        }
    }

    /// Stops the flush thread, then the compaction pool. The flush thread sees a
    /// compaction's error only when it next polls, so one that failed just before the
    /// close (a manifest sync, say) is recorded here, for the close to report.
    fn stop_background(&self) {
        let inner = &self.inner;
        lock(&inner.bg).stop = true;
        inner.bg_changed.notify_all();
        if let Some(thread) = lock(&self.flusher).take() {
            // The thread only loops on its state; a panic there is already reported.
            let _joined = thread.join();
        }
        if let Some(source) = lock(&inner.compactor).take().and_then(Compactor::stop) {
            // Kept only if it is the first error.
            let _recorded = inner.fail(Error::Compaction { source });
        }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        // Errors cannot be reported from a drop; `close` reports them.
        let _closed = self.shutdown();
    }
}
