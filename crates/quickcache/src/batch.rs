//! `WriteBatch`: puts and deletes applied atomically by [`crate::Db::write`].

use snafu::ResultExt;

use crate::error::{BatchSnafu, Result};

/// A group of puts and deletes that [`crate::Db::write`] applies all at once: after a
/// crash either every entry is there or none is, and no reader sees part of it.
///
/// Entries apply in order; a later entry for the same key wins. The batch's bytes are
/// the WAL record (`docs/format/write_batch.md`). A key or value too large for the
/// format is reported by [`crate::Db::write`], which then writes nothing.
///
/// # Examples
/// ```
/// use quickcache::{Db, WriteBatch};
///
/// let dir = tempfile::tempdir()?;
/// let db = Db::open(dir.path())?;
/// db.put("from", "100")?;
/// let mut batch = WriteBatch::new();
/// batch.put("from", "90").put("to", "10").delete("pending");
/// assert_eq!(batch.len(), 3);
/// db.write(batch)?;
/// assert_eq!(db.get("to")?.unwrap(), b"10");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
pub struct WriteBatch {
    inner: quickcache_memtable::WriteBatch,
    error: Option<quickcache_memtable::Error>,
    /// Built outside this type (a lower-crate batch): its entries may name any
    /// keyspace, so the write checks them. Batches built here only name the default.
    foreign: bool,
}

impl WriteBatch {
    /// An empty batch.
    ///
    /// # Examples
    /// ```
    /// assert!(quickcache::WriteBatch::new().is_empty());
    /// ```
    pub fn new() -> WriteBatch {
        WriteBatch::default()
    }

    /// Adds a put of `key` → `value`.
    ///
    /// # Examples
    /// ```
    /// let mut batch = quickcache::WriteBatch::new();
    /// batch.put("k", "v").put(b"k2", vec![1, 2, 3]);
    /// assert_eq!(batch.len(), 2);
    /// ```
    pub fn put(&mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> &mut Self {
        if self.error.is_none()
            && let Err(e) = self.inner.put(key.as_ref(), value.as_ref())
        {
            self.error = Some(e);
        }
        self
    }

    /// Adds a delete of `key`.
    ///
    /// # Examples
    /// ```
    /// let mut batch = quickcache::WriteBatch::new();
    /// batch.delete("gone");
    /// assert_eq!(batch.len(), 1);
    /// ```
    pub fn delete(&mut self, key: impl AsRef<[u8]>) -> &mut Self {
        if self.error.is_none()
            && let Err(e) = self.inner.delete(key.as_ref())
        {
            self.error = Some(e);
        }
        self
    }

    /// Number of entries.
    ///
    /// # Examples
    /// ```
    /// assert_eq!(quickcache::WriteBatch::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.inner.count() as usize
    }

    /// Whether the batch has no entries.
    ///
    /// # Examples
    /// ```
    /// let mut batch = quickcache::WriteBatch::new();
    /// batch.put("a", "b");
    /// assert!(!batch.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// Removes every entry (and a pending error), keeping the buffer for reuse.
    ///
    /// # Examples
    /// ```
    /// let mut batch = quickcache::WriteBatch::new();
    /// batch.put("a", "b");
    /// batch.clear();
    /// assert!(batch.is_empty());
    /// ```
    pub fn clear(&mut self) {
        self.inner.clear();
        self.error = None;
    }

    /// The lower crate's batch, for tools that decode WAL records.
    ///
    /// # Examples
    /// ```
    /// let mut batch = quickcache::WriteBatch::new();
    /// batch.put("a", "b");
    /// assert_eq!(batch.as_inner().count(), 1);
    /// ```
    pub fn as_inner(&self) -> &quickcache_memtable::WriteBatch {
        &self.inner
    }

    /// The batch ready for the WAL, or the first error an entry raised. A batch
    /// wrapped from a lower-crate one may write only to keyspaces the database has:
    /// the default one (`Error::NoSuchKeyspace` otherwise, before anything is
    /// written).
    pub(crate) fn into_checked(self) -> Result<quickcache_memtable::WriteBatch> {
        if let Some(source) = self.error {
            return Err(source).context(BatchSnafu {
                operation: "building a write batch",
            });
        }
        if self.foreign
            && let Some(entry) = self.inner.iter().find(|e| !e.keyspace.is_default())
        {
            return Err(crate::Error::NoSuchKeyspace {
                keyspace: entry.keyspace.0,
            });
        }
        Ok(self.inner)
    }
}

/// Wraps a lower-crate batch, such as one decoded from a WAL record, so that
/// [`crate::Db::write`] can apply it. Its entries were checked when it was built or
/// decoded; its sequence numbers are replaced by the write. An entry naming a keyspace
/// the database does not have makes the write fail with
/// [`crate::Error::NoSuchKeyspace`], writing nothing.
///
/// # Examples
/// ```
/// use quickcache::{Db, WriteBatch, memtable};
///
/// let mut original = WriteBatch::new();
/// original.put("a", "1").delete("b");
/// let record = original.as_inner().encoded().to_vec(); // what the WAL holds
/// let replayed = WriteBatch::from(memtable::WriteBatch::decode(&record)?);
/// let dir = tempfile::tempdir()?;
/// let db = Db::open(dir.path())?;
/// db.write(replayed)?;
/// assert_eq!(db.get("a")?.unwrap(), b"1");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl From<quickcache_memtable::WriteBatch> for WriteBatch {
    fn from(inner: quickcache_memtable::WriteBatch) -> Self {
        WriteBatch {
            inner,
            error: None,
            foreign: true,
        }
    }
}
