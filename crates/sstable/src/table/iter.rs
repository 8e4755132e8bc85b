//! Std iterators over a table: [`Iter`] yields every entry, [`PlainIter`] the plain
//! key → value view (newest version of each key, tombstoned keys left out). Both run
//! from either end; they stop for good after yielding an error.

use crate::{Cursor, InternalKey, Result, Table, TableCursor, ValueKind, ValueRef};

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
}

impl Iter {
    pub(crate) fn new(table: &Table) -> Self {
        Iter {
            front: table.cursor(),
            back: table.cursor(),
            front_started: false,
            back_started: false,
            front_at: None,
            back_at: None,
            done: false,
        }
    }

    /// The current entry of `c` if it has not been yielded by the other end.
    fn take(&mut self, front: bool) -> Option<Result<(InternalKey, ValueRef)>> {
        let c = if front { &self.front } else { &self.back };
        let (Some(pos), Some(key), Some(value)) = (c.position(), c.key(), c.value_ref()) else {
            self.done = true;
            return None;
        };
        let crossed = if front {
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
            (true, false) => c.seek_to_first(),
            (false, false) => c.seek_to_last(),
            (true, true) => c.next(),
            (false, true) => c.prev(),
        };
        *started = true;
        if let Err(e) = moved {
            self.done = true;
            return Some(Err(e));
        }
        self.take(front)
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
        PlainIter {
            inner: Iter::new(table),
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
