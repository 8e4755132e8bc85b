//! `Written`: the keys recorded in the conflict history, in write order and by key.

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

use quickcache_sstable::KeyspaceId;

/// The recorded writes. Point checks (every read and write of every transaction)
/// look a key up in a hash map; only a scanned or deleted range needs the keys in
/// order, so the ordered index is built at the first validation that has one and
/// kept up from then until the history empties. A workload of point transactions
/// never pays for key comparisons in a tree, which were most of the history's cost.
/// Each key is stored once, shared by the log and the indexes. Keys are hashed with
/// the standard library's keyed hasher: they are the caller's data.
#[derive(Debug, Default)]
pub(crate) struct Written {
    /// Recorded writes in sequence-number order.
    log: VecDeque<(u64, KeyspaceId, Arc<[u8]>)>,
    /// The last recorded write of each key: a `Cell`, so that recording a key
    /// already there takes one lookup, which also yields the key to share.
    index: BTreeMap<KeyspaceId, HashMap<Arc<[u8]>, Cell<u64>>>,
    /// `index` in key order, while some validation has needed it.
    ordered: Option<BTreeMap<KeyspaceId, Ordered>>,
}

/// One keyspace's recorded keys in key order, with their last write.
type Ordered = BTreeMap<Arc<[u8]>, u64>;

/// A keyspace's hash map kept, emptied, when the history empties, if it is no
/// bigger than this: a steady load then does not free and grow it again each time.
const KEEP_CAPACITY: usize = 4096;

impl Written {
    /// Records a write of `key` at `seqno`, the highest recorded so far.
    pub(crate) fn record(&mut self, seqno: u64, keyspace: KeyspaceId, key: &[u8]) {
        let slot = self.index.entry(keyspace).or_default();
        let key = match slot.get_key_value(key) {
            Some((known, last)) => {
                last.set(seqno);
                Arc::clone(known)
            }
            None => {
                let key: Arc<[u8]> = Arc::from(key);
                slot.insert(Arc::clone(&key), Cell::new(seqno));
                key
            }
        };
        if let Some(ordered) = &mut self.ordered {
            (ordered.entry(keyspace).or_default()).insert(Arc::clone(&key), seqno);
        }
        self.log.push_back((seqno, keyspace, key));
    }

    /// The sequence number of the last recorded write of `key`.
    pub(crate) fn last(&self, keyspace: KeyspaceId, key: &[u8]) -> Option<u64> {
        self.index.get(&keyspace)?.get(key).map(Cell::get)
    }

    /// Builds the ordered index if it is not there yet.
    pub(crate) fn order(&mut self) {
        if self.ordered.is_none() {
            let by_key = self.index.iter().map(|(keyspace, keys)| {
                let keys = keys.iter().map(|(k, s)| (Arc::clone(k), s.get()));
                (*keyspace, keys.collect())
            });
            self.ordered = Some(by_key.collect());
        }
    }

    /// A key between `lo` and `hi` in `keyspace` last written after `start`, with
    /// that write's sequence number. Uses the ordered index ([`Written::order`]);
    /// without it, the log since `start`.
    pub(crate) fn first_in(
        &self,
        keyspace: KeyspaceId,
        (lo, hi): (Bound<&[u8]>, Bound<&[u8]>),
        start: u64,
    ) -> Option<(Vec<u8>, u64)> {
        debug_assert!(self.ordered.is_some(), "a range validated unordered");
        let Some(ordered) = &self.ordered else {
            let since = self.log.partition_point(|(seqno, _, _)| *seqno <= start);
            let mut after = self.log.range(since..);
            let (seqno, _, key) = after.find(|(_, ks, key)| {
                *ks == keyspace && RangeBounds::<[u8]>::contains(&(lo, hi), &**key)
            })?;
            return Some((key.to_vec(), *seqno));
        };
        let keys = ordered.get(&keyspace)?;
        let (key, seqno) = keys.range::<[u8], _>((lo, hi)).find(|(_, s)| **s > start)?;
        Some((key.to_vec(), *seqno))
    }

    /// The sequence number of the oldest recorded write.
    pub(crate) fn oldest(&self) -> Option<u64> {
        self.log.front().map(|(seqno, _, _)| *seqno)
    }

    /// Drops the oldest recorded write; returns its sequence number and key length.
    pub(crate) fn pop_oldest(&mut self) -> Option<(u64, usize)> {
        let (seqno, keyspace, key) = self.log.pop_front()?;
        if let Some(keys) = self.index.get_mut(&keyspace)
            && keys.get(&*key).map(Cell::get) == Some(seqno)
        {
            keys.remove(&*key);
            if let Some(keys) = self.ordered.as_mut().and_then(|o| o.get_mut(&keyspace)) {
                keys.remove(&*key);
            }
        }
        Some((seqno, key.len()))
    }

    /// How many writes are recorded.
    pub(crate) fn len(&self) -> usize {
        self.log.len()
    }

    /// Forgets everything, the ordered index included (until a range needs it again).
    pub(crate) fn clear(&mut self) {
        self.log.clear();
        self.index.retain(|_, keys| {
            keys.clear();
            keys.capacity() <= KEEP_CAPACITY
        });
        self.ordered = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds<'a>(lo: &'a str, hi: &'a str) -> (Bound<&'a [u8]>, Bound<&'a [u8]>) {
        (
            Bound::Included(lo.as_bytes()),
            Bound::Excluded(hi.as_bytes()),
        )
    }

    #[test]
    fn the_ordered_index_built_late_agrees_and_is_kept_up_and_trimmed() {
        let ks = KeyspaceId::DEFAULT;
        let mut written = Written::default();
        written.record(1, ks, b"m");
        written.record(2, ks, b"c");
        written.record(3, ks, b"m");
        assert_eq!(written.last(ks, b"m"), Some(3));
        written.order();
        written.record(4, ks, b"x");
        assert_eq!(
            written.first_in(ks, bounds("a", "z"), 3),
            Some((b"x".to_vec(), 4))
        );
        assert_eq!(
            written.first_in(ks, bounds("a", "n"), 2),
            Some((b"m".to_vec(), 3))
        );
        assert_eq!(written.first_in(ks, bounds("a", "l"), 2), None);
        // The first write of m is superseded: popping it keeps m's last write.
        assert_eq!(written.pop_oldest(), Some((1, 1)));
        assert_eq!(written.last(ks, b"m"), Some(3));
        assert_eq!(written.pop_oldest(), Some((2, 1)));
        assert_eq!(written.last(ks, b"c"), None);
        assert_eq!(
            written.first_in(ks, bounds("a", "d"), 0),
            None,
            "c is gone from both"
        );
        assert_eq!((written.oldest(), written.len()), (Some(3), 2));
        written.clear();
        assert_eq!((written.oldest(), written.len()), (None, 0));
        assert!(written.ordered.is_none());
    }
}
