//! The maintenance calls of a [`Keyspace`]: flushing and compacting its own tree.

use super::Keyspace;
use crate::KeyRange;
use crate::error::Result;

impl Keyspace {
    /// Writes this keyspace's memtable to L0 tables and waits until every frozen
    /// memtable of the database is flushed.
    ///
    /// # Errors
    /// [`crate::Error::KeyspaceDropped`] once the keyspace is dropped; a failed flush.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// let log = db.keyspace("log")?;
    /// log.put("1", "one")?;
    /// log.flush()?;
    /// assert_eq!(db.stats().keyspaces[0].levels[0].files, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn flush(&self) -> Result<()> {
        self.state.check_live()?;
        let inner = &self.inner;
        inner.check_writable()?;
        inner.freeze_keyspace(&self.state, None)?;
        inner.wait_flushed()
    }

    /// Compacts this keyspace's tables overlapping `range` down to the bottom level,
    /// as [`crate::Db::compact_range`] does for the default keyspace; other keyspaces'
    /// trees are left as they are (their memtables are flushed first, as every
    /// keyspace's are). Waits until done.
    ///
    /// # Errors
    /// [`crate::Error::KeyspaceDropped`] once the keyspace is dropped; a failed flush
    /// or compaction.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// let log = db.keyspace("log")?;
    /// log.put("1", "one")?;
    /// log.delete("1")?;
    /// log.compact_range(..)?;
    /// // The put and its tombstone met at the bottom level and are gone.
    /// assert!(db.stats().keyspaces[0].levels.iter().all(|l| l.files == 0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn compact_range(&self, range: impl KeyRange) -> Result<()> {
        self.state.check_live()?;
        let (lower, upper) = range.into_bounds();
        self.inner.compact_range(self.state.id, &lower, &upper)
    }
}
