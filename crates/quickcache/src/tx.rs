//! `Transaction`: reads at one snapshot plus the transaction's own writes, applied at
//! commit as one batch if nothing it read or wrote changed since (optimistic,
//! serializable).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use quickcache_sstable::KeyspaceId;

mod expiry;
pub(crate) mod history;
mod iter;
mod range_delete;
mod retry;
mod scan;

pub use iter::TxIter;
pub use retry::{CompareAndSwapError, UPDATE_ATTEMPTS};

use crate::error::Result;
use crate::inner::Inner;
use crate::{Keyspace, Snapshot, Value, WriteOptions};
use history::{KsKey, KsRange, Validation};

/// The writes of one keyspace: `None` deletes.
#[derive(Debug, Default)]
struct KsWrites {
    /// The handle to write through; `None` for the default keyspace.
    keyspace: Option<Keyspace>,
    entries: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// The time to live of the puts made with one ([`Transaction::put_with_ttl`]).
    ttls: BTreeMap<Vec<u8>, std::time::Duration>,
}

/// A serializable read-write transaction, begun by [`crate::Db::transaction`].
///
/// It reads at the snapshot taken when it began, overlaid with its own writes: `get`,
/// `range` and `prefix` (both directions) see what it put and deleted. Its writes are
/// buffered in memory and applied at [`Transaction::commit`] as one batch (one WAL
/// record, atomic across keyspaces).
///
/// Commit succeeds only if no key it read or wrote, and no key inside a range it
/// scanned or deleted ([`Transaction::delete_range`]), was written by anyone else (transaction or plain write) after it began;
/// otherwise it fails with [`crate::Error::is_conflict`], naming the key, and writes
/// nothing. That makes every committed transaction equivalent to running alone at its
/// commit point: serializable, phantoms included. [`crate::Db::update`] retries.
///
/// No lock is held while it is open: readers and writers go on. What it pins: its
/// snapshot (old versions a compaction must keep, as a [`Snapshot`] does) and the
/// keys written by others since it began, in the conflict history, up to
/// [`crate::Options::transaction_history_bytes`]; past that it is doomed to conflict.
///
/// Dropping it, or [`Transaction::rollback`], discards its writes. `commit` and
/// `rollback` take it by value, so it cannot be used afterwards.
///
/// # Examples
/// ```
/// let dir = tempfile::tempdir()?;
/// let db = quickcache::Db::open(dir.path())?;
/// db.put("alice", "10")?;
/// let mut tx = db.transaction();
/// let alice: u32 = String::from_utf8_lossy(&tx.get("alice")?.unwrap()).parse()?;
/// tx.put("alice", (alice - 3).to_string());
/// tx.put("bob", "3");
/// assert_eq!(tx.get("bob")?.unwrap(), b"3"); // its own write
/// assert_eq!(db.get("bob")?, None); // not applied yet
/// tx.commit()?;
/// assert_eq!(db.get("alice")?.unwrap(), b"7");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Transaction {
    inner: Arc<Inner>,
    snapshot: Snapshot,
    /// The start registered in the conflict history (at or below the snapshot).
    registered: u64,
    points: Vec<KsKey>,
    ranges: Vec<KsRange>,
    /// The ranges it deleted ([`Transaction::delete_range`]), in order; its writes in
    /// `writes` come after them (a range delete drops the earlier ones it covers).
    deleted: Vec<KsRange>,
    writes: BTreeMap<KeyspaceId, KsWrites>,
    /// The keyspaces read, for naming them in a conflict.
    names: BTreeMap<KeyspaceId, String>,
}

impl fmt::Debug for Transaction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transaction")
            .field("seqno", &self.snapshot.seqno())
            .field("reads", &self.points.len())
            .field("ranges", &self.ranges.len())
            .finish_non_exhaustive()
    }
}

impl Transaction {
    /// Registers in the conflict history, then takes the snapshot: a write numbered
    /// after registration is recorded, and one before it is at or below `horizon`,
    /// which the snapshot waits to cover.
    pub(crate) fn begin(inner: Arc<Inner>) -> Transaction {
        let (registered, horizon) = inner
            .writes
            .history
            .begin(|| inner.writes.visibility.visible().get());
        if let Some(horizon) = quickcache_sstable::SeqNo::new(horizon)
            && inner.writes.visibility.visible() < horizon
            && inner.writes.visibility.wait_visible(horizon).is_err()
        {
            // A stalled database: the snapshot stays below the horizon, so a commit
            // reports a conflict rather than miss a write.
        }
        let snapshot = Snapshot::new(Arc::clone(&inner));
        Transaction {
            inner,
            snapshot,
            registered,
            points: Vec::new(),
            ranges: Vec::new(),
            deleted: Vec::new(),
            writes: BTreeMap::new(),
            names: BTreeMap::new(),
        }
    }

    /// The sequence number the transaction reads at.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// db.put("k", "v")?;
    /// assert_eq!(db.transaction().seqno(), db.snapshot().seqno());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn seqno(&self) -> u64 {
        self.snapshot.seqno()
    }

    /// The value of `key`: the transaction's own write, else the snapshot's. The key
    /// joins the read set.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// let mut tx = db.transaction();
    /// db.put("k", "after")?; // not seen: the transaction reads its snapshot
    /// assert_eq!(tx.get("k")?, None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get(&mut self, key: impl AsRef<[u8]>) -> Result<Option<Value>> {
        let key = key.as_ref();
        if let Some(own) = self.own(KeyspaceId::DEFAULT, key) {
            return Ok(own);
        }
        self.points.push((KeyspaceId::DEFAULT, key.to_vec()));
        self.snapshot.get(key)
    }

    /// The value of `key` in `keyspace`; see [`Transaction::get`].
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// let users = db.keyspace("users")?;
    /// let mut tx = db.transaction();
    /// tx.put_in(&users, "ann", "admin");
    /// assert_eq!(tx.get_in(&users, "ann")?.unwrap(), b"admin");
    /// assert_eq!(tx.get("ann")?, None); // another keyspace
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get_in(&mut self, keyspace: &Keyspace, key: impl AsRef<[u8]>) -> Result<Option<Value>> {
        let key = key.as_ref();
        let id = keyspace.state().id;
        if let Some(own) = self.own(id, key) {
            return Ok(own);
        }
        self.name(keyspace);
        self.points.push((id, key.to_vec()));
        self.snapshot.get_in(keyspace, key)
    }

    /// Whether `key` has a value; see [`Transaction::get`].
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// let mut tx = db.transaction();
    /// tx.put("k", "");
    /// assert!(tx.contains_key("k")?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn contains_key(&mut self, key: impl AsRef<[u8]>) -> Result<bool> {
        Ok(self.get(key)?.is_some())
    }

    /// Sets `key` to `value` when the transaction commits.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// let mut tx = db.transaction();
    /// tx.put("a", "1").put("b", "2");
    /// tx.commit()?;
    /// assert_eq!(db.get("b")?.unwrap(), b"2");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn put(&mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> &mut Self {
        let (key, value) = (key.as_ref(), Some(value.as_ref().to_vec()));
        self.slot(None, key).insert(key.to_vec(), value);
        self
    }

    /// Deletes `key` when the transaction commits.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// db.put("k", "v")?;
    /// let mut tx = db.transaction();
    /// tx.delete("k");
    /// assert_eq!(tx.get("k")?, None);
    /// tx.commit()?;
    /// assert_eq!(db.get("k")?, None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn delete(&mut self, key: impl AsRef<[u8]>) -> &mut Self {
        let key = key.as_ref();
        self.slot(None, key).insert(key.to_vec(), None);
        self
    }

    /// Sets `key` to `value` in `keyspace` when the transaction commits, atomically
    /// with its other writes, whatever keyspaces they are in.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// let (orders, stock) = (db.keyspace("orders")?, db.keyspace("stock")?);
    /// stock.put("widget", "5")?;
    /// let mut tx = db.transaction();
    /// tx.put_in(&orders, "o-1", "widget").put_in(&stock, "widget", "4");
    /// tx.commit()?;
    /// assert_eq!(stock.get("widget")?.unwrap(), b"4");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn put_in(
        &mut self,
        keyspace: &Keyspace,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
    ) -> &mut Self {
        let (key, value) = (key.as_ref(), Some(value.as_ref().to_vec()));
        self.slot(Some(keyspace), key).insert(key.to_vec(), value);
        self
    }

    /// Deletes `key` in `keyspace` when the transaction commits.
    pub fn delete_in(&mut self, keyspace: &Keyspace, key: impl AsRef<[u8]>) -> &mut Self {
        let key = key.as_ref();
        self.slot(Some(keyspace), key).insert(key.to_vec(), None);
        self
    }

    /// Commits with the database's default durability; see
    /// [`Transaction::commit_with`].
    ///
    /// # Errors
    /// [`crate::Error::is_conflict`] if another writer got in first (nothing is
    /// written; retry); a batch over the WAL record limit of 64 MiB
    /// ([`crate::Error::WriteTooLarge`], which names the limit; nothing is written;
    /// bulk data belongs in [`crate::Db::ingest`]); the errors of [`crate::Db::write`].
    ///
    /// # Examples
    /// A committed (or rolled back) transaction is gone: using it does not compile.
    /// ```compile_fail
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// let mut tx = db.transaction();
    /// tx.commit()?;
    /// tx.put("k", "v"); // error[E0382]: borrow of moved value: `tx`
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn commit(self) -> Result<()> {
        self.commit_with(&WriteOptions::default())
    }

    /// Validates the transaction and applies its writes as one batch, durable as
    /// `options` ask (synced commits share group commit with other writers). A
    /// transaction that wrote nothing commits at once: its reads were one snapshot.
    ///
    /// # Examples
    /// ```
    /// use quickcache::WriteOptions;
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// let mut tx = db.transaction();
    /// tx.put("k", "v");
    /// tx.commit_with(&WriteOptions::synced())?; // survives a power loss
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn commit_with(self, options: &WriteOptions) -> Result<()> {
        crate::db::refuse_ttl(options, "a transaction")?;
        if self.writes.values().all(|w| w.entries.is_empty()) && self.deleted.is_empty() {
            return Ok(());
        }
        let mut checked = self.batch().into_checked(&self.inner)?;
        let validation = self.validation();
        let durability = self.inner.durability(options);
        let written = if checked.targets.is_empty() {
            (self.inner).write(&mut checked.batch, durability, Some(&validation))
        } else {
            let (targets, default) = (&checked.targets, checked.has_default);
            (self.inner).write_in(
                &mut checked.batch,
                durability,
                targets,
                default,
                Some(&validation),
            )
        };
        if let Some(seqno) = validation.lost_to.get() {
            self.await_visible(seqno);
        }
        written
    }

    /// Waits until the write a failed commit lost to is visible. It was numbered
    /// before this commit but may still be on its way through the WAL; a retry
    /// begun before it is published would read the old value and lose to the same
    /// write again, over and over while its writer waits for the WAL (a preempted
    /// group-commit leader: thousands of aborts). Every numbered write is published,
    /// even a failed one, so the wait ends; a stalled database ends it with an error,
    /// which the conflict being reported already covers.
    fn await_visible(&self, seqno: u64) {
        let visibility = &self.inner.writes.visibility;
        if let Some(seqno) = quickcache_sstable::SeqNo::new(seqno)
            && visibility.visible() < seqno
            && visibility.wait_visible(seqno).is_err()
        {
            // Stalled: the retry's commit will report it.
        }
    }

    /// Discards the transaction's writes (as dropping it does).
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// let mut tx = db.transaction();
    /// tx.put("k", "v");
    /// tx.rollback();
    /// assert_eq!(db.get("k")?, None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn rollback(self) {}

    /// What commit validates: everything read, scanned and written.
    fn validation(&self) -> Validation<'_> {
        let writes = self
            .writes
            .iter()
            .flat_map(|(id, w)| (w.entries.keys()).map(move |k| (*id, k.as_slice())));
        let written = self.writes.values().filter_map(|w| w.keyspace.as_ref());
        let named = written.map(|ks| (ks.state().id, ks.name()));
        let read = self.names.iter().map(|(id, n)| (*id, n.as_str()));
        Validation {
            start: self.snapshot.seqno(),
            points: &self.points,
            ranges: &self.ranges,
            deleted: &self.deleted,
            writes: writes.collect(),
            names: named.chain(read).collect(),
            lost_to: std::cell::Cell::new(None),
        }
    }

    /// The transaction's own write of `key`, if any: `Some(None)` for a delete,
    /// its own or a range delete's.
    fn own(&self, keyspace: KeyspaceId, key: &[u8]) -> Option<Option<Value>> {
        let writes = self.writes.get(&keyspace)?;
        if let Some(value) = writes.entries.get(key) {
            return Some(value.clone().map(Value::owned));
        }
        self.range_deleted(keyspace, key).then_some(None)
    }

    /// The write set of `keyspace` (`None`: the default), about to get a new write of
    /// `key`, which replaces any time to live an earlier put of it had.
    fn slot(
        &mut self,
        keyspace: Option<&Keyspace>,
        key: &[u8],
    ) -> &mut BTreeMap<Vec<u8>, Option<Vec<u8>>> {
        &mut self.writes_of(keyspace, key).entries
    }

    /// [`Transaction::slot`]'s whole record of `keyspace`'s writes.
    fn writes_of(&mut self, keyspace: Option<&Keyspace>, key: &[u8]) -> &mut KsWrites {
        let id = keyspace.map_or(KeyspaceId::DEFAULT, |k| k.state().id);
        let writes = self.writes.entry(id).or_default();
        if writes.keyspace.is_none() {
            writes.keyspace = keyspace.cloned();
        }
        writes.ttls.remove(key);
        writes
    }

    fn name(&mut self, keyspace: &Keyspace) {
        let id = keyspace.state().id;
        (self.names.entry(id)).or_insert_with(|| keyspace.name().to_owned());
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        self.inner.writes.history.end(self.registered);
    }
}
