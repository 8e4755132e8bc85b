//! `Db`: the database handle users hold; the state it shares lives in `Inner`.

use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use quickcache_fs::FileLock;

mod close;
mod maintenance;
pub(crate) mod range_delete;
mod writes;

pub(crate) use writes::refuse_ttl;

use crate::KeyRange;
use crate::error::Result;
use crate::inner::Inner;
use crate::iter::prefix_bounds;
use crate::{Iter, Options, RecoveryReport, Snapshot, Stats, Value};

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
    /// The directory is locked by another opener
    /// ([`Error::is_locked`](crate::Error::is_locked)), is not a quickcache database
    /// ([`Error::is_not_a_database`](crate::Error::is_not_a_database)), was written by
    /// a newer version ([`Error::is_newer_format`](crate::Error::is_newer_format)), or
    /// recovery failed.
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

    /// The pairs whose keys lie in `range`, in key order (or reverse, with
    /// [`DoubleEndedIterator`]), as of this call.
    ///
    /// For every pair use [`Db::iter`]: a bare `..` has no key type to infer, so it
    /// would need `db.range(..)`.
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
    /// assert_eq!(db.iter().count(), db.range(..).count());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn range(&self, range: impl KeyRange) -> Iter {
        let (lower, upper) = range.into_bounds();
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
        self.range(..)
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
}
