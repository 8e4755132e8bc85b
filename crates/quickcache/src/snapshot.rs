//! Snapshots: the registry of live snapshot sequence numbers (which flushes and
//! compactions must keep versions for), and the user's [`Snapshot`] handle.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use quickcache_sstable::SeqNo;

use crate::KeyRange;
use crate::inner::Inner;
use crate::iter::prefix_bounds;
use crate::{Iter, Keyspace, Result, Value};

/// Live snapshots, counted per sequence number. `Send + Sync`.
#[derive(Debug, Default)]
pub(crate) struct SnapshotList {
    live: Mutex<BTreeMap<u64, usize>>,
}

impl SnapshotList {
    /// Registers a snapshot at the sequence number `visible` returns, read under the
    /// registry's lock so that a flush or compaction asking for the list either sees
    /// this snapshot or ran entirely on data at or below it.
    pub(crate) fn register(&self, visible: impl FnOnce() -> SeqNo) -> SeqNo {
        let mut live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        let seqno = visible();
        *live.entry(seqno.get()).or_insert(0) += 1;
        seqno
    }

    pub(crate) fn release(&self, seqno: SeqNo) {
        let mut live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = live.get_mut(&seqno.get()) {
            *count -= 1;
            if *count == 0 {
                live.remove(&seqno.get());
            }
        }
    }

    /// The live snapshots, ascending.
    pub(crate) fn list(&self) -> Vec<SeqNo> {
        let live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        live.keys().filter_map(|&s| SeqNo::new(s)).collect()
    }

    pub(crate) fn len(&self) -> usize {
        let live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        live.values().sum()
    }
}

/// A consistent read-only view of the database as of its creation: writes made later
/// are not seen through it. Dropping it lets compaction reclaim the old versions only
/// it needed.
///
/// # Examples
/// ```
/// let dir = tempfile::tempdir()?;
/// let db = quickcache::Db::open(dir.path())?;
/// db.put("k", "old")?;
/// let snapshot = db.snapshot();
/// db.put("k", "new")?;
/// db.delete("k")?;
/// assert_eq!(snapshot.get("k")?.unwrap(), b"old");
/// assert_eq!(db.get("k")?, None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Snapshot {
    inner: Arc<Inner>,
    seqno: SeqNo,
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot")
            .field("seqno", &self.seqno)
            .finish()
    }
}

impl Snapshot {
    pub(crate) fn new(inner: Arc<Inner>) -> Snapshot {
        let seqno = inner
            .snapshots
            .register(|| inner.writes.visibility.visible());
        Snapshot { inner, seqno }
    }

    /// The sequence number the snapshot reads at.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// let before = db.snapshot().seqno();
    /// db.put("k", "v")?;
    /// assert!(db.snapshot().seqno() > before);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn seqno(&self) -> u64 {
        self.seqno.get()
    }

    /// The value of `key` as of the snapshot.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// let snapshot = db.snapshot();
    /// db.put("k", "v")?;
    /// assert_eq!(snapshot.get("k")?, None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Value>> {
        self.inner.get_at(key.as_ref(), Some(self.seqno))
    }

    /// Whether `key` had a value as of the snapshot.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// db.put("k", "v")?;
    /// let snapshot = db.snapshot();
    /// db.delete("k")?;
    /// assert!(snapshot.contains_key("k")?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn contains_key(&self, key: impl AsRef<[u8]>) -> Result<bool> {
        Ok(self.get(key)?.is_some())
    }

    /// The pairs in `range` as of the snapshot; see [`crate::Db::range`].
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// db.put("a", "1")?;
    /// let snapshot = db.snapshot();
    /// db.put("b", "2")?;
    /// assert_eq!(snapshot.range(..).count(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn range(&self, range: impl KeyRange) -> Iter {
        let (lower, upper) = range.into_bounds();
        self.inner.iter_at(lower, upper, Some(self.seqno))
    }

    /// The pairs whose key starts with `prefix`, as of the snapshot.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// db.put("user:1", "ann")?;
    /// let snapshot = db.snapshot();
    /// db.put("user:2", "bob")?;
    /// assert_eq!(snapshot.prefix("user:").count(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn prefix(&self, prefix: impl AsRef<[u8]>) -> Iter {
        let (lower, upper) = prefix_bounds(prefix.as_ref());
        self.inner.iter_at(lower, upper, Some(self.seqno))
    }

    /// Every pair as of the snapshot.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// let snapshot = db.snapshot();
    /// db.put("a", "1")?;
    /// assert_eq!(snapshot.iter().count(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn iter(&self) -> Iter {
        self.range(..)
    }

    /// The value of `key` in `keyspace` as of the snapshot. One snapshot reads every
    /// keyspace at the same sequence number, so reads of two keyspaces through it see
    /// the same instant (a batch across them all or nothing).
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// let (a, b) = (db.keyspace("a")?, db.keyspace("b")?);
    /// let mut batch = quickcache::WriteBatch::new();
    /// batch.put_in(&a, "k", "1").put_in(&b, "k", "1");
    /// db.write(batch)?;
    /// let snapshot = db.snapshot();
    /// a.put("k", "2")?;
    /// assert_eq!(snapshot.get_in(&a, "k")?.unwrap(), b"1");
    /// assert_eq!(snapshot.get_in(&b, "k")?.unwrap(), b"1");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get_in(&self, keyspace: &Keyspace, key: impl AsRef<[u8]>) -> Result<Option<Value>> {
        self.check_ours(keyspace)?;
        self.inner
            .get_in(keyspace.state(), key.as_ref(), Some(self.seqno))
    }

    /// The keys and values of `keyspace` in `range` as of the snapshot.
    pub fn range_in(&self, keyspace: &Keyspace, range: impl KeyRange) -> Iter {
        if let Err(e) = self.check_ours(keyspace) {
            return Iter::failed(e);
        }
        let (lower, upper) = range.into_bounds();
        self.inner
            .iter_in(keyspace.state(), lower, upper, Some(self.seqno))
    }

    /// Every key and value of `keyspace` as of the snapshot.
    pub fn iter_in(&self, keyspace: &Keyspace) -> Iter {
        self.range_in(keyspace, ..)
    }

    fn check_ours(&self, keyspace: &Keyspace) -> Result<()> {
        if Arc::ptr_eq(&self.inner, keyspace.inner()) {
            return Ok(());
        }
        Err(crate::Error::InvalidKeyspaceName {
            name: keyspace.name().to_owned(),
            reason: "is a keyspace of another database".to_owned(),
        })
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        self.inner.snapshots.release(self.seqno);
    }
}
