//! `WriteBatch`: puts and deletes applied atomically by [`crate::Db::write`].

use std::sync::Arc;
use std::time::Duration;

use quickcache_sstable::{KeyspaceId, Timestamp};
use snafu::ResultExt;

use crate::db::range_delete::borrowed;
use crate::error::{BatchSnafu, Result};
use crate::inner::Inner;
use crate::keyspace::engine::KsState;
use crate::{KeyRange, Keyspace};

/// A batch ready to be written: its bytes, and the keyspaces besides the default it
/// names, ascending by id.
#[derive(Debug)]
pub(crate) struct Checked {
    pub(crate) batch: quickcache_memtable::WriteBatch,
    pub(crate) targets: Vec<Arc<KsState>>,
    /// Whether some entry is for the default keyspace.
    pub(crate) has_default: bool,
}

/// A group of puts and deletes that [`crate::Db::write`] applies all at once: after a
/// crash either every entry is there or none is, and no reader sees part of it.
///
/// Entries apply in order; a later entry for the same key wins. The batch's bytes are
/// the WAL record (`docs/format/write_batch.md`). A key or value too large for the
/// format is reported by [`crate::Db::write`], which then writes nothing. A clone
/// copies the entries (to write the same batch to two databases, say).
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
/// let again = batch.clone();
/// db.write(batch)?;
/// assert_eq!(db.get("to")?.unwrap(), b"10");
/// assert_eq!(again.len(), 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default, Clone)]
pub struct WriteBatch {
    inner: quickcache_memtable::WriteBatch,
    error: Option<quickcache_memtable::Error>,
    /// Built outside this type (a lower-crate batch): its entries may name any
    /// keyspace, so the write checks them. Batches built here only name the default
    /// keyspace and the keyspaces in `targets`.
    foreign: bool,
    /// The keyspaces besides the default that entries were added for
    /// ([`WriteBatch::put_in`]), each once.
    targets: Vec<Arc<KsState>>,
    /// Whether an entry was added for the default keyspace ([`WriteBatch::put`]).
    has_default: bool,
    /// The entries put with a time to live ([`WriteBatch::put_with_ttl`]), ascending:
    /// their expiry holds the time to live until the write adds the clock's time.
    ttl_entries: Vec<u32>,
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
        self.has_default = true;
        if self.error.is_none()
            && let Err(e) = self.inner.put(key.as_ref(), value.as_ref())
        {
            self.error = Some(e);
        }
        self
    }

    /// Adds a put of `key` → `value` in `keyspace`. A batch may mix keyspaces (and the
    /// default one, through [`WriteBatch::put`]): [`crate::Db::write`] applies it
    /// atomically across them, as one WAL record.
    ///
    /// # Examples
    /// ```
    /// use quickcache::{Db, WriteBatch};
    /// let dir = tempfile::tempdir()?;
    /// let db = Db::open(dir.path())?;
    /// let (log, index) = (db.keyspace("log")?, db.keyspace("index")?);
    /// let mut batch = WriteBatch::new();
    /// batch.put_in(&log, "0001", "set x=1").put_in(&index, "x", "0001").put("applied", "0001");
    /// db.write(batch)?;
    /// assert_eq!(index.get("x")?.unwrap(), b"0001");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn put_in(
        &mut self,
        keyspace: &Keyspace,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
    ) -> &mut Self {
        let id = self.target(keyspace);
        if self.error.is_none()
            && let Err(e) = self.inner.put_in(id, key.as_ref(), value.as_ref())
        {
            self.error = Some(e);
        }
        self
    }

    /// Adds a put of `key` → `value` that expires `ttl` after the batch is written:
    /// from then on the key reads as absent, as if deleted then (older values of it
    /// included). The time is the database's clock ([`crate::Options::clock`]) when
    /// [`crate::Db::write`] applies the batch.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use quickcache::{Db, WriteBatch};
    /// let dir = tempfile::tempdir()?;
    /// let db = Db::open(dir.path())?;
    /// let mut batch = WriteBatch::new();
    /// batch.put_with_ttl("session", "s1", Duration::from_secs(3600)).put("user", "ann");
    /// db.write(batch)?;
    /// assert_eq!(db.get("session")?.unwrap(), b"s1");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn put_with_ttl(
        &mut self,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
        ttl: Duration,
    ) -> &mut Self {
        self.has_default = true;
        self.push_ttl(KeyspaceId::DEFAULT, key.as_ref(), value.as_ref(), ttl)
    }

    /// [`WriteBatch::put_with_ttl`] in `keyspace`; see [`WriteBatch::put_in`].
    pub fn put_in_with_ttl(
        &mut self,
        keyspace: &Keyspace,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
        ttl: Duration,
    ) -> &mut Self {
        let id = self.target(keyspace);
        self.push_ttl(id, key.as_ref(), value.as_ref(), ttl)
    }

    fn push_ttl(&mut self, id: KeyspaceId, key: &[u8], value: &[u8], ttl: Duration) -> &mut Self {
        let index = self.inner.count();
        let relative = Timestamp::default().after(ttl);
        if self.error.is_none() {
            match self.inner.put_expiring_in(id, key, value, relative) {
                Ok(()) => self.ttl_entries.push(index),
                Err(e) => self.error = Some(e),
            }
        }
        self
    }

    /// Adds a delete of `key` in `keyspace`; see [`WriteBatch::put_in`].
    pub fn delete_in(&mut self, keyspace: &Keyspace, key: impl AsRef<[u8]>) -> &mut Self {
        let id = self.target(keyspace);
        if self.error.is_none()
            && let Err(e) = self.inner.delete_in(id, key.as_ref())
        {
            self.error = Some(e);
        }
        self
    }

    fn target(&mut self, keyspace: &Keyspace) -> KeyspaceId {
        let state = keyspace.state();
        if !self.targets.iter().any(|t| Arc::ptr_eq(t, state)) {
            self.targets.push(Arc::clone(state));
        }
        state.id
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
        self.has_default = true;
        if self.error.is_none()
            && let Err(e) = self.inner.delete(key.as_ref())
        {
            self.error = Some(e);
        }
        self
    }

    /// Adds a delete of every key in `range`: one entry, a range tombstone, whatever
    /// the number of keys it covers; see [`crate::Db::delete_range`] for what it
    /// deletes. The range must have an end; an unbounded one makes the write fail,
    /// writing nothing. Entries after it in the batch are not deleted by it.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// db.put("cart:1:apple", "2")?;
    /// db.put("cart:1:pear", "1")?;
    /// let mut batch = quickcache::WriteBatch::new();
    /// batch.delete_range("cart:1:".."cart:1;").put("cart:1:plum", "5"); // ';' follows ':'
    /// db.write(batch)?;
    /// let keys: Vec<_> = db.prefix("cart:1:").map(|kv| kv.map(|(k, _)| k)).collect::<Result<_, _>>()?;
    /// assert_eq!(keys, [b"cart:1:plum".to_vec()]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn delete_range(&mut self, range: impl KeyRange) -> &mut Self {
        self.has_default = true;
        self.push_range(KeyspaceId::DEFAULT, range)
    }

    /// Adds a delete of every key in `range` of `keyspace`; see
    /// [`WriteBatch::delete_range`] and [`WriteBatch::put_in`].
    pub fn delete_range_in(&mut self, keyspace: &Keyspace, range: impl KeyRange) -> &mut Self {
        let id = self.target(keyspace);
        self.push_range(id, range)
    }

    fn push_range(&mut self, id: KeyspaceId, range: impl KeyRange) -> &mut Self {
        let (lower, upper) = range.into_bounds();
        if self.error.is_none()
            && let Err(e) =
                self.inner
                    .delete_range_bounds_in(id, borrowed(&lower), borrowed(&upper))
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
        self.targets.clear();
        self.has_default = false;
        self.ttl_entries.clear();
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
    pub(crate) fn into_checked(mut self, db: &Inner) -> Result<Checked> {
        if let Some(source) = self.error {
            return Err(source).context(BatchSnafu {
                operation: "building a write batch",
            });
        }
        if !self.ttl_entries.is_empty() {
            let now = db.options.clock.now().as_millis();
            self.inner.delay_expiries(&self.ttl_entries, now);
        }
        let mut targets = self.targets;
        let live = if targets.is_empty() && !self.foreign {
            Vec::new()
        } else {
            db.keyspace_states()
        };
        for target in &targets {
            target.check_live()?;
            let ours = live.iter().any(|k| Arc::ptr_eq(k, target));
            if !ours {
                return Err(crate::Error::InvalidKeyspaceName {
                    name: target.name.clone(),
                    reason: "is a keyspace of another database".to_owned(),
                });
            }
        }
        if self.foreign {
            for entry in self.inner.iter().filter(|e| !e.keyspace.is_default()) {
                let id = entry.keyspace;
                if targets.iter().any(|t| t.id == id) {
                    continue;
                }
                let state = live.iter().find(|k| k.id == id);
                let state = state.ok_or(crate::Error::NoSuchKeyspace { keyspace: id.0 })?;
                targets.push(Arc::clone(state));
            }
        }
        targets.sort_by_key(|t| t.id);
        // A foreign batch is scanned; one built here knows.
        let has_default = if self.foreign {
            !targets.is_empty() && (self.inner.iter()).any(|e| e.keyspace.is_default())
        } else {
            self.has_default
        };
        Ok(Checked {
            batch: self.inner,
            targets,
            has_default,
        })
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
/// use quickcache::{Db, WriteBatch};
///
/// let mut original = WriteBatch::new();
/// original.put("a", "1").delete("b");
/// let record = original.as_inner().encoded().to_vec(); // what the WAL holds
/// let replayed = WriteBatch::from(quickcache_memtable::WriteBatch::decode(&record)?);
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
            targets: Vec::new(),
            has_default: false,
            ttl_entries: Vec::new(),
        }
    }
}
