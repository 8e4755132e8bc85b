//! `TxIter`: a transaction's scan, the snapshot's pairs merged with the
//! transaction's own writes (which win, and whose deletes hide the snapshot's pairs).
//!
//! The snapshot side is an [`Iter`] read from both ends. Each end peeks one pair
//! ahead to compare it with the own writes; the pairs left are `front`, then what
//! the `Iter` still holds, then `back`, so an end whose `Iter` is spent takes the
//! other end's peeked pair. The own writes are a sorted deque popped from either end.
//! The snapshot's pairs inside a range the transaction deleted are skipped; its own
//! writes are never inside one (a range delete drops those it covers, and later
//! writes win over it).

use std::collections::VecDeque;
use std::fmt;
use std::ops::Bound;

use crate::error::Result;
use crate::{Iter, Key, Value};

/// A key and the transaction's write of it: `None` deletes.
pub(crate) type OwnWrite = (Vec<u8>, Option<Vec<u8>>);

/// A range the transaction deleted.
pub(crate) type Deleted = (Bound<Vec<u8>>, Bound<Vec<u8>>);

/// An iterator over a transaction's view of a key range: its snapshot overlaid with
/// its own writes, in key order (or reverse, with [`DoubleEndedIterator`]), as of the
/// moment it was created. Returned by [`crate::Transaction::range`] and friends.
///
/// An error is yielded once and ends the iteration.
///
/// # Examples
/// ```
/// let dir = tempfile::tempdir()?;
/// let db = quickcache::Db::open(dir.path())?;
/// db.put("a", "1")?;
/// db.put("c", "3")?;
/// let mut tx = db.transaction();
/// tx.put("b", "2").delete("c");
/// let keys: Vec<_> = tx.range(..).rev().map(|kv| kv.map(|(k, _)| k)).collect::<Result<_, _>>()?;
/// assert_eq!(keys, [b"b".to_vec(), b"a".to_vec()]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TxIter {
    base: Iter,
    front: Option<(Key, Value)>,
    back: Option<(Key, Value)>,
    own: VecDeque<OwnWrite>,
    /// The ranges of this keyspace the transaction deleted (usually none).
    deleted: Vec<Deleted>,
    done: bool,
}

impl fmt::Debug for TxIter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TxIter")
            .field("own_writes_left", &self.own.len())
            .finish_non_exhaustive()
    }
}

/// Which end an iterator is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Front,
    Back,
}

impl TxIter {
    pub(crate) fn new(base: Iter, own: VecDeque<OwnWrite>, deleted: Vec<Deleted>) -> TxIter {
        TxIter {
            base,
            front: None,
            back: None,
            own,
            deleted,
            done: false,
        }
    }

    /// Fills the peeked pair of `end`; an error ends the iteration.
    fn peek(&mut self, end: End) -> Result<()> {
        let (slot, other) = match end {
            End::Front => (&mut self.front, &mut self.back),
            End::Back => (&mut self.back, &mut self.front),
        };
        if slot.is_some() {
            return Ok(());
        }
        let deleted = &self.deleted;
        let next = loop {
            let next = match end {
                End::Front => self.base.next(),
                End::Back => self.base.next_back(),
            };
            match &next {
                Some(Ok((key, _))) if deleted.iter().any(|(lo, hi)| covers(lo, hi, key)) => {}
                _ => break next,
            }
        };
        *slot = match next {
            Some(kv) => Some(kv?),
            None => other.take(),
        };
        Ok(())
    }

    fn step(&mut self, end: End) -> Option<Result<(Key, Value)>> {
        while !self.done {
            if let Err(e) = self.peek(end) {
                self.done = true;
                return Some(Err(e));
            }
            let peeked = match end {
                End::Front => &mut self.front,
                End::Back => &mut self.back,
            };
            let own = match end {
                End::Front => self.own.front(),
                End::Back => self.own.back(),
            };
            let take_own = match (peeked.as_ref(), own) {
                (None, None) => return None,
                (Some(_), None) => false,
                (None, Some(_)) => true,
                (Some((base, _)), Some((mine, _))) => match end {
                    End::Front => mine <= base,
                    End::Back => mine >= base,
                },
            };
            if !take_own {
                return peeked.take().map(Ok);
            }
            let popped = match end {
                End::Front => self.own.pop_front(),
                End::Back => self.own.pop_back(),
            };
            let (key, value) = popped?;
            // The own write shadows the snapshot's pair of the same key.
            if peeked.as_ref().is_some_and(|(base, _)| *base == key) {
                *peeked = None;
            }
            if let Some(value) = value {
                return Some(Ok((key, Value::owned(value))));
            }
        }
        None
    }
}

/// Whether `key` lies between `lower` and `upper`.
pub(crate) fn covers(lower: &Bound<Vec<u8>>, upper: &Bound<Vec<u8>>, key: &[u8]) -> bool {
    let above = match lower {
        Bound::Included(l) => key >= l.as_slice(),
        Bound::Excluded(l) => key > l.as_slice(),
        Bound::Unbounded => true,
    };
    let below = match upper {
        Bound::Included(u) => key <= u.as_slice(),
        Bound::Excluded(u) => key < u.as_slice(),
        Bound::Unbounded => true,
    };
    above && below
}

impl Iterator for TxIter {
    type Item = Result<(Key, Value)>;

    fn next(&mut self) -> Option<Self::Item> {
        self.step(End::Front)
    }
}

impl DoubleEndedIterator for TxIter {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.step(End::Back)
    }
}
