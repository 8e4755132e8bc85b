//! Range deletes in a transaction: [`Transaction::delete_range`] and
//! [`Transaction::delete_range_in`].
//!
//! A range delete drops the transaction's earlier writes inside the range (they
//! would be deleted anyway) and is kept in `deleted`; reads skip the snapshot's keys
//! inside it, and writes made after it are visible over it. At commit the range
//! deletes go first in the batch, then the writes, so the order matches the calls.
//! Also here: [`Transaction::batch`], the batch the commit writes.

use quickcache_sstable::KeyspaceId;

use super::Transaction;
use super::history::{KsRange, empty};
use super::iter::covers;
use crate::{KeyRange, Keyspace, WriteBatch};

impl Transaction {
    /// Deletes every key in `range` when the transaction commits: one range
    /// tombstone in the commit's batch, as [`crate::WriteBatch::delete_range`] writes,
    /// whatever the number of keys it covers.
    ///
    /// Until the commit the transaction's own reads (`get`, `range`, `prefix`, both
    /// directions) see the keys of `range` as deleted, including those it wrote
    /// earlier; what it writes into the range afterwards is visible and survives the
    /// commit, as later entries of a batch do.
    ///
    /// **Conflicts.** A range delete is a write of every key in the range, present
    /// or not: the commit conflicts ([`crate::Error::is_conflict`]) if anyone else
    /// wrote a key inside the range (or deleted an overlapping range) after the
    /// transaction began, exactly as a [`Transaction::delete`] of each key would.
    /// Serializability alone would allow a blind delete to commit over such a write
    /// (ordered after it), but point writes here already conflict with concurrent
    /// writes of the same key, and a range delete follows the same rule, so a
    /// transaction never deletes a value it could not have seen. Writes into the
    /// range after the commit are not affected.
    ///
    /// The range must have an end (`a..b`, `a..=b`, `..b`, `..=b`), as for
    /// [`crate::Db::delete_range`]; an unbounded end makes the commit fail, writing
    /// nothing. An empty range does nothing.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// for item in ["apple", "pear", "plum"] {
    ///     db.put(format!("cart:{item}"), "1")?;
    /// }
    /// let mut tx = db.transaction();
    /// tx.delete_range("cart:".."cart;"); // ';' follows ':'
    /// assert_eq!(tx.get("cart:pear")?, None);
    /// tx.put("cart:kiwi", "2"); // after the range delete: kept
    /// assert_eq!(tx.prefix("cart:").count(), 1);
    /// tx.commit()?;
    /// assert_eq!(db.prefix("cart:").count(), 1);
    ///
    /// let mut tx = db.transaction();
    /// tx.delete_range("cart:".."cart;");
    /// db.put("cart:fig", "3")?; // written into the range after the transaction began
    /// assert!(tx.commit().unwrap_err().is_conflict());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn delete_range(&mut self, range: impl KeyRange) -> &mut Self {
        self.delete_range_of(None, range)
    }

    /// Deletes every key in `range` of `keyspace` when the transaction commits; see
    /// [`Transaction::delete_range`].
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// let log = db.keyspace("log")?;
    /// for i in 0..10 {
    ///     log.put(format!("{i:02}"), "entry")?;
    /// }
    /// let mut tx = db.transaction();
    /// tx.delete_range_in(&log, ..="04");
    /// assert_eq!(tx.iter_in(&log).count(), 5);
    /// tx.commit()?;
    /// assert_eq!(log.iter().next().unwrap()?.0, b"05");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn delete_range_in(&mut self, keyspace: &Keyspace, range: impl KeyRange) -> &mut Self {
        self.delete_range_of(Some(keyspace), range)
    }

    fn delete_range_of(&mut self, keyspace: Option<&Keyspace>, range: impl KeyRange) -> &mut Self {
        let (lower, upper) = range.into_bounds();
        if empty(&lower, &upper) {
            return self;
        }
        let id = keyspace.map_or(KeyspaceId::DEFAULT, |k| k.state().id);
        let writes = self.writes.entry(id).or_default();
        if writes.keyspace.is_none() {
            writes.keyspace = keyspace.cloned();
        }
        // Not empty, so `range` cannot panic.
        let covered: Vec<Vec<u8>> = (writes.entries)
            .range::<Vec<u8>, _>((lower.as_ref(), upper.as_ref()))
            .map(|(k, _)| k.clone())
            .collect();
        for key in &covered {
            writes.entries.remove(key);
            writes.ttls.remove(key);
        }
        self.deleted.push(KsRange {
            keyspace: id,
            lower,
            upper,
        });
        self
    }

    /// Whether a range the transaction deleted in `keyspace` holds `key`.
    pub(super) fn range_deleted(&self, keyspace: KeyspaceId, key: &[u8]) -> bool {
        (self.deleted.iter()).any(|d| d.keyspace == keyspace && covers(&d.lower, &d.upper, key))
    }

    /// The batch the commit writes: the range deletes, then the other writes.
    pub(super) fn batch(&self) -> WriteBatch {
        let mut batch = WriteBatch::new();
        for range in &self.deleted {
            let bounds = (range.lower.clone(), range.upper.clone());
            let named = self.writes.get(&range.keyspace);
            match named.and_then(|w| w.keyspace.as_ref()) {
                Some(keyspace) => batch.delete_range_in(keyspace, bounds),
                None => batch.delete_range(bounds),
            };
        }
        for writes in self.writes.values() {
            for (key, value) in &writes.entries {
                let ttl = writes.ttls.get(key).copied();
                match (&writes.keyspace, value, ttl) {
                    (None, Some(v), None) => batch.put(key, v),
                    (None, Some(v), Some(ttl)) => batch.put_with_ttl(key, v, ttl),
                    (None, None, _) => batch.delete(key),
                    (Some(ks), Some(v), None) => batch.put_in(ks, key, v),
                    (Some(ks), Some(v), Some(ttl)) => batch.put_in_with_ttl(ks, key, v, ttl),
                    (Some(ks), None, _) => batch.delete_in(ks, key),
                };
            }
        }
        batch
    }
}
