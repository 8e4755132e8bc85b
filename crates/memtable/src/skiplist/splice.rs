//! Inserts that start from the previous insert's search path: RocksDB's "splice"
//! (`InlineSkipList::Insert` with a `Splice`).
//!
//! # Why
//!
//! A write batch mostly holds keys in ascending order (db_bench's fillbatch writes
//! 1000 consecutive keys), so each key lands right after the one before it. A full
//! search from the top level re-walks the same path every time, a chain of cache
//! misses per key; with the path kept, the next key usually only needs its level 0
//! bracket checked: two compares against nodes still in cache.
//!
//! # How
//!
//! A [`Splice`] keeps, per level, the predecessor and successor the last insert was
//! linked between (the inserted node itself as predecessor at its own levels). For
//! the next key it looks from level 0 up for the lowest level whose pair still
//! brackets the key (`pred < key < succ`) with nothing linked between them since, and
//! walks the levels below from there. Levels above it are not checked: the splice
//! keeps RocksDB's invariant that preds never get later and succs never get earlier
//! going up (`prev[i+1] <= prev[i] < key < next[i] <= next[i+1]` for the key it was
//! built for), so a level that brackets the key implies every level above does.
//!
//! # Concurrency
//!
//! A splice belongs to one thread (one `apply` call). Other inserters may link nodes
//! into its brackets at any time; that is caught in two places: the check above
//! (the pred's link no longer names the succ: re-search that level) and the link's
//! compare-exchange (it fails, and [`SkipList::link`] walks on from the pred, which
//! stays below the key forever). A walk after a failed exchange above level 0 can
//! narrow that level's bracket past the one below, breaking the invariant, so the
//! splice is then dropped and the next insert searches from the top, as RocksDB does.

use std::cmp::Ordering;
use std::sync::atomic::Ordering::Relaxed;

use quickcache_sstable::KeyRef;

use super::SkipList;
use super::store::{Id, Link, MAX_HEIGHT, NULL};
use crate::key::KeyParts;

/// The search path of one thread's previous insert, reused by its next one.
pub(crate) struct Splice {
    /// Per level, the predecessor ([`NULL`] for the head) and the link to the
    /// successor, as the predecessor held it ([`Link::NONE`] for none). Levels no
    /// insert reached hold `(head, none)`, which brackets any key.
    levels: [(Id, Link); MAX_HEIGHT],
    /// Whether `levels` came from an insert; a fresh splice searches from the top.
    valid: bool,
}

impl Splice {
    /// A splice with no path yet: its first insert searches from the top.
    pub(crate) fn new() -> Self {
        Splice {
            levels: [(NULL, Link::NONE); MAX_HEIGHT],
            valid: false,
        }
    }
}

impl SkipList {
    /// Inserts `key` with `value`, starting from and then updating `splice`. Returns
    /// `false`, inserting nothing, if an entry with the same internal key is present.
    pub(crate) fn insert_with(&self, splice: &mut Splice, key: KeyRef<'_>, value: &[u8]) -> bool {
        let probe = KeyParts::of(key);
        let order = if splice.valid {
            self.repair(&mut splice.levels, &probe)
        } else {
            // Levels above the searched height keep (head, none); if another node
            // got there first, the exchange in `link` fails and the walk finds it.
            splice.valid = true;
            self.search(&probe, false, &mut splice.levels).2
        };
        if order == Ordering::Equal {
            return false;
        }
        let (node, height) = self.store.alloc(probe.head, key.user_key, value);
        // The load first: an unconditional fetch_max is a locked write every insert.
        if height > self.height.load(Relaxed) {
            self.height.fetch_max(height, Relaxed);
        }
        let mut keep = true;
        for (level, slot) in splice.levels.iter_mut().enumerate().take(height) {
            let Some(linked) = self.link(node, level, *slot, &probe) else {
                return false;
            };
            keep &= level == 0 || linked == *slot;
            *slot = (node, linked.1);
        }
        if !keep {
            *splice = Splice::new();
        }
        self.len.fetch_add(1, Relaxed);
        true
    }

    /// Makes `levels` the search path of `probe`, re-searching only the levels below
    /// the lowest one that still brackets it. Returns level 0's successor's order
    /// against `probe`, as [`SkipList::search`] does.
    fn repair(&self, levels: &mut [(Id, Link); MAX_HEIGHT], probe: &KeyParts<'_>) -> Ordering {
        let before = |id: Id| self.store.words(id).map(|w| self.order(id, w, probe));
        let mut level = 0;
        while let Some(&(pred, succ)) = levels.get(level) {
            let Some(at) = self.at(pred) else {
                // Preds are the head or linked nodes. Should one ever be missing, a
                // search from the top is still right, only slower.
                debug_assert!(false, "splice pred {pred} is not in the store");
                level = MAX_HEIGHT;
                break;
            };
            if at.link(level) != succ {
                // Someone linked a node in between: it may be the key's neighbour.
                level += 1;
            } else if pred != NULL && before(pred) != Some(Ordering::Less) {
                // The key is at or before pred (going backwards, or a duplicate):
                // every level sharing this pred is wrong too, no need to compare.
                while levels.get(level).is_some_and(|l| l.0 == pred) {
                    level += 1;
                }
            } else if succ != Link::NONE && before(succ.id()) != Some(Ordering::Greater) {
                while levels.get(level).is_some_and(|l| l.1 == succ) {
                    level += 1;
                }
            } else {
                break;
            }
        }
        // Levels at or above the list's height hold nothing worth keeping: start
        // from the head there, as a full search does, instead of walking empty levels.
        let top = self.height.load(Relaxed).min(level);
        let start = match levels.get_mut(top..level) {
            Some(above) if top < level => {
                above.fill((NULL, Link::NONE));
                NULL
            }
            _ => levels.get(level).map_or(NULL, |l| l.0),
        };
        let Some(mut pred) = self.at(start) else {
            debug_assert!(false, "splice pred {start} is not in the store");
            return self.search(probe, false, levels).2; // right, only slower
        };
        // With no level re-searched, level 0's bracket was just checked: succ > key.
        let mut order = Ordering::Greater;
        for level in (0..top).rev() {
            let succ;
            (pred, succ, order) = self.walk(pred, level, probe, false);
            if let Some(slot) = levels.get_mut(level) {
                *slot = (pred.id, succ);
            }
        }
        order
    }
}
