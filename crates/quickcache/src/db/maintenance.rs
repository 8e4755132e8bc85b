//! The maintenance calls of [`Db`]: flushing, compacting, waiting for background work
//! and syncing; each waits until its work is done.

use quickcache_sstable::KeyspaceId;

use super::Db;
use crate::KeyRange;
use crate::error::Result;

impl Db {
    /// Writes the memtable (and any frozen one) to L0 tables and waits until done.
    ///
    /// If a flush meets a full disk while this waits, it returns [`crate::Error::NoSpace`]
    /// (`is_no_space()`, not read-only): nothing is lost, and the database retries by
    /// itself until the disk has room (`stats().no_space`).
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// db.put("k", "v")?;
    /// db.flush()?;
    /// assert_eq!(db.stats().levels[0].files, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn flush(&self) -> Result<()> {
        self.inner.flush_everything()
    }

    /// Compacts every table overlapping `range` down to the bottom level (a full
    /// manual compaction for `..`), after flushing the memtable, then rewrites the
    /// bottom level's tables in `range` that this call did not just write: versions
    /// that only released snapshots needed, and tombstones, are gone afterwards.
    /// Waits until done.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// db.put("k", "v")?;
    /// db.compact_range(..)?;
    /// let stats = db.stats();
    /// assert_eq!(stats.levels[0].files, 0);
    /// assert_eq!(stats.levels.last().unwrap().files, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn compact_range(&self, range: impl KeyRange) -> Result<()> {
        let (lower, upper) = range.into_bounds();
        self.inner
            .compact_range(KeyspaceId::DEFAULT, &lower, &upper)
    }

    /// Waits until background work is done: every frozen memtable flushed and no
    /// compaction due or running (RocksDB's `WaitForCompact`). The active memtable is
    /// not flushed; call [`Db::flush`] first for that. Useful before measuring space
    /// or read amplification, or before a test that must see a quiet tree.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// for i in 0..10 {
    ///     db.put(format!("k{i}"), "v")?;
    ///     db.flush()?;
    /// }
    /// db.wait_for_compactions()?;
    /// // Below the L0 trigger (4) plus the tables L0 may wait for to make a bigger
    /// // batch (2; see `quickcache_compaction::L0_BATCH`).
    /// assert!(db.stats().levels[0].files < 6);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn wait_for_compactions(&self) -> Result<()> {
        self.inner.wait_for_compactions()
    }

    /// Makes every write so far durable (survives power loss).
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// db.put("k", "v")?;
    /// db.sync()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sync(&self) -> Result<()> {
        let inner = &self.inner;
        inner.check_writable()?;
        inner
            .wal()?
            .sync()
            .map_err(|source| inner.fail(inner.wal_error("syncing", source)))
    }

    /// What the background threads and the calls waiting on them are doing, as text
    /// for people (the format is not stable): the flush backlog, the compaction pool
    /// (compactions running, due and waiting, busy tables), the error state, and every
    /// thread blocked on background work, with what it waits for and since when.
    /// For diagnosing a stuck process; it never blocks for long.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// let report = db.background_report();
    /// assert!(report.contains("compaction pool: 1 threads"), "{report}");
    /// assert!(report.contains("pending waits: 0"), "{report}");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn background_report(&self) -> String {
        self.reporter().report()
    }

    /// A handle that produces [`Db::background_report`] from another thread (a
    /// watchdog's, say) without keeping the database open.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// let reporter = db.reporter();
    /// assert!(reporter.report().contains("frozen memtables 0"));
    /// drop(db);
    /// assert_eq!(reporter.report(), "database closed and dropped");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reporter(&self) -> crate::BackgroundReporter {
        crate::BackgroundReporter(std::sync::Arc::downgrade(&self.inner))
    }
}
