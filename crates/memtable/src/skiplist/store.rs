//! Where skiplist nodes and entries live: node words in one arena, key and value
//! bytes beside them.
//!
//! A node is `4 + height` consecutive words of a [`Buckets<AtomicU64>`], named by the
//! [`Id`] (index) of its first word. The arena's first word is never a node, so Id 0
//! ([`NULL`]) means "no node" in a link and "the head" as a predecessor.
//!
//! ```text
//! word 0, 1   user-key prefix (big-endian, see crate::key)
//! word 2      trailer: seqno << 8 | kind
//! word 3      meta: entry index << 16 | short key length << 8 | height
//! word 4..    links, level 0 first (see Link)
//! ```
//!
//! The entry index names the [`Entry`] holding the user key and value bytes in one
//! heap allocation. Searches mostly read one link word per node (see [`Link`]), and
//! touch the entry only on equal prefixes of keys longer than the prefix, so the
//! search structure stays dense (about 48 bytes per entry) while values live
//! elsewhere.

use std::alloc::{Layout, handle_alloc_error};
use std::sync::atomic::Ordering::{Acquire, Relaxed};

use crate::sync::{AtomicU64, AtomicUsize, OnceLock};

use crate::arena::{self, Buckets};
use crate::key::Head;

/// A node, named by the index of its first word; below 2^32, to fit a [`Link`].
pub(crate) type Id = usize;

/// A link word: the target node's [`Id`] in the low 32 bits, the top 32 bits of its
/// key prefix above ([`Link::fragment`]); 0 for no node.
///
/// Why the fragment: a search compares the probe with the next node at every step,
/// and on each level most of those steps end the level (the next node is past the
/// probe). With the next node's leading key bits in the link, those steps compare
/// against the word just read from the current node, and load nothing more: about
/// half the cache misses of a search. Both halves change in one atomic store or
/// exchange, so a reader never sees one node's Id with another's fragment.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Link(pub(crate) u64);

impl Link {
    /// No node.
    pub(crate) const NONE: Link = Link(0);

    /// A link to node `id` whose key has the head `head`.
    #[inline]
    pub(crate) fn to(id: Id, head: &Head) -> Link {
        Link(fragment(head) << 32 | (id as u64 & 0xffff_ffff))
    }

    /// The target's Id; [`NULL`] for none.
    #[inline(always)]
    pub(crate) fn id(self) -> Id {
        (self.0 & 0xffff_ffff) as Id
    }

    /// The top 32 bits of the target's user-key prefix: if they differ from a
    /// probe's, they order the target against it (see crate::key's prefix order).
    #[inline(always)]
    pub(crate) fn fragment(self) -> u64 {
        self.0 >> 32
    }
}

/// The [`Link::fragment`] of a key with head `head`.
#[inline(always)]
pub(crate) fn fragment(head: &Head) -> u64 {
    head.prefix.0 >> 32
}

/// Node words must be named by 32-bit Ids: 32 GiB of nodes, some 700M entries.
const MAX_WORDS: usize = 1 << 32;

/// The tallest tower; 2^32 entries would still search in logarithmic time.
pub(crate) const MAX_HEIGHT: usize = 32;

/// Words before a node's links.
pub(crate) const FIELDS: usize = 4;

/// The Id meaning "no node" (in a link) or "the head" (as a predecessor).
pub(crate) const NULL: Id = 0;

/// Entry indexes must fit the 48 bits the meta word gives them.
const MAX_ENTRIES: usize = 1 << 48;

/// A node's user key and value, in one allocation.
#[derive(Debug)]
struct Entry {
    data: Box<[u8]>,
    key_len: usize,
}

/// The node words and entries of one skiplist. Thread safety: `Sync`; claiming
/// takes `&self` and hands each caller fresh words and a fresh entry slot.
pub(crate) struct Store {
    words: Buckets<AtomicU64>,
    entries: Buckets<OnceLock<Entry>>,
    next_word: AtomicUsize,
    next_entry: AtomicUsize,
}

impl Store {
    /// An empty store.
    pub(crate) fn new() -> Self {
        Store {
            words: Buckets::new(),
            entries: Buckets::new(),
            next_word: AtomicUsize::new(NULL + 1),
            next_entry: AtomicUsize::new(0),
        }
    }

    /// Stores the entry and a node for it, links all unset; returns the node's Id
    /// and height. The node is unreachable until linked.
    pub(crate) fn alloc(&self, head: Head, user_key: &[u8], value: &[u8]) -> (Id, usize) {
        let index = self.next_entry.fetch_add(1, Relaxed);
        let height = random_height(index);
        self.store_entry(index, user_key, value);
        (self.alloc_node(head, index, height), height)
    }

    /// The words of the node named `id`, from its first to the end of its bucket.
    #[inline(always)]
    pub(crate) fn words(&self, id: Id) -> Option<&[AtomicU64]> {
        if id == NULL {
            return None;
        }
        self.words.get(id)
    }

    /// The user key and value of the node named `id`, a claimed node (never
    /// [`NULL`]).
    ///
    /// Its entry is always there: a node is reachable only once linked, and it is
    /// linked only after its entry is stored. Debug builds assert that; release builds
    /// keep the search free of the check and would read a missing entry as an empty
    /// key and value.
    pub(crate) fn entry(&self, id: Id) -> (&[u8], &[u8]) {
        let words = self.words(id);
        debug_assert!(words.is_some(), "node {id} is not in the store");
        let meta = words.map_or(0, |w| word(w, 3));
        let slot = self.entries.get((meta >> 16) as usize);
        match slot.and_then(|s| s.first()).and_then(OnceLock::get) {
            Some(e) => {
                debug_assert!(e.key_len <= e.data.len(), "node {id}: key past its entry");
                e.data.split_at_checked(e.key_len).unwrap_or((&e.data, &[]))
            }
            None => {
                debug_assert!(false, "node {id} is reachable but has no entry");
                (&[], &[])
            }
        }
    }

    fn store_entry(&self, index: usize, user_key: &[u8], value: &[u8]) {
        let mut data = Vec::with_capacity(user_key.len() + value.len());
        data.extend_from_slice(user_key);
        data.extend_from_slice(value);
        let entry = Entry {
            data: data.into_boxed_slice(),
            key_len: user_key.len(),
        };
        let slot = self.entries.claim(index).filter(|_| index < MAX_ENTRIES);
        match slot.and_then(|s| s.first()) {
            // A fresh index from `next_entry`: no one else sets this slot.
            Some(slot) => drop(slot.set(entry)),
            None => exhausted(),
        }
    }

    fn alloc_node(&self, head: Head, index: usize, height: usize) -> Id {
        let len = FIELDS + height;
        let meta = (index as u64) << 16 | u64::from(head.short_len) << 8 | height as u64;
        loop {
            let start = self.next_word.fetch_add(len, Relaxed);
            let words = self
                .words
                .claim(start)
                .filter(|_| start.saturating_add(len) <= MAX_WORDS);
            let Some(words) = words else {
                exhausted();
            };
            // A node must not straddle two buckets; the skipped words stay unused.
            if !arena::fits(start, len) {
                continue;
            }
            let fields = [head.prefix.0, head.prefix.1, head.trailer, meta];
            for (word, value) in words.iter().zip(fields) {
                word.store(value, Relaxed);
            }
            return start;
        }
    }
}

/// A search position: a node (or the head, at [`NULL`]) and its words.
#[derive(Clone, Copy)]
pub(crate) struct At<'a> {
    pub(crate) id: Id,
    pub(crate) words: &'a [AtomicU64],
}

impl At<'_> {
    /// The link to the next node at `level`, which must be below the node's height.
    /// `Acquire`: the node's words and entry were written before the `Release`
    /// exchange that linked it.
    ///
    /// `words` runs on to the end of the node's bucket, so a level at or above the
    /// height would read the next node's words: debug builds assert it never is.
    #[inline(always)]
    pub(crate) fn link(&self, level: usize) -> Link {
        debug_assert!(
            level < self.height(),
            "level {level} of node {}, which has {} levels",
            self.id,
            self.height()
        );
        self.words
            .get(FIELDS + level)
            .map_or(Link::NONE, |l| Link(l.load(Acquire)))
    }

    /// The node's number of levels; the head has them all.
    pub(crate) fn height(&self) -> usize {
        if self.id == NULL {
            MAX_HEIGHT
        } else {
            (word(self.words, 3) & 0xff) as usize
        }
    }
}

/// Word `i` of a node's `words`. A node is claimed whole within one bucket, so its
/// key, meta and link words are always in range (debug builds assert it); the 0 for
/// out of range is never read.
#[inline(always)]
pub(crate) fn word(words: &[AtomicU64], i: usize) -> u64 {
    debug_assert!(i < words.len(), "word {i} of a node with {}", words.len());
    words.get(i).map_or(0, |w| w.load(Relaxed))
}

/// The inline key of the node whose words start `words`.
#[inline]
pub(crate) fn head_of(words: &[AtomicU64]) -> Head {
    Head {
        prefix: (word(words, 0), word(words, 1)),
        short_len: (word(words, 3) >> 8) as u8,
        trailer: word(words, 2),
    }
}

/// The arena outgrew its index space: like an allocation failure, and reported as one.
fn exhausted() -> ! {
    handle_alloc_error(Layout::new::<[u64; 1 << 20]>())
}

/// A tower height for entry `index`: 1 plus the trailing zero bits of a hash of the
/// index (probability 1/2 per level). Hashing the index, not a shared random state,
/// keeps writers from contending on a generator.
///
/// Why 1/2 and not LevelDB's 1/4, though 1/4 saves a third of the links: both visit
/// about the same number of nodes per search, but 1/2 spreads them over twice as
/// many levels, and the search overlaps one miss per level (see
/// `SkipList::touch`). Measured (500k entries): 1/2 inserts 1.0-1.1M/s against
/// 0.8-0.9M/s and gets 0.69-0.77M/s against 0.54-0.65M/s.
fn random_height(index: usize) -> usize {
    // The first output of SplitMix64 seeded with the index: a good 64-bit mix of it.
    let z = quickcache_sstable::fs::Rng::new(index as u64).next_u64();
    (z.trailing_zeros() as usize + 1).min(MAX_HEIGHT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcache_sstable::{KeyRef, SeqNo, ValueKind};

    #[test]
    fn heights_halve_per_level() {
        let mut counts = [0usize; MAX_HEIGHT + 1];
        for i in 0..1 << 16 {
            counts[random_height(i)] += 1;
        }
        assert_eq!(counts[0], 0);
        for h in 1..4 {
            let ratio = counts[h] as f64 / counts[h + 1] as f64;
            assert!((1.7..2.3).contains(&ratio), "level {h}: {counts:?}");
        }
    }

    #[test]
    fn a_node_holds_its_head_and_entry() {
        let store = Store::new();
        let key = KeyRef::new(b"apple", SeqNo::new(9).unwrap(), ValueKind::Value);
        let head = Head::of(key);
        let (id, height) = store.alloc(head, b"apple", b"red");
        let words = store.words(id).unwrap();
        assert_eq!(head_of(words), head);
        assert_eq!(word(words, 3) & 0xff, height as u64);
        assert_eq!(store.entry(id), (&b"apple"[..], &b"red"[..]));
        let at = At { id, words };
        assert!((0..height).all(|level| at.link(level) == Link::NONE));
        assert!(store.words(NULL).is_none());
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "is not in the store")]
    fn a_missing_node_is_an_assertion_not_an_empty_entry() {
        let store = Store::new();
        let _ = store.entry(5);
    }

    fn head(user_key: &[u8]) -> Head {
        Head::of(KeyRef::new(
            user_key,
            SeqNo::new(1).unwrap(),
            ValueKind::Value,
        ))
    }

    #[test]
    fn a_link_names_its_node_and_carries_its_fragment() {
        let h = head(&[0xfe, 1, 2, 3, 4]);
        for id in [NULL, 1, 0xffff_ffff] {
            let link = Link::to(id, &h);
            assert_eq!((link.id(), link.fragment()), (id, 0xfe01_0203));
        }
        assert_eq!(Link::to(NULL, &head(b"")), Link::NONE);
    }

    quickcheck::quickcheck! {
        /// The walk's shortcut: a smaller fragment means a smaller user key (and
        /// so a smaller internal key, whatever the seqnos).
        fn fragments_order_as_user_keys_do(a: Vec<u8>, b: Vec<u8>) -> bool {
            let (fa, fb) = (fragment(&head(&a)), fragment(&head(&b)));
            fa == fb || (fa < fb) == (a < b)
        }
    }
}
