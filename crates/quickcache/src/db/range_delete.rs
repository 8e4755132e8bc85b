//! Range deletes: [`Db::delete_range`] and [`Keyspace::delete_range`], each one write
//! of one range tombstone, whatever the number of keys the range covers.

use std::ops::Bound;

use super::Db;
use crate::error::Result;
use crate::{KeyRange, Keyspace, WriteOptions};

/// A range's bound, borrowed (also for [`crate::WriteBatch::delete_range`]).
pub(crate) fn borrowed(bound: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match bound {
        Bound::Included(k) => Bound::Included(k),
        Bound::Excluded(k) => Bound::Excluded(k),
        Bound::Unbounded => Bound::Unbounded,
    }
}

impl Db {
    /// Deletes every key in `range`, in one write: a range tombstone, whose cost does
    /// not depend on how many keys the range covers. Gets, iterators and snapshots
    /// taken after it no longer see those keys; writes made after it are not
    /// affected; compaction later removes the deleted entries and, once nothing older
    /// can lie below, the tombstone itself (`docs/design.md`, "Range deletes").
    ///
    /// Takes the ranges [`Db::range`] takes, but the range must have an end (`a..b`,
    /// `a..=b`, `..b`, `..=b`): a range tombstone ends at a key, and no key sorts
    /// after every other. An empty range writes nothing.
    ///
    /// Durable as [`Options::durability`](crate::Options::durability) says; see
    /// [`Db::delete_range_with`].
    ///
    /// # Errors
    /// An unbounded end (`a..` or `..`), with nothing written; the errors of
    /// [`Db::write`].
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// for i in 0..100 {
    ///     db.put(format!("user:{i:03}"), "x")?;
    /// }
    /// let before = db.snapshot();
    /// db.delete_range("user:010".."user:090")?; // 80 keys, one write
    /// assert_eq!(db.iter().count(), 20);
    /// assert!(db.get("user:050")?.is_none());
    /// assert!(db.get("user:090")?.is_some()); // the end is excluded
    /// assert_eq!(before.iter().count(), 100); // older snapshots still see them
    /// db.put("user:050", "back")?; // a newer write is not deleted
    /// assert_eq!(db.get("user:050")?.unwrap(), b"back");
    /// assert!(db.delete_range("user:".."user:000").is_ok());
    /// assert!(db.delete_range("user:"..).is_err()); // no end
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn delete_range(&self, range: impl KeyRange) -> Result<()> {
        self.delete_range_with(range, &WriteOptions::default())
    }

    /// [`Db::delete_range`], durable as `options` ask.
    pub fn delete_range_with(&self, range: impl KeyRange, options: &WriteOptions) -> Result<()> {
        let (lower, upper) = range.into_bounds();
        let (lower, upper) = (borrowed(&lower), borrowed(&upper));
        self.write_one(
            |batch| batch.delete_range_bounds_in(Default::default(), lower, upper),
            options,
        )
    }
}

impl Keyspace {
    /// Deletes every key in `range` of this keyspace, in one write: see
    /// [`Db::delete_range`].
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// let log = db.keyspace("log")?;
    /// for i in 0..10 {
    ///     log.put(format!("{i:02}"), "entry")?;
    /// }
    /// log.delete_range(..="04")?; // truncate the head of the log
    /// let first = log.iter().next().unwrap()?;
    /// assert_eq!(first.0, b"05");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn delete_range(&self, range: impl KeyRange) -> Result<()> {
        self.delete_range_with(range, &WriteOptions::default())
    }

    /// [`Keyspace::delete_range`], durable as `options` ask.
    pub fn delete_range_with(&self, range: impl KeyRange, options: &WriteOptions) -> Result<()> {
        let (lower, upper) = range.into_bounds();
        let (lower, upper) = (borrowed(&lower), borrowed(&upper));
        let id = self.state().id;
        self.write_one(|b| b.delete_range_bounds_in(id, lower, upper), options)
    }
}
