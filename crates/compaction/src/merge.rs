//! The merging cursor: one sorted view over any number of sorted cursors.
//!
//! # Tie-break rule
//!
//! Children are numbered by their position in the `Vec` given to
//! [`MergingCursor::new`]. When two children stand at equal internal keys, the child
//! with the **lower index comes first** in forward order (and therefore last in reverse
//! order). Put the newest source first (memtable, then L0 newest first, then L1, ...)
//! so that, should two sources ever hold the very same internal key, the newer one is
//! seen first.
//!
//! The merge does **no de-duplication**: every entry of every child appears exactly
//! once. Deciding which versions of a user key survive is the job of the layer above
//! (the compaction's [`crate::Retention`], the facade's read path).
//!
//! # Direction
//!
//! Moving forward, the children other than the current one all stand at their first
//! entry after the current entry, kept in a min-heap; moving backward, they stand at
//! their last entry before it, kept in a max-heap. Changing direction repositions every
//! other child around the current key (as LevelDB's `MergingIterator` does), which
//! costs one seek per child; keep scans in one direction when it matters.

mod heap;
mod sortkey;

use std::cmp::Ordering;

use quickcache_sstable::{Cursor, KeyRef, Result};

use heap::IndexHeap;
use sortkey::SortKey;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Forward,
    Backward,
}

/// A cursor over the union of its children's entries, in internal-key order.
///
/// Valid iff some child is valid in the current direction; [`MergingCursor::key`] is
/// then the smallest (forward) or largest (backward) key among the children, ties
/// broken by child index as the module doc states. After a child's error the merging
/// cursor is invalid until it is positioned again.
#[derive(Debug)]
pub struct MergingCursor<C> {
    children: Vec<C>,
    /// Per child, the compared parts of its current key; fresh for every child in
    /// the heap (set whenever a child moves and stays valid).
    sort_keys: Vec<SortKey>,
    heap: IndexHeap,
    direction: Direction,
}

impl<C: Cursor> MergingCursor<C> {
    /// A merge of `children`; lower indices win ties. Starts invalid.
    pub fn new(children: Vec<C>) -> Self {
        MergingCursor {
            sort_keys: vec![SortKey::default(); children.len()],
            children,
            heap: IndexHeap::default(),
            direction: Direction::Forward,
        }
    }

    /// The children, in tie-break order.
    pub fn children(&self) -> &[C] {
        &self.children
    }

    /// Gives the children back.
    pub fn into_children(self) -> Vec<C> {
        self.children
    }

    /// The index of the child the cursor stands on; `Some` iff valid.
    pub fn current_child(&self) -> Option<usize> {
        self.heap.top()
    }

    /// Rebuilds the heap from every valid child, for the current direction.
    fn rebuild(&mut self) {
        self.heap.clear();
        self.heap.reserve(self.children.len());
        for i in 0..self.children.len() {
            let Some(key) = self.children[i].key() else {
                continue;
            };
            self.sort_keys[i] = SortKey::of(key);
            let (children, keys) = (&self.children, &self.sort_keys);
            let direction = self.direction;
            self.heap
                .push(i, |a, b| before(children, keys, direction, a, b));
        }
    }

    /// Runs `op` on every child, then rebuilds the heap; on error the cursor is invalid.
    fn position_all(
        &mut self,
        direction: Direction,
        mut op: impl FnMut(&mut C) -> Result<()>,
    ) -> Result<()> {
        self.direction = direction;
        self.heap.clear();
        for child in &mut self.children {
            op(child)?;
        }
        self.rebuild();
        Ok(())
    }

    /// Moves the current child one step in `direction` and restores the heap.
    fn step_current(&mut self, current: usize) -> Result<()> {
        let direction = self.direction;
        let moved = match direction {
            Direction::Forward => self.children[current].next(),
            Direction::Backward => self.children[current].prev(),
        };
        if let Err(e) = moved {
            self.heap.clear();
            return Err(e);
        }
        // One walk down the child's cursors for its key, which also says whether it
        // is still valid. A lone child is compared with nothing (until the next
        // rebuild, which refreshes every sort key).
        let valid = match self.children[current].key() {
            Some(key) if self.heap.len() > 1 => {
                self.sort_keys[current] = SortKey::of(key);
                true
            }
            found => found.is_some(),
        };
        // Heap-skipping: while one child runs ahead of all the others (one populated
        // level, or a run of keys in one table), each step compares its key with the
        // remembered runner-up's only, inline, and leaves the heap untouched.
        if valid
            && let Some(runner) = self.heap.known_runner_up()
            && self.runs_ahead(current, runner)
        {
            return Ok(());
        }
        let (children, keys) = (&self.children, &self.sort_keys);
        let cmp = |a, b| before(children, keys, direction, a, b);
        if valid {
            self.heap.top_changed(cmp);
        } else {
            self.heap.pop(cmp);
        }
        Ok(())
    }

    /// Whether child `current` still comes out before child `runner`: [`before`],
    /// with the common case (the sort keys decide) compared inline.
    #[inline(always)]
    fn runs_ahead(&self, current: usize, runner: usize) -> bool {
        let (a, b) = (&self.sort_keys[current], &self.sort_keys[runner]);
        let Some(ord) = a.cmp_quick(b) else {
            return before(
                &self.children,
                &self.sort_keys,
                self.direction,
                current,
                runner,
            );
        };
        let ord = ord.then(current.cmp(&runner));
        match self.direction {
            Direction::Forward => ord == Ordering::Less,
            Direction::Backward => ord == Ordering::Greater,
        }
    }

    /// Repositions every child except `current` on the far side of the current entry
    /// for a walk in `direction`, then rebuilds the heap.
    fn switch_direction(&mut self, current: usize, direction: Direction) -> Result<()> {
        let Some(key) = self.children[current].key().map(|k| k.to_owned()) else {
            self.heap.clear();
            return Ok(());
        };
        let key = key.as_ref();
        self.heap.clear();
        for (i, child) in self.children.iter_mut().enumerate() {
            if i == current {
                continue;
            }
            // Equal keys: children below `current` come before it in forward order.
            match direction {
                Direction::Forward => position_after(child, key, i < current)?,
                Direction::Backward => position_before(child, key, i < current)?,
            }
        }
        self.direction = direction;
        self.rebuild();
        Ok(())
    }
}

/// Whether child `a` comes out of the heap before child `b` in `direction`: the
/// forward order is that of `(key, child index)`. Both must be valid with fresh sort
/// keys, as every child in the heap is. Inlined: the merge calls it at every step.
#[inline]
fn before<C: Cursor>(
    children: &[C],
    keys: &[SortKey],
    direction: Direction,
    a: usize,
    b: usize,
) -> bool {
    let full = || {
        let user = |i: usize| {
            let key = children[i].key();
            // Children in the heap are valid: an empty key would misorder the merge.
            debug_assert!(key.is_some(), "merge child {i} compared while invalid");
            key.map(|k| k.user_key).unwrap_or_default()
        };
        (user(a), user(b))
    };
    let ord = keys[a].cmp_with(&keys[b], full).then(a.cmp(&b));
    match direction {
        Direction::Forward => ord == Ordering::Less,
        Direction::Backward => ord == Ordering::Greater,
    }
}

/// Positions `child` at its first entry after `key`; an entry equal to `key` counts
/// as after it unless `equal_is_before`.
fn position_after<C: Cursor>(child: &mut C, key: KeyRef<'_>, equal_is_before: bool) -> Result<()> {
    child.seek(key)?;
    if equal_is_before && child.key() == Some(key) {
        child.next()?;
    }
    Ok(())
}

/// Positions `child` at its last entry before `key`; an entry equal to `key` counts
/// as before it iff `equal_is_before`.
fn position_before<C: Cursor>(child: &mut C, key: KeyRef<'_>, equal_is_before: bool) -> Result<()> {
    if equal_is_before {
        return child.seek_for_prev(key);
    }
    child.seek(key)?;
    if child.valid() {
        child.prev()
    } else {
        child.seek_to_last()
    }
}

impl<C: Cursor> Cursor for MergingCursor<C> {
    fn seek(&mut self, target: KeyRef<'_>) -> Result<()> {
        self.position_all(Direction::Forward, |c| c.seek(target))
    }

    fn seek_to_first(&mut self) -> Result<()> {
        self.position_all(Direction::Forward, Cursor::seek_to_first)
    }

    fn seek_to_last(&mut self) -> Result<()> {
        self.position_all(Direction::Backward, Cursor::seek_to_last)
    }

    fn seek_for_prev(&mut self, target: KeyRef<'_>) -> Result<()> {
        self.position_all(Direction::Backward, |c| c.seek_for_prev(target))
    }

    fn next(&mut self) -> Result<()> {
        let Some(current) = self.heap.top() else {
            return Ok(());
        };
        if self.direction == Direction::Backward {
            self.switch_direction(current, Direction::Forward)?;
        }
        self.step_current(current)
    }

    fn prev(&mut self) -> Result<()> {
        let Some(current) = self.heap.top() else {
            return Ok(());
        };
        if self.direction == Direction::Forward {
            self.switch_direction(current, Direction::Backward)?;
        }
        self.step_current(current)
    }

    fn key(&self) -> Option<KeyRef<'_>> {
        self.heap.top().and_then(|i| self.children[i].key())
    }

    fn value(&self) -> Option<&[u8]> {
        self.heap.top().and_then(|i| self.children[i].value())
    }

    fn valid(&self) -> bool {
        self.heap.top().is_some()
    }
}

#[cfg(test)]
mod tests;
