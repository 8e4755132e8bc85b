//! `Iter`: the user's view of a key range at one snapshot, in both directions.
//!
//! Below it, one [`MergingCursor`] over every source (active memtable, frozen
//! memtables newest first, then the tree's cursors newest first) yields every version
//! of every key in internal-key order: user key ascending, newest version first. This
//! layer de-duplicates, as LevelDB's `DBIter` does: for each user key it takes the
//! newest version at or below the snapshot, and skips the key if that is a tombstone.
//!
//! Forward and backward iteration use two independent merges; each remembers the last
//! user key it decided, and neither passes the other's, so `next` and `next_back`
//! meet in the middle without yielding a key twice.

use std::fmt;
use std::ops::Bound;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

mod ends;
mod ranges;
mod seek;
mod source;

use quickcache_compaction::{DynClock, LEVELS, MergingCursor, Version};
use quickcache_sstable::{Cursor, EXPIRY_LEN, KeyRef, SeqNo, Timestamp, ValueKind, split_expiring};
use snafu::IntoError;

use crate::error::{Error, Result, TableSnafu};
use crate::memcursor::MemCursor;
use crate::state::SuperVersion;
use crate::{Key, Value};
use ends::Ends;
use source::Source;

/// The sources an iterator reads, pinned for its whole life.
pub(crate) struct View {
    pub(crate) memtables: Arc<SuperVersion>,
    pub(crate) version: Arc<Version>,
    pub(crate) snapshot: SeqNo,
    /// The clock expiring entries are judged by.
    pub(crate) clock: DynClock,
    /// The time they are judged at: read from `clock` when the iterator meets its
    /// first expiring entry, then fixed for the rest of the iteration (so that an
    /// iterator over plain values never reads the clock).
    pub(crate) now: OnceLock<Timestamp>,
    pub(crate) dir: PathBuf,
}

impl View {
    /// The time expiring entries are judged at (see `now`).
    fn now(&self) -> Timestamp {
        *self.now.get_or_init(|| self.clock.now())
    }

    fn error(&self, source: quickcache_sstable::Error) -> Error {
        TableSnafu {
            operation: "iterating",
            path: self.dir.clone(),
        }
        .into_error(source)
    }

    fn merge(&self) -> MergingCursor<Source> {
        let active = self.memtables.active.shared_cursor();
        let frozen = (self.memtables.frozen.iter()).map(|f| f.mem.shared_cursor());
        let mems = std::iter::once(active).chain(frozen);
        // At most one tree cursor per L0 table and per deeper level: sized once.
        let most = 1 + self.memtables.frozen.len() + self.version.l0_count() + LEVELS - 1;
        let mut children = Vec::with_capacity(most);
        children.extend(mems.map(|m| Source::Mem(MemCursor::new(m))));
        children.extend(self.version.tree_cursors().map(Source::Tree));
        MergingCursor::new(children)
    }
}

/// An iterator over `(key, value)` pairs of a key range, in key order, as of the moment
/// it was created: writes made afterwards are not seen. Also iterates backward
/// ([`DoubleEndedIterator`]); both ends may be used on the same iterator.
///
/// It pins the memtables and tables it reads until dropped: keep long scans in
/// mind when the database is being rewritten by compaction.
///
/// An error (a damaged table, an I/O failure) is yielded once and ends the iteration.
///
/// # Examples
/// ```
/// let dir = tempfile::tempdir()?;
/// let db = quickcache::Db::open(dir.path())?;
/// for k in ["a", "b", "c", "d"] {
///     db.put(k, k.to_uppercase())?;
/// }
/// let keys: Vec<Vec<u8>> = db.range("b".."d").map(|kv| kv.map(|(k, _)| k)).collect::<Result<_, _>>()?;
/// assert_eq!(keys, [b"b".to_vec(), b"c".to_vec()]);
///
/// let (last_key, last_value) = db.iter().next_back().unwrap()?;
/// assert_eq!((last_key.as_slice(), &*last_value), (&b"d"[..], &b"D"[..]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Iter {
    view: Option<View>,
    front: Option<MergingCursor<Source>>,
    back: Option<MergingCursor<Source>>,
    /// Kept apart from the cursors so that a step borrows both at once, rather than
    /// moving a cursor out of its slot and back on every entry.
    ends: Ends,
    done: bool,
    /// An error to yield once instead of entries: an iterator over a keyspace that was
    /// dropped, made by [`Iter::failed`].
    error: Option<Box<Error>>,
}

impl fmt::Debug for Iter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter")
            .field("snapshot", &self.view.as_ref().map(|v| v.snapshot))
            .field("lower", &self.ends.lower)
            .field("upper", &self.ends.upper)
            .field("done", &self.done)
            .finish()
    }
}

/// The bounds of every key starting with `prefix`.
pub(crate) fn prefix_bounds(prefix: &[u8]) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return (Bound::Included(prefix.to_vec()), Bound::Excluded(end));
        }
    }
    (Bound::Included(prefix.to_vec()), Bound::Unbounded)
}

/// What a `next` method's debug assertion says when a step reported an entry but
/// the iterator holds none.
const FOUND_NOTHING: &str = "a step found an entry, but the iterator stands on none";

/// The value the merge stands on, as the user gets it: a view into a table's mapping,
/// or a copy of a memtable's bytes; from `offset` on (past an expiry, see
/// [`live_offset`]).
fn current_value(cursor: &MergingCursor<Source>, offset: usize) -> Value {
    let child = cursor
        .current_child()
        .and_then(|i| cursor.children().get(i));
    let mapped = child.and_then(Source::value_ref);
    match mapped.and_then(|v| {
        if offset == 0 {
            Some(v)
        } else {
            v.suffix(offset)
        }
    }) {
        Some(mapped) => Value::mapped(mapped),
        None => {
            // Called only while the merge stands on an entry, so it has a value.
            let value = cursor.value();
            debug_assert!(value.is_some(), "the merge's value asked while invalid");
            let value = value.unwrap_or_default();
            Value::owned(value.get(offset..).unwrap_or_default().to_vec())
        }
    }
}

/// Where the user's value starts in the stored value of an entry of `kind`, if the
/// entry reads as a value at `now()`: `None` for a tombstone and an expired value.
/// An expiring value too short to hold its expiry is corruption (batches and tables
/// are checked when written, so only damage gets one here).
///
/// `stored` gives the stored value; it is called only for an expiring entry, so that
/// plain entries cost a scan nothing more than their kind.
pub(crate) fn live_offset<'v>(
    key: KeyRef<'_>,
    stored: impl FnOnce() -> Option<&'v [u8]>,
    now: impl FnOnce() -> Timestamp,
) -> quickcache_sstable::Result<Option<usize>> {
    match key.kind {
        ValueKind::Value => Ok(Some(0)),
        ValueKind::Tombstone => Ok(None),
        ValueKind::ExpiringValue => match stored().and_then(split_expiring) {
            Some((expires_at, _)) => Ok((now() < expires_at).then_some(EXPIRY_LEN)),
            None => Err(quickcache_sstable::Error::Corruption {
                file: PathBuf::new(),
                offset: 0,
                reason: format!("{key:?}: an expiring value without its 8-byte expiry"),
            }),
        },
    }
}

impl Iter {
    pub(crate) fn new(view: View, lower: Bound<Vec<u8>>, upper: Bound<Vec<u8>>) -> Iter {
        Iter {
            view: Some(view),
            front: None,
            back: None,
            ends: Ends {
                lower,
                upper,
                front_last: None,
                back_last: None,
                front_pending: false,
                front_offset: 0,
                back_value: None,
                front_target: None,
                back_target: None,
                ranges: None,
                any_ranges: false,
            },
            done: false,
            error: None,
        }
    }

    /// An iterator that yields `error` once (from either end), then nothing.
    pub(crate) fn failed(error: Error) -> Iter {
        let mut iter = Iter::new_empty();
        // Boxed: every iterator carries the slot, and an `Error` is large.
        iter.error = Some(Box::new(error));
        iter
    }

    fn new_empty() -> Iter {
        Iter {
            view: None,
            front: None,
            back: None,
            ends: Ends {
                lower: Bound::Unbounded,
                upper: Bound::Unbounded,
                front_last: None,
                back_last: None,
                front_pending: false,
                front_offset: 0,
                back_value: None,
                front_target: None,
                back_target: None,
                ranges: None,
                any_ranges: false,
            },
            done: false,
            error: None,
        }
    }

    /// Moves the front to the next visible entry; `true` iff there is one, the merge
    /// standing on it (the `next` methods assert that `true` always comes with an
    /// entry: `None` there would end the iteration as if the range were exhausted).
    fn step_front(&mut self) -> Result<bool> {
        let Some(view) = &self.view else {
            return self.error.take().map_or(Ok(false), |e| Err(*e));
        };
        let cursor = match &mut self.front {
            Some(c) => c,
            // The tombstones are gathered as the first cursor opens, not asked after
            // at every step: a scan's steps then cost no call for them.
            slot => {
                self.ends.load_ranges(view)?;
                slot.insert(self.ends.open_front(view).map_err(|e| view.error(e))?)
            }
        };
        (self.ends.scan_front(cursor, view.snapshot, || view.now())).map_err(|e| view.error(e))
    }

    /// Moves the back to the previous visible entry; `true` iff there is one, then in
    /// `back_last` and `back_value`.
    fn step_back(&mut self) -> Result<bool> {
        let Some(view) = &self.view else {
            return self.error.take().map_or(Ok(false), |e| Err(*e));
        };
        let cursor = match &mut self.back {
            Some(c) => c,
            slot => {
                self.ends.load_ranges(view)?;
                slot.insert(self.ends.open_back(view).map_err(|e| view.error(e))?)
            }
        };
        (self.ends.scan_back(cursor, view.snapshot, || view.now())).map_err(|e| view.error(e))
    }

    /// The entry the front stands on, borrowed.
    fn front_entry(&self) -> Option<(&[u8], &[u8])> {
        let cursor = self.front.as_ref()?;
        let value = cursor.value()?.get(self.ends.front_offset..)?;
        Some((cursor.key()?.user_key, value))
    }

    /// The entry the back last yielded, borrowed.
    fn back_entry(&self) -> Option<(&[u8], &[u8])> {
        let key = self.ends.back_last.as_deref()?;
        Some((key, self.ends.back_value.as_deref()?))
    }

    /// The next entry, borrowed from the iterator rather than copied: no allocation
    /// per entry, and a table's value is read in place from its mapping. The
    /// borrow ends at the next call, which is what makes this cheaper than
    /// [`Iterator::next`]; the two may be mixed freely, as may [`Iter::next_back_ref`].
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// db.put("a", "1")?;
    /// db.put("b", "22")?;
    /// let (mut iter, mut bytes) = (db.iter(), 0);
    /// while let Some(entry) = iter.next_ref() {
    ///     let (key, value) = entry?;
    ///     bytes += key.len() + value.len();
    /// }
    /// assert_eq!(bytes, 5);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn next_ref(&mut self) -> Option<Result<(&[u8], &[u8])>> {
        if self.done {
            return None;
        }
        match self.step_front() {
            Ok(true) => {
                let entry = self.front_entry();
                debug_assert!(entry.is_some(), "{FOUND_NOTHING}");
                entry.map(Ok)
            }
            step => self.finish_ref(step),
        }
    }

    /// The previous entry from the back, borrowed: [`Iter::next_ref`] for
    /// [`DoubleEndedIterator::next_back`].
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// db.put("a", "1")?;
    /// db.put("b", "2")?;
    /// let mut iter = db.iter();
    /// assert_eq!(iter.next_back_ref().unwrap()?, (&b"b"[..], &b"2"[..]));
    /// assert_eq!(iter.next_ref().unwrap()?, (&b"a"[..], &b"1"[..]));
    /// assert!(iter.next_back_ref().is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn next_back_ref(&mut self) -> Option<Result<(&[u8], &[u8])>> {
        if self.done {
            return None;
        }
        match self.step_back() {
            Ok(true) => {
                let entry = self.back_entry();
                debug_assert!(entry.is_some(), "{FOUND_NOTHING}");
                entry.map(Ok)
            }
            step => self.finish_ref(step),
        }
    }

    /// Ends the iteration on a step that found nothing or failed.
    fn finish_ref<T>(&mut self, step: Result<bool>) -> Option<Result<T>> {
        self.done = true;
        step.err().map(Err)
    }
}

impl Iterator for Iter {
    type Item = Result<(Key, Value)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.step_front() {
            Ok(true) => {
                // The key is the one the step just decided and copied to
                // `front_last`: cloned from there, without asking the merge again.
                let key = self.ends.front_last.clone();
                let offset = self.ends.front_offset;
                let value = self.front.as_ref().map(|c| current_value(c, offset));
                let entry = key.zip(value);
                debug_assert!(entry.is_some(), "{FOUND_NOTHING}");
                entry.map(Ok)
            }
            step => self.finish_ref(step),
        }
    }
}

impl DoubleEndedIterator for Iter {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.step_back() {
            // The owned value moves out: the next step replaces it anyway.
            Ok(true) => {
                let key = self.ends.back_last.clone();
                let entry = key.zip(self.ends.back_value.take());
                debug_assert!(entry.is_some(), "{FOUND_NOTHING}");
                entry.map(Ok)
            }
            step => self.finish_ref(step),
        }
    }
}
