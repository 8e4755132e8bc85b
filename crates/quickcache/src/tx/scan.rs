//! A transaction's scans: `range`, `prefix` and `iter`, in the default keyspace or a
//! named one. Each records its whole range in the read set, so a key written into
//! it by someone else before the commit (a phantom) is a conflict.

use std::collections::VecDeque;
use std::ops::Bound;

use quickcache_sstable::KeyspaceId;

use super::history::{KsRange, empty};
use super::iter::OwnWrite;
use super::{Transaction, TxIter};
use crate::iter::prefix_bounds;
use crate::{Iter, KeyRange, Keyspace};

impl Transaction {
    /// The pairs in `range`, in key order (or reverse), as the transaction sees them:
    /// its snapshot with its own writes applied. The whole range joins the read set
    /// when the call is made, however much of it is then read: a key written into it
    /// by anyone else before the commit makes the commit conflict.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// db.put("job:1", "done")?;
    /// let mut tx = db.transaction();
    /// let jobs = tx.range("job:".."job;").count();
    /// tx.put("jobs", jobs.to_string());
    /// db.put("job:2", "new")?; // a phantom: it would change the count
    /// assert!(tx.commit().unwrap_err().is_conflict());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn range(&mut self, range: impl KeyRange) -> TxIter {
        let (lower, upper) = range.into_bounds();
        let base = self.snapshot.range((lower.clone(), upper.clone()));
        self.scan(KeyspaceId::DEFAULT, lower, upper, base)
    }

    /// The pairs whose key starts with `prefix`; see [`Transaction::range`].
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// db.put("user:1", "ann")?;
    /// let mut tx = db.transaction();
    /// tx.put("user:2", "bob");
    /// assert_eq!(tx.prefix("user:").count(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn prefix(&mut self, prefix: impl AsRef<[u8]>) -> TxIter {
        let (lower, upper) = prefix_bounds(prefix.as_ref());
        let base = self.snapshot.range((lower.clone(), upper.clone()));
        self.scan(KeyspaceId::DEFAULT, lower, upper, base)
    }

    /// Every pair of the default keyspace; see [`Transaction::range`].
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// let mut tx = db.transaction();
    /// tx.put("k", "v");
    /// assert_eq!(tx.iter().count(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn iter(&mut self) -> TxIter {
        self.range(..)
    }

    /// The pairs of `keyspace` in `range`; see [`Transaction::range`].
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// let queue = db.keyspace("queue")?;
    /// queue.put("001", "a")?;
    /// let mut tx = db.transaction();
    /// tx.put_in(&queue, "002", "b");
    /// let last = tx.range_in(&queue, "000".."999").next_back().unwrap()?;
    /// assert_eq!(last.0, b"002");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn range_in(&mut self, keyspace: &Keyspace, range: impl KeyRange) -> TxIter {
        let (lower, upper) = range.into_bounds();
        let base = self
            .snapshot
            .range_in(keyspace, (lower.clone(), upper.clone()));
        self.name(keyspace);
        self.scan(keyspace.state().id, lower, upper, base)
    }

    /// The pairs of `keyspace` whose key starts with `prefix`.
    pub fn prefix_in(&mut self, keyspace: &Keyspace, prefix: impl AsRef<[u8]>) -> TxIter {
        let (lower, upper) = prefix_bounds(prefix.as_ref());
        self.range_in(keyspace, (lower, upper))
    }

    /// Every pair of `keyspace`.
    pub fn iter_in(&mut self, keyspace: &Keyspace) -> TxIter {
        self.range_in(keyspace, ..)
    }

    /// Records the range read and merges `base` with the own writes inside it.
    fn scan(
        &mut self,
        keyspace: KeyspaceId,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        base: Iter,
    ) -> TxIter {
        let own: VecDeque<OwnWrite> = match self.writes.get(&keyspace) {
            Some(w) if !empty(&lower, &upper) => (w.entries)
                .range::<Vec<u8>, _>((lower.as_ref(), upper.as_ref()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            _ => VecDeque::new(),
        };
        let deleted = (self.deleted.iter())
            .filter(|d| d.keyspace == keyspace)
            .map(|d| (d.lower.clone(), d.upper.clone()))
            .collect();
        self.ranges.push(KsRange {
            keyspace,
            lower,
            upper,
        });
        TxIter::new(base, own, deleted)
    }
}
