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
use std::ops::{Bound, RangeBounds};
use std::path::PathBuf;
use std::sync::Arc;

mod source;

use quickcache_compaction::{LEVELS, MergingCursor, Version};
use quickcache_sstable::{Cursor, KeyRef, SeqNo, ValueKind};
use snafu::IntoError;

use crate::error::{Error, Result, TableSnafu};
use crate::memcursor::MemCursor;
use crate::state::{MemSource, SuperVersion};
use crate::{Key, Value};
use source::Source;

/// The sources an iterator reads, pinned for its whole life.
pub(crate) struct View {
    pub(crate) memtables: Arc<SuperVersion>,
    pub(crate) version: Arc<Version>,
    pub(crate) snapshot: SeqNo,
    pub(crate) dir: PathBuf,
}

impl View {
    fn error(&self, source: quickcache_sstable::Error) -> Error {
        TableSnafu {
            operation: "iterating",
            path: self.dir.clone(),
        }
        .into_error(source)
    }

    fn merge(&self) -> MergingCursor<Source> {
        let active = MemSource::Active(Arc::clone(&self.memtables.active));
        let frozen = (self.memtables.frozen.iter()).map(|f| MemSource::Frozen(f.mem.clone()));
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
}

/// The range and how far each end has got.
#[derive(Debug)]
struct Ends {
    lower: Bound<Vec<u8>>,
    upper: Bound<Vec<u8>>,
    /// The last user key the front decided (yielded or skipped as deleted).
    front_last: Option<Vec<u8>>,
    back_last: Option<Vec<u8>>,
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

/// Copies a range's bounds.
pub(crate) fn owned_bounds<K: AsRef<[u8]>, R: RangeBounds<K>>(
    range: &R,
) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let own = |b: Bound<&K>| match b {
        Bound::Included(k) => Bound::Included(k.as_ref().to_vec()),
        Bound::Excluded(k) => Bound::Excluded(k.as_ref().to_vec()),
        Bound::Unbounded => Bound::Unbounded,
    };
    (own(range.start_bound()), own(range.end_bound()))
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

fn above_upper(upper: &Bound<Vec<u8>>, key: &[u8]) -> bool {
    match upper {
        Bound::Included(u) => key > u.as_slice(),
        Bound::Excluded(u) => key >= u.as_slice(),
        Bound::Unbounded => false,
    }
}

fn below_lower(lower: &Bound<Vec<u8>>, key: &[u8]) -> bool {
    match lower {
        Bound::Included(l) => key < l.as_slice(),
        Bound::Excluded(l) => key <= l.as_slice(),
        Bound::Unbounded => false,
    }
}

/// The value the merge stands on, as the user gets it: a view into a table's mapping,
/// or a copy of a memtable's bytes.
fn current_value(cursor: &MergingCursor<Source>) -> Value {
    let child = cursor
        .current_child()
        .and_then(|i| cursor.children().get(i));
    match child.and_then(Source::value_ref) {
        Some(mapped) => Value::mapped(mapped),
        None => Value::owned(cursor.value().unwrap_or_default().to_vec()),
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
            },
            done: false,
        }
    }

    fn step_front(&mut self) -> Result<Option<(Key, Value)>> {
        let Some(view) = &self.view else {
            return Ok(None);
        };
        let cursor = match &mut self.front {
            Some(c) => c,
            slot => slot.insert(self.ends.open_front(view).map_err(|e| view.error(e))?),
        };
        (self.ends.scan_front(cursor, view.snapshot)).map_err(|e| view.error(e))
    }

    fn step_back(&mut self) -> Result<Option<(Key, Value)>> {
        let Some(view) = &self.view else {
            return Ok(None);
        };
        let cursor = match &mut self.back {
            Some(c) => c,
            slot => slot.insert(self.ends.open_back(view).map_err(|e| view.error(e))?),
        };
        (self.ends.scan_back(cursor, view.snapshot)).map_err(|e| view.error(e))
    }

    fn finish(&mut self, step: Result<Option<(Key, Value)>>) -> Option<Result<(Key, Value)>> {
        match step {
            Ok(Some(item)) => Some(Ok(item)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

impl Ends {
    fn open_front(&self, view: &View) -> quickcache_sstable::Result<MergingCursor<Source>> {
        let mut merge = view.merge();
        match &self.lower {
            Bound::Unbounded => merge.seek_to_first()?,
            Bound::Included(k) | Bound::Excluded(k) => merge.seek(KeyRef::lookup(k, SeqNo::MAX))?,
        }
        Ok(merge)
    }

    fn open_back(&self, view: &View) -> quickcache_sstable::Result<MergingCursor<Source>> {
        let mut merge = view.merge();
        match &self.upper {
            Bound::Unbounded => merge.seek_to_last()?,
            Bound::Included(k) => {
                merge.seek_for_prev(KeyRef::new(k, SeqNo::ZERO, ValueKind::Value))?;
            }
            Bound::Excluded(k) => merge.seek_for_prev(KeyRef::lookup(k, SeqNo::MAX))?,
        }
        Ok(merge)
    }

    fn scan_front(
        &mut self,
        cursor: &mut MergingCursor<Source>,
        snapshot: SeqNo,
    ) -> quickcache_sstable::Result<Option<(Key, Value)>> {
        loop {
            let Some(key) = cursor.key() else {
                return Ok(None);
            };
            let user = key.user_key;
            if above_upper(&self.upper, user)
                || self.back_last.as_deref().is_some_and(|b| user >= b)
            {
                return Ok(None);
            }
            let decided = self.front_last.as_deref() == Some(user);
            if key.seqno > snapshot || decided || below_lower(&self.lower, user) {
                cursor.next()?;
                continue;
            }
            let last = self.front_last.get_or_insert_with(Vec::new);
            last.clear();
            last.extend_from_slice(user);
            if key.kind == ValueKind::Tombstone {
                cursor.next()?;
                continue;
            }
            let item = (user.to_vec(), current_value(cursor));
            cursor.next()?;
            return Ok(Some(item));
        }
    }

    fn scan_back(
        &mut self,
        cursor: &mut MergingCursor<Source>,
        snapshot: SeqNo,
    ) -> quickcache_sstable::Result<Option<(Key, Value)>> {
        loop {
            let Some(key) = cursor.key() else {
                return Ok(None);
            };
            let user = key.user_key;
            if below_lower(&self.lower, user)
                || self.front_last.as_deref().is_some_and(|f| user <= f)
            {
                return Ok(None);
            }
            // The key being decided, in a buffer reused from key to key: the cursor
            // moves off it below.
            let last = self.back_last.get_or_insert_with(Vec::new);
            last.clear();
            last.extend_from_slice(user);
            // Backward, a user key's versions come oldest first: the last one at or
            // below the snapshot is the newest visible (older visible versions are
            // taken and replaced; a key rarely has more than one).
            let mut found: Option<Value> = None;
            while let Some(key) = cursor.key() {
                if key.user_key != last.as_slice() {
                    break;
                }
                if key.seqno <= snapshot {
                    found = (key.kind == ValueKind::Value).then(|| current_value(cursor));
                }
                cursor.prev()?;
            }
            if let Some(value) = found
                && !above_upper(&self.upper, last)
            {
                return Ok(Some((last.clone(), value)));
            }
        }
    }
}

impl Iterator for Iter {
    type Item = Result<(Key, Value)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let step = self.step_front();
        self.finish(step)
    }
}

impl DoubleEndedIterator for Iter {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let step = self.step_back();
        self.finish(step)
    }
}
