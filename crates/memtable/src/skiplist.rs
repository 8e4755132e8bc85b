//! The skiplist under the memtable: insert-only, lock-free, in safe Rust, with nodes
//! packed densely in an arena of atomic words.
//!
//! # Why not crossbeam-skiplist
//!
//! A memtable search is bound by cache and TLB misses, one per node it steps to
//! below the cached top levels (a link carries its target's leading key bits, so
//! the node that ends a level is not loaded: see [`store::Link`]). crossbeam's
//! nodes are separate heap allocations interleaved with the entries' key and value
//! allocations, so the search structure of a 500k-entry memtable is spread over
//! ~100 MiB; here the nodes of the same memtable take ~24 MiB of contiguous arena,
//! mostly cache-resident, and the 100-byte values live elsewhere. crossbeam also
//! pays for removal support that a memtable never uses: epoch pinning and reference
//! counts on every access. The measurement, and how this list is checked against
//! crossbeam's: the engine's `docs/design.md`, "The memtable's skiplist".
//!
//! Node layout and storage: [`store`]. Batch inserts reuse the previous insert's search
//! path: [`splice`].
//!
//! # Concurrency
//!
//! Nothing is ever removed or changed once linked, so no memory reclamation is
//! needed: the arena lives as long as the list. A writer fills the entry slot and the
//! node's words, then links the node bottom-up, each level with a `Release`
//! compare-exchange on the predecessor's link; a failed exchange means another node
//! arrived between predecessor and successor, and the writer walks on from the same
//! predecessor (which stays below its key forever). Readers follow links with
//! `Acquire`, so every word and slot of a node they reach is initialized. A node is
//! in the list once linked at level 0; the upper levels only speed up searches.

mod splice;
mod store;

use std::cmp::Ordering;
use std::sync::atomic::Ordering::{Relaxed, Release};

use quickcache_sstable::KeyRef;

use crate::key::{Head, KeyParts};
use crate::sync::{AtomicU64, AtomicUsize};
pub(crate) use splice::Splice;
pub(crate) use store::Id;
use store::{At, FIELDS, Link, MAX_HEIGHT, NULL, Store, fragment, head_of, word};

/// The skiplist. Thread safety: `Sync`; every method takes `&self`.
pub(crate) struct SkipList {
    /// The head, laid out as a node of full height whose key words go unused, so
    /// that a search treats it like any predecessor.
    head: [AtomicU64; FIELDS + MAX_HEIGHT],
    /// Levels in use (at least 1); only grows.
    height: AtomicUsize,
    store: Store,
    len: AtomicUsize,
}

/// A linked node, with its inline head already read.
#[derive(Clone, Copy)]
pub(crate) struct NodeRef<'a> {
    list: &'a SkipList,
    id: Id,
    head: Head,
}

impl<'a> NodeRef<'a> {
    /// The inline part of the node's key.
    pub(crate) fn head(&self) -> Head {
        self.head
    }

    /// The user key.
    pub(crate) fn user_key(&self) -> &'a [u8] {
        self.list.store.entry(self.id).0
    }

    /// The value; empty for tombstones.
    pub(crate) fn value(&self) -> &'a [u8] {
        self.list.store.entry(self.id).1
    }

    /// The internal key.
    pub(crate) fn key(&self) -> KeyRef<'a> {
        KeyRef::new(self.user_key(), self.head.seqno(), self.head.kind())
    }

    /// The node after this one, if any.
    pub(crate) fn next(&self) -> Option<NodeRef<'a>> {
        let at = self.list.at(self.id);
        // A NodeRef names a linked node, which the store holds for the list's life:
        // `None` here would end an iteration early, so debug builds refuse it.
        debug_assert!(at.is_some(), "node {} is not in its list", self.id);
        self.list.node(at?.link(0).id())
    }

    /// The node's name in its list, to find it again with [`SkipList::node`].
    pub(crate) fn id(&self) -> Id {
        self.id
    }

    /// This node's key as a search probe.
    pub(crate) fn probe(&self) -> KeyParts<'a> {
        KeyParts {
            head: self.head,
            user_key: self.user_key(),
        }
    }
}

impl SkipList {
    /// An empty list.
    pub(crate) fn new() -> Self {
        SkipList {
            head: std::array::from_fn(|_| AtomicU64::new(0)),
            height: AtomicUsize::new(1),
            store: Store::new(),
            len: AtomicUsize::new(0),
        }
    }

    /// Number of linked nodes.
    pub(crate) fn len(&self) -> usize {
        self.len.load(Relaxed)
    }

    /// Inserts `key` with `value`. Returns `false`, inserting nothing, if an entry
    /// with the same internal key is already present.
    #[cfg(test)]
    pub(crate) fn insert(&self, key: KeyRef<'_>, value: &[u8]) -> bool {
        self.insert_with(&mut Splice::new(), key, value)
    }

    /// Links `node` at `level` between `pred` and `succ`, walking on from `pred`
    /// while other nodes arrive there first. Returns the predecessor and successor
    /// it was finally linked between, or `None` if an equal key won the race at
    /// level 0; `node` then stays unlinked, and unreachable.
    fn link(
        &self,
        node: Id,
        level: usize,
        (pred, succ): (Id, Link),
        probe: &KeyParts<'_>,
    ) -> Option<(Id, Link)> {
        // The `else` branches below cannot be taken: `node` was just claimed, `pred`
        // is the head or a linked node, and both have more than `level` levels. Debug
        // builds assert it; release builds, which do not pay for the extra checks per
        // insert, would leave the node unlinked at this level.
        let (Some(own), Some(mut pred)) = (self.at(node), self.at(pred)) else {
            debug_assert!(false, "linking node {node} after {pred}: not in the store");
            return Some((pred, succ));
        };
        debug_assert!(level < own.height(), "level {level} of node {node}");
        let (Some(own), mut succ) = (own.words.get(FIELDS + level), succ) else {
            debug_assert!(false, "node {node} has no link at level {level}");
            return Some((pred.id, succ));
        };
        let to_node = Link::to(node, &probe.head);
        loop {
            debug_assert!(level < pred.height(), "level {level} of node {}", pred.id);
            let Some(at) = pred.words.get(FIELDS + level) else {
                debug_assert!(false, "node {} has no link at level {level}", pred.id);
                return Some((pred.id, succ));
            };
            own.store(succ.0, Relaxed);
            if at
                .compare_exchange(succ.0, to_node.0, Release, Relaxed)
                .is_ok()
            {
                return Some((pred.id, succ));
            }
            let order;
            (pred, succ, order) = self.walk(pred, level, probe, false);
            if level == 0 && order == Ordering::Equal {
                return None;
            }
        }
    }

    /// The first node at or after `probe`.
    pub(crate) fn seek_ge(&self, probe: &KeyParts<'_>) -> Option<NodeRef<'_>> {
        let (_, succ, _) = self.search(probe, false, &mut []);
        self.node(succ.id())
    }

    /// The last node before `probe`, or at or before it if `inclusive`.
    pub(crate) fn seek_before(&self, probe: &KeyParts<'_>, inclusive: bool) -> Option<NodeRef<'_>> {
        let (pred, _, _) = self.search(probe, inclusive, &mut []);
        self.node(pred)
    }

    /// The first node.
    pub(crate) fn first(&self) -> Option<NodeRef<'_>> {
        self.node(self.at(NULL)?.link(0).id())
    }

    /// The last node.
    pub(crate) fn last(&self) -> Option<NodeRef<'_>> {
        let mut pred = self.at(NULL)?;
        for level in (0..self.height.load(Relaxed)).rev() {
            while let Some(next) = self.at(pred.link(level).id()).filter(|n| n.id != NULL) {
                pred = next;
            }
        }
        self.node(pred.id)
    }

    /// Descends from the top level to level 0, on each level walking past the nodes
    /// below `probe` (and equal to it if `past_equal`). Records each level's
    /// predecessor and successor in `splice` (as far as it reaches) and returns
    /// level 0's, with the successor's order against `probe` (`Greater` for none).
    fn search(
        &self,
        probe: &KeyParts<'_>,
        past_equal: bool,
        splice: &mut [(Id, Link)],
    ) -> (Id, Link, Ordering) {
        let mut pred = At {
            id: NULL,
            words: &self.head,
        };
        let (mut succ, mut order) = (Link::NONE, Ordering::Greater);
        for level in (0..self.height.load(Relaxed)).rev() {
            (pred, succ, order) = self.walk(pred, level, probe, past_equal);
            if let Some(slot) = splice.get_mut(level) {
                *slot = (pred.id, succ);
            }
        }
        (pred.id, succ, order)
    }

    /// Walks `level` from `pred` (the head, or a node below `probe`) as
    /// [`Self::search`] does. The hot loop of every search: per node, one link
    /// read and a compare of its fragment; the next node's words only when the
    /// fragment does not show it past the probe.
    #[inline(always)]
    fn walk<'a>(
        &'a self,
        mut pred: At<'a>,
        level: usize,
        probe: &KeyParts<'_>,
        past_equal: bool,
    ) -> (At<'a>, Link, Ordering) {
        let fragment = fragment(&probe.head);
        loop {
            let link = pred.link(level);
            if link.fragment() > fragment {
                return (pred, link, Ordering::Greater);
            }
            let Some(words) = self.store.words(link.id()) else {
                // The end of the level: a link names NULL or a node the store holds.
                debug_assert_eq!(link.id(), NULL, "a link names a node not in the store");
                return (pred, link, Ordering::Greater);
            };
            let order = if link.fragment() < fragment {
                Ordering::Less
            } else {
                self.order(link.id(), words, probe)
            };
            match order {
                Ordering::Less => {}
                Ordering::Equal if past_equal => {}
                order => return (pred, link, order),
            }
            pred = At {
                id: link.id(),
                words,
            };
            if let Some(below) = level.checked_sub(1) {
                self.touch(pred.link(below), below, fragment);
            }
        }
    }

    /// The order of node `id`, whose words are `words`, against `probe`: mostly two
    /// word compares; the entry's bytes only on equal prefixes of long keys.
    #[inline(always)]
    fn order(&self, id: Id, words: &[AtomicU64], probe: &KeyParts<'_>) -> Ordering {
        let (hi, lo) = probe.head.prefix;
        let (node_hi, node_lo) = (word(words, 0), word(words, 1));
        if node_hi != hi {
            node_hi.cmp(&hi)
        } else if node_lo != lo {
            node_lo.cmp(&lo)
        } else {
            head_of(words).cmp_probe(|| self.store.entry(id).0, probe)
        }
    }

    /// Loads a word of `link`'s target, a prefetch in safe Rust: should the search
    /// drop to `level` at the current node, it compares that node first, and its
    /// cache miss then overlaps the rest of this level's walk instead of following
    /// it. The word is the one the search reads next there: the key if the
    /// fragment ties with the probe's (`fragment`), else the link at `level`.
    #[inline(always)]
    fn touch(&self, link: Link, level: usize, fragment: u64) {
        if let Some(words) = self.store.words(link.id()) {
            let i = if link.fragment() == fragment {
                0
            } else {
                FIELDS + level
            };
            std::hint::black_box(word(words, i));
        }
    }

    /// The node named `id`; `None` for [`NULL`].
    #[inline]
    fn node(&self, id: Id) -> Option<NodeRef<'_>> {
        let words = self.store.words(id)?;
        Some(NodeRef {
            list: self,
            id,
            head: head_of(words),
        })
    }

    /// The node named `id`, whose head the caller read when it got there: no second
    /// load of the node's words. `head` must be that node's (it is never changed).
    pub(crate) fn node_known(&self, id: Id, head: Head) -> NodeRef<'_> {
        NodeRef {
            list: self,
            id,
            head,
        }
    }

    /// The search position at the node named `id`, or at the head for [`NULL`].
    fn at(&self, id: Id) -> Option<At<'_>> {
        let words = if id == NULL {
            &self.head[..]
        } else {
            self.store.words(id)?
        };
        Some(At { id, words })
    }
}

#[cfg(test)]
mod tests;
