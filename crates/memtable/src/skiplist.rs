//! The skiplist under the memtable: insert-only, lock-free, in safe Rust, with nodes
//! packed densely in an arena of atomic words.
//!
//! # Why not crossbeam-skiplist
//!
//! A memtable search is bound by cache and TLB misses, one or two per node visited
//! below the cached top levels. crossbeam's nodes are separate heap allocations
//! interleaved with the entries' key and value allocations, so the search structure
//! of a 500k-entry memtable is spread over ~100 MiB; here the nodes of the same
//! memtable take ~24 MiB of contiguous arena, mostly cache-resident, and the
//! 100-byte values live elsewhere. crossbeam also pays for removal support that a
//! memtable never uses: epoch pinning and reference counts on every access.
//!
//! Node layout and storage: [`store`].
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

mod store;

use std::cmp::Ordering;
use std::sync::atomic::Ordering::{Relaxed, Release};
use std::sync::atomic::{AtomicU64, AtomicUsize};

use quickcache_sstable::KeyRef;

use crate::arena::Id;
use crate::key::{Head, KeyParts};
use store::{At, FIELDS, MAX_HEIGHT, NULL, Store, head_of, word};

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
        let at = self.list.at(self.id)?;
        self.list.node(at.link(0))
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
    pub(crate) fn insert(&self, key: KeyRef<'_>, value: &[u8]) -> bool {
        let probe = KeyParts::of(key);
        let mut splice = [(NULL, NULL); MAX_HEIGHT];
        if self.search(&probe, false, &mut splice).2 == Ordering::Equal {
            return false;
        }
        let (node, height) = self.store.alloc(probe.head, key.user_key, value);
        // Levels above the searched height keep (head, none) in `splice`; if another
        // node got there first, the exchange below fails and the walk finds it. The
        // load first: an unconditional fetch_max is a locked write every insert.
        if height > self.height.load(Relaxed) {
            self.height.fetch_max(height, Relaxed);
        }
        for (level, &(pred, succ)) in splice.iter().enumerate().take(height) {
            if !self.link(node, level, pred, succ, &probe) {
                return false;
            }
        }
        self.len.fetch_add(1, Relaxed);
        true
    }

    /// Links `node` at `level` between `pred` and `succ`, walking on from `pred`
    /// while other nodes arrive there first. Returns `false` if an equal key won the
    /// race at level 0; `node` then stays unlinked, and unreachable.
    fn link(&self, node: Id, level: usize, pred: Id, succ: Id, probe: &KeyParts<'_>) -> bool {
        let (Some(own), Some(mut pred)) = (self.at(node), self.at(pred)) else {
            return true; // unreachable: both are claimed nodes or the head
        };
        let (Some(own), mut succ) = (own.words.get(FIELDS + level), succ) else {
            return true; // unreachable: the node has `height` links
        };
        loop {
            let Some(at) = pred.words.get(FIELDS + level) else {
                return true;
            };
            own.store(succ as u64, Relaxed);
            if at
                .compare_exchange(succ as u64, node as u64, Release, Relaxed)
                .is_ok()
            {
                return true;
            }
            let order;
            (pred, succ, order) = self.walk(pred, level, probe, false);
            if level == 0 && order == Ordering::Equal {
                return false;
            }
        }
    }

    /// The first node at or after `probe`.
    pub(crate) fn seek_ge(&self, probe: &KeyParts<'_>) -> Option<NodeRef<'_>> {
        let (_, succ, _) = self.search(probe, false, &mut []);
        self.node(succ)
    }

    /// The last node before `probe`, or at or before it if `inclusive`.
    pub(crate) fn seek_before(&self, probe: &KeyParts<'_>, inclusive: bool) -> Option<NodeRef<'_>> {
        let (pred, _, _) = self.search(probe, inclusive, &mut []);
        self.node(pred)
    }

    /// The first node.
    pub(crate) fn first(&self) -> Option<NodeRef<'_>> {
        self.node(self.at(NULL)?.link(0))
    }

    /// The last node.
    pub(crate) fn last(&self) -> Option<NodeRef<'_>> {
        let mut pred = self.at(NULL)?;
        for level in (0..self.height.load(Relaxed)).rev() {
            while let Some(next) = self.at(pred.link(level)).filter(|n| n.id != NULL) {
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
        splice: &mut [(Id, Id)],
    ) -> (Id, Id, Ordering) {
        let mut pred = At {
            id: NULL,
            words: &self.head,
        };
        let (mut succ, mut order) = (NULL, Ordering::Greater);
        for level in (0..self.height.load(Relaxed)).rev() {
            (pred, succ, order) = self.walk(pred, level, probe, past_equal);
            if let Some(slot) = splice.get_mut(level) {
                *slot = (pred.id, succ);
            }
        }
        (pred.id, succ, order)
    }

    /// Walks `level` from `pred` (the head, or a node below `probe`) as
    /// [`Self::search`] does. The hot loop of every search: one arena lookup and,
    /// mostly, two word compares per node.
    #[inline(always)]
    fn walk<'a>(
        &'a self,
        mut pred: At<'a>,
        level: usize,
        probe: &KeyParts<'_>,
        past_equal: bool,
    ) -> (At<'a>, Id, Ordering) {
        let (hi, lo) = probe.head.prefix;
        loop {
            let next = pred.link(level);
            let Some(words) = self.store.words(next) else {
                return (pred, NULL, Ordering::Greater);
            };
            let (node_hi, node_lo) = (word(words, 0), word(words, 1));
            let order = if node_hi != hi {
                node_hi.cmp(&hi)
            } else if node_lo != lo {
                node_lo.cmp(&lo)
            } else {
                head_of(words).cmp_probe(|| self.store.entry(next).0, probe)
            };
            match order {
                Ordering::Less => {}
                Ordering::Equal if past_equal => {}
                _ => return (pred, next, order),
            }
            pred = At { id: next, words };
            if let Some(below) = level.checked_sub(1) {
                self.touch(pred.link(below));
            }
        }
    }

    /// Loads the first word of node `id`, a prefetch in safe Rust: should the search
    /// drop a level at the current node, that node is the first it compares there,
    /// and its cache miss then overlaps the rest of this level's walk instead of
    /// following it.
    #[inline(always)]
    fn touch(&self, id: Id) {
        if let Some(words) = self.store.words(id) {
            std::hint::black_box(word(words, 0));
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
mod tests {
    use super::*;
    use quickcache_sstable::{SeqNo, ValueKind};
    use std::thread;

    fn key(user: &[u8], seq: u64) -> KeyRef<'_> {
        KeyRef::new(user, SeqNo::new(seq).unwrap(), ValueKind::Value)
    }

    fn scan(list: &SkipList) -> Vec<(Vec<u8>, u64)> {
        let mut out = Vec::new();
        let mut at = list.first();
        while let Some(node) = at {
            out.push((node.user_key().to_vec(), node.head().seqno().get()));
            at = node.next();
        }
        out
    }

    /// Keys in a scrambled order, long enough to span several arena buckets, half
    /// of them longer than the inline prefix.
    fn keys(n: u32) -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| {
                let k = i.wrapping_mul(2_654_435_761).to_be_bytes();
                if i % 2 == 0 {
                    k.to_vec()
                } else {
                    [&[7u8; 16][..], &k].concat()
                }
            })
            .collect()
    }

    #[test]
    fn scrambled_inserts_come_out_sorted() {
        let list = SkipList::new();
        assert!(list.first().is_none() && list.last().is_none());
        let keys = keys(20_000);
        for (i, k) in keys.iter().enumerate() {
            assert!(list.insert(key(k, i as u64 + 1), b"v"));
        }
        let mut want = keys.clone();
        want.sort();
        let got: Vec<_> = scan(&list).into_iter().map(|(k, _)| k).collect();
        assert_eq!(got, want);
        assert_eq!(list.len(), keys.len());
        assert_eq!(
            list.last().map(|n| n.user_key().to_vec()),
            want.last().cloned()
        );
    }

    #[test]
    fn seeks_land_on_either_side_of_a_key() {
        let list = SkipList::new();
        for (k, s) in [(&b"b"[..], 5), (b"b", 3), (b"d", 1)] {
            list.insert(key(k, s), k);
        }
        let at =
            |n: Option<NodeRef<'_>>| n.map(|n| (n.user_key().to_vec(), n.head().seqno().get()));
        let probe = |k: &'static [u8], s| KeyParts::of(key(k, s));
        assert_eq!(at(list.seek_ge(&probe(b"b", 4))), Some((b"b".to_vec(), 3)));
        assert_eq!(at(list.seek_ge(&probe(b"b", 5))), Some((b"b".to_vec(), 5)));
        assert_eq!(at(list.seek_ge(&probe(b"c", 9))), Some((b"d".to_vec(), 1)));
        assert_eq!(at(list.seek_ge(&probe(b"e", 9))), None);
        assert_eq!(
            at(list.seek_before(&probe(b"b", 3), false)),
            Some((b"b".to_vec(), 5))
        );
        assert_eq!(
            at(list.seek_before(&probe(b"b", 3), true)),
            Some((b"b".to_vec(), 3))
        );
        assert_eq!(at(list.seek_before(&probe(b"b", 9), false)), None);
        assert_eq!(
            list.first().map(|n| n.value().to_vec()),
            Some(b"b".to_vec())
        );
    }

    #[test]
    fn an_equal_internal_key_is_ignored() {
        let list = SkipList::new();
        assert!(list.insert(key(b"k", 1), b"first"));
        assert!(!list.insert(key(b"k", 1), b"second"));
        assert_eq!(list.len(), 1);
        assert_eq!(list.first().map(|n| n.value()), Some(&b"first"[..]));
    }

    #[test]
    fn concurrent_inserts_all_land_in_order() {
        let list = SkipList::new();
        let keys = keys(40_000);
        thread::scope(|s| {
            for part in keys.chunks(keys.len() / 4) {
                let list = &list;
                // Every thread also inserts the same duplicates: exactly one wins.
                s.spawn(move || {
                    for (i, k) in part.iter().enumerate() {
                        list.insert(key(k, 1), b"v");
                        list.insert(key(b"shared", i as u64 % 64 + 1), b"dup");
                    }
                });
            }
        });
        let got = scan(&list);
        assert_eq!(got.len(), keys.len() + 64);
        assert_eq!(list.len(), got.len());
        assert!(
            got.windows(2)
                .all(|w| key(&w[0].0, w[0].1) < key(&w[1].0, w[1].1))
        );
    }
}
