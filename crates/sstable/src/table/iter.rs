//! Std iterators over a table: [`Iter`] yields every entry, [`PlainIter`] the plain
//! key → value view (newest version of each key, tombstoned keys left out), each
//! over the whole table or a range of user keys. Both run from either end; they stop
//! for good after yielding an error.

use std::ops::{Bound, RangeBounds};

use crate::{Cursor, InternalKey, KeyRef, Result, SeqNo, Table, TableCursor, ValueKind, ValueRef};

/// A range of user keys, owned.
#[derive(Debug, Clone)]
struct UserRange {
    lower: Bound<Vec<u8>>,
    upper: Bound<Vec<u8>>,
}

impl UserRange {
    const ALL: UserRange = UserRange {
        lower: Bound::Unbounded,
        upper: Bound::Unbounded,
    };

    fn of<K: AsRef<[u8]>>(range: &impl RangeBounds<K>) -> UserRange {
        let own = |b: Bound<&K>| match b {
            Bound::Included(k) => Bound::Included(k.as_ref().to_vec()),
            Bound::Excluded(k) => Bound::Excluded(k.as_ref().to_vec()),
            Bound::Unbounded => Bound::Unbounded,
        };
        UserRange {
            lower: own(range.start_bound()),
            upper: own(range.end_bound()),
        }
    }

    fn below(&self, key: &[u8]) -> bool {
        match &self.lower {
            Bound::Included(l) => key < l.as_slice(),
            Bound::Excluded(l) => key <= l.as_slice(),
            Bound::Unbounded => false,
        }
    }

    fn above(&self, key: &[u8]) -> bool {
        match &self.upper {
            Bound::Included(u) => key > u.as_slice(),
            Bound::Excluded(u) => key >= u.as_slice(),
            Bound::Unbounded => false,
        }
    }

    /// Puts `c` on the first entry at or after the range's start (perhaps below it,
    /// for an excluded bound: the caller skips those).
    fn seek_front(&self, c: &mut TableCursor) -> Result<()> {
        match &self.lower {
            Bound::Unbounded => c.seek_to_first(),
            Bound::Included(k) | Bound::Excluded(k) => c.seek(KeyRef::lookup(k, SeqNo::MAX)),
        }
    }

    /// Puts `c` on the last entry at or before the range's end (perhaps above it, for
    /// an excluded bound: the caller skips those).
    fn seek_back(&self, c: &mut TableCursor) -> Result<()> {
        match &self.upper {
            Bound::Unbounded => c.seek_to_last(),
            // The oldest possible version of `k`: every version of it is before.
            Bound::Included(k) | Bound::Excluded(k) => {
                c.seek_for_prev(KeyRef::new(k, SeqNo::ZERO, ValueKind::Value))
            }
        }
    }
}

/// Every entry of a table in internal-key order, from either end.
#[derive(Debug)]
pub struct Iter {
    front: TableCursor,
    back: TableCursor,
    front_started: bool,
    back_started: bool,
    /// Position of the last entry yielded from each end (see `TableCursor::position`).
    front_at: Option<(usize, usize)>,
    back_at: Option<(usize, usize)>,
    done: bool,
    range: UserRange,
}

impl Iter {
    pub(crate) fn new(table: &Table) -> Self {
        Iter::bounded(table, UserRange::ALL)
    }

    fn bounded(table: &Table, range: UserRange) -> Self {
        Iter {
            front: table.cursor(),
            back: table.cursor(),
            front_started: false,
            back_started: false,
            front_at: None,
            back_at: None,
            done: false,
            range,
        }
    }

    /// The current entry of `c` if it has not been yielded by the other end.
    fn take(&mut self, front: bool) -> Option<Result<(InternalKey, ValueRef)>> {
        let c = if front { &self.front } else { &self.back };
        let (Some(pos), Some(key), Some(value)) = (c.position(), c.key(), c.value_ref()) else {
            self.done = true;
            return None;
        };
        let user = key.user_key;
        let outside = if front {
            self.range.above(user)
        } else {
            self.range.below(user)
        };
        let crossed = outside
            || if front {
                self.back_at.is_some_and(|b| pos >= b)
            } else {
                self.front_at.is_some_and(|f| pos <= f)
            };
        if crossed {
            self.done = true;
            return None;
        }
        let item = (key.to_owned(), value);
        *(if front {
            &mut self.front_at
        } else {
            &mut self.back_at
        }) = Some(pos);
        Some(Ok(item))
    }

    fn step(&mut self, front: bool) -> Option<Result<(InternalKey, ValueRef)>> {
        if self.done {
            return None;
        }
        let (c, started) = if front {
            (&mut self.front, &mut self.front_started)
        } else {
            (&mut self.back, &mut self.back_started)
        };
        let moved = match (front, *started) {
            (true, false) => self.range.seek_front(c),
            (false, false) => self.range.seek_back(c),
            (true, true) => c.next(),
            (false, true) => c.prev(),
        };
        *started = true;
        if let Err(e) = moved {
            self.done = true;
            return Some(Err(e));
        }
        // An excluded bound's own key is skipped, in every version.
        loop {
            let c = if front {
                &mut self.front
            } else {
                &mut self.back
            };
            let Some(key) = c.key() else { break };
            let skip = if front {
                self.range.below(key.user_key)
            } else {
                self.range.above(key.user_key)
            };
            if !skip {
                break;
            }
            let moved = if front { c.next() } else { c.prev() };
            if let Err(e) = moved {
                self.done = true;
                return Some(Err(e));
            }
        }
        self.take(front)
    }
}

impl Table {
    /// The entries whose user keys are in `range`, in internal-key order (every
    /// version, tombstones included), from either end.
    pub fn range<K: AsRef<[u8]>>(&self, range: impl RangeBounds<K>) -> Iter {
        Iter::bounded(self, UserRange::of(&range))
    }

    /// The plain key → value view of the keys in `range`: for each user key its newest
    /// entry unless that is a tombstone; double-ended.
    ///
    /// # Examples
    /// ```
    /// use quickcache_sstable::{Table, TableBuilder, TableOptions};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("t.sst");
    /// let mut builder = TableBuilder::create(&path, TableOptions::default())?;
    /// for k in ["a", "b", "c", "d"] {
    ///     builder.add_plain(k.as_bytes(), b"v")?;
    /// }
    /// builder.finish()?;
    /// let table = Table::open_file(&path)?;
    /// fn keys(it: impl Iterator<Item = quickcache_sstable::Result<(Vec<u8>, quickcache_sstable::ValueRef)>>) -> Vec<Vec<u8>> {
    ///     it.map(|kv| kv.map(|(k, _)| k)).collect::<Result<_, _>>().unwrap()
    /// }
    /// assert_eq!(keys(table.range_plain("b".."d")), [b"b".to_vec(), b"c".to_vec()]);
    /// assert_eq!(keys(table.range_plain("b"..="d").rev()), [b"d".to_vec(), b"c".to_vec(), b"b".to_vec()]);
    /// assert_eq!(keys(table.range_plain("z"..)).len(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn range_plain<K: AsRef<[u8]>>(&self, range: impl RangeBounds<K>) -> PlainIter {
        PlainIter::over(self.range(range))
    }
}

impl Iterator for Iter {
    type Item = Result<(InternalKey, ValueRef)>;

    fn next(&mut self) -> Option<Self::Item> {
        self.step(true)
    }
}

impl DoubleEndedIterator for Iter {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.step(false)
    }
}

/// The plain view of a table: for each user key its newest entry, unless that is a
/// tombstone; sequence numbers hidden. From either end.
#[derive(Debug)]
pub struct PlainIter {
    inner: Iter,
    /// User key of the last entry taken from the front (yielded or skipped).
    front_key: Option<Vec<u8>>,
    /// The newest entry so far of the group of equal user keys being read from the
    /// back; it is complete once an entry with another user key precedes it.
    back_group: Option<(InternalKey, ValueRef)>,
}

impl PlainIter {
    pub(crate) fn new(table: &Table) -> Self {
        PlainIter::over(Iter::new(table))
    }

    fn over(inner: Iter) -> Self {
        PlainIter {
            inner,
            front_key: None,
            back_group: None,
        }
    }

    /// Yields the group's newest entry unless the front already took that user key
    /// (the front sees a group's newest entry first) or it is a tombstone.
    fn finish_group(&self, group: (InternalKey, ValueRef)) -> Option<(Vec<u8>, ValueRef)> {
        let (key, value) = group;
        let taken = self.front_key.as_deref() == Some(key.user_key.as_slice());
        (!taken && key.kind == ValueKind::Value).then_some((key.user_key, value))
    }
}

impl Iterator for PlainIter {
    type Item = Result<(Vec<u8>, ValueRef)>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let Some(item) = self.inner.next() else {
                // The rest, if anything, is the group the back end was reading.
                let group = self.back_group.take()?;
                return self.finish_group(group).map(Ok);
            };
            let (key, value) = match item {
                Ok(kv) => kv,
                Err(e) => return Some(Err(e)),
            };
            if self.front_key.as_deref() == Some(key.user_key.as_slice()) {
                continue; // An older version of a key already handled.
            }
            self.front_key = Some(key.user_key);
            if key.kind == ValueKind::Value {
                return self.front_key.clone().map(|k| Ok((k, value)));
            }
        }
    }
}

impl DoubleEndedIterator for PlainIter {
    fn next_back(&mut self) -> Option<Self::Item> {
        loop {
            let Some(item) = self.inner.next_back() else {
                let group = self.back_group.take()?;
                return self.finish_group(group).map(Ok);
            };
            let (key, value) = match item {
                Ok(kv) => kv,
                Err(e) => return Some(Err(e)),
            };
            let same = self
                .back_group
                .as_ref()
                .is_some_and(|(k, _)| k.user_key == key.user_key);
            let finished = if same { None } else { self.back_group.take() };
            self.back_group = Some((key, value)); // Newer than what it replaces.
            if let Some(out) = finished.and_then(|g| self.finish_group(g)) {
                return Some(Ok(out));
            }
        }
    }
}
