//! `ConflictHistory`: the keys written recently, with the sequence number of their
//! last write, kept only while a transaction is open that could conflict with them.
//!
//! Every write (transactional or not) passes through [`ConflictHistory::lock`] under
//! the WAL's lock, where batches are numbered: that is the ordering point. There a
//! committing transaction is validated against the writes numbered before it, and
//! every batch's keys are recorded with its sequence number. So validation sees
//! exactly the writes ordered before the commit, and none can slip in between.
//!
//! Invariant: every write with a sequence number above `forgotten` is in the history.
//! A transaction whose snapshot is at or above `forgotten` can therefore be validated
//! from the history alone; one below it cannot, and its commit reports a conflict.
//!
//! Memory: entries at or below the oldest open transaction's start are dropped when a
//! transaction ends; with no transaction open the history is empty and writes record
//! nothing (they only raise `forgotten`). A transaction left open pins the entries
//! written since it began, up to `limit` bytes; past the limit the oldest entries are
//! dropped (raising `forgotten`), so that transaction will fail to commit.

use std::cell::Cell;
use std::collections::VecDeque;
use std::ops::Bound;
use std::sync::{Mutex, MutexGuard};

use quickcache_memtable::{BatchKind, WriteBatch};
use quickcache_sstable::KeyspaceId;

use crate::error::Error;
use crate::inner::lock;

mod open;
mod written;

use open::OpenStarts;
use written::Written;

/// Bytes charged per entry on top of its key (stored once, shared): its log slot,
/// its hash-map entry and, while ranges are validated, its tree entry.
const ENTRY_OVERHEAD: usize = 128;

/// A key read or written in one keyspace.
pub(crate) type KsKey = (KeyspaceId, Vec<u8>);

/// A key range scanned in one keyspace.
#[derive(Debug, Clone)]
pub(crate) struct KsRange {
    pub(crate) keyspace: KeyspaceId,
    pub(crate) lower: Bound<Vec<u8>>,
    pub(crate) upper: Bound<Vec<u8>>,
}

/// What a transaction read and wrote, checked at commit: it conflicts if any of it
/// was written after `start`.
#[derive(Debug)]
pub(crate) struct Validation<'a> {
    /// The sequence number the transaction read at.
    pub(crate) start: u64,
    pub(crate) points: &'a [KsKey],
    pub(crate) ranges: &'a [KsRange],
    /// The ranges it deletes: written, so checked as scanned ranges are.
    pub(crate) deleted: &'a [KsRange],
    /// The keys it writes, by keyspace.
    pub(crate) writes: Vec<(KeyspaceId, &'a [u8])>,
    /// The names of the keyspaces it touched, for the error.
    pub(crate) names: Vec<(KeyspaceId, &'a str)>,
    /// The sequence number of the write a failed validation met, set by
    /// [`Validation::error`]: the commit waits for it to be visible before it reports
    /// the conflict (see `Transaction::commit_with`).
    pub(crate) lost_to: Cell<Option<u64>>,
}

impl Validation<'_> {
    /// The error reporting `conflict` to the user; notes the write it lost to.
    pub(crate) fn error(&self, conflict: Conflict) -> Error {
        if let Conflict::Key { seqno, .. } = conflict {
            self.lost_to.set(Some(seqno));
        }
        match conflict {
            Conflict::Key {
                keyspace,
                key,
                seqno,
            } => {
                let name = self.names.iter().find(|(id, _)| *id == keyspace);
                Error::Conflict {
                    keyspace: name.map_or("default", |(_, n)| n).to_owned(),
                    key: Some(key),
                    reason: format!(
                        "written at seqno {seqno}, after the transaction's snapshot at {}",
                        self.start
                    ),
                }
            }
            Conflict::Forgotten { forgotten } => Error::Conflict {
                keyspace: String::new(),
                key: None,
                reason: format!(
                    "the conflict history was trimmed to seqno {forgotten}, past the transaction's snapshot at {} (open too long: see Options::transaction_history_bytes)",
                    self.start
                ),
            },
        }
    }
}

/// Why a transaction may not commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Conflict {
    /// `key` of `keyspace` was written at `seqno`, after the transaction began.
    Key {
        keyspace: KeyspaceId,
        key: Vec<u8>,
        seqno: u64,
    },
    /// The history no longer reaches back to the transaction's start.
    Forgotten { forgotten: u64 },
}

/// The shared history. `Send + Sync`; its lock is taken under the WAL's lock by
/// writers and alone by transactions beginning and ending.
#[derive(Debug)]
pub(crate) struct ConflictHistory {
    state: Mutex<State>,
    limit: usize,
}

/// The history's contents, behind its lock.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// Open transactions by registered start, counted.
    open: OpenStarts,
    /// The highest sequence number of a write that is not (or no longer) recorded.
    forgotten: u64,
    /// Recorded writes: in sequence-number order and by key.
    written: Written,
    /// Recorded range deletes `[start, end)`, in sequence-number order: a range
    /// delete writes every key of its range. Each also has its start in `written`,
    /// whose trimming decides when it goes (see [`State::trim`]). Rare, so searched
    /// linearly.
    ranges: VecDeque<(u64, KeyspaceId, Vec<u8>, Vec<u8>)>,
    bytes: usize,
}

impl ConflictHistory {
    /// An empty history that holds at most about `limit` bytes.
    pub(crate) fn new(limit: usize) -> Self {
        ConflictHistory {
            state: Mutex::new(State::default()),
            limit,
        }
    }

    /// The history, locked: writers hold it while they number a batch.
    pub(crate) fn lock(&self) -> Guard<'_> {
        Guard {
            state: lock(&self.state),
            limit: self.limit,
        }
    }

    /// Registers a transaction beginning at `visible()` (read under the lock, so no
    /// write can be skipped in between). Returns its registered start and the
    /// sequence number its snapshot must reach to be validated from the history.
    pub(crate) fn begin(&self, visible: impl FnOnce() -> u64) -> (u64, u64) {
        let mut state = lock(&self.state);
        let start = visible();
        state.open.add(start);
        (start, state.forgotten.max(start))
    }

    /// Ends a transaction registered at `start`, dropping what no open one needs.
    pub(crate) fn end(&self, start: u64) {
        let mut state = lock(&self.state);
        state.open.remove(start);
        match state.open.oldest() {
            Some(oldest) => state.trim(|seqno, _| seqno <= oldest),
            None => state.trim(|_, _| true),
        }
    }

    /// Figures for tests and stats: open transactions and recorded entries.
    pub(crate) fn sizes(&self) -> (usize, usize) {
        let state = lock(&self.state);
        (state.open.count(), state.written.len())
    }
}

/// The locked history.
pub(crate) struct Guard<'a> {
    state: MutexGuard<'a, State>,
    limit: usize,
}

impl Guard<'_> {
    /// Checks `tx` against every write recorded so far.
    pub(crate) fn validate(&mut self, tx: &Validation<'_>) -> Result<(), Conflict> {
        let state = &mut *self.state;
        if !(tx.ranges.is_empty() && tx.deleted.is_empty()) {
            state.written.order();
        }
        let state = &*state;
        if state.forgotten > tx.start {
            return Err(Conflict::Forgotten {
                forgotten: state.forgotten,
            });
        }
        let written = |keyspace: KeyspaceId, key: &[u8]| {
            let seqno = state.written.last(keyspace, key)?;
            (seqno > tx.start).then(|| Conflict::Key {
                keyspace,
                key: key.to_vec(),
                seqno,
            })
        };
        let points = tx.points.iter().map(|(ks, k)| (*ks, k.as_slice()));
        for (keyspace, key) in points.chain(tx.writes.iter().copied()) {
            if let Some(conflict) = written(keyspace, key) {
                return Err(conflict);
            }
            if let Some(conflict) = state.range_deleted(
                tx.start,
                keyspace,
                Bound::Included(key),
                Bound::Included(key),
            ) {
                return Err(conflict);
            }
        }
        for range in tx.ranges.iter().chain(tx.deleted) {
            // An empty range reads (or deletes) no key, so nothing written conflicts
            // with it, a range delete around its bounds included.
            if empty(&range.lower, &range.upper) {
                continue;
            }
            let (lo, hi) = (as_slice(&range.lower), as_slice(&range.upper));
            if let Some(conflict) = state.range_deleted(tx.start, range.keyspace, lo, hi) {
                return Err(conflict);
            }
            let bounds = (as_slice(&range.lower), as_slice(&range.upper));
            if let Some((key, seqno)) = state.written.first_in(range.keyspace, bounds, tx.start) {
                return Err(Conflict::Key {
                    keyspace: range.keyspace,
                    key,
                    seqno,
                });
            }
        }
        Ok(())
    }

    /// Records `batch`'s keys as written at `seqno` (its last sequence number), or
    /// with no transaction open only remembers that writes up to `seqno` were not
    /// recorded.
    pub(crate) fn record(&mut self, batch: &WriteBatch, seqno: u64) {
        let state = &mut *self.state;
        if state.open.is_empty() {
            state.forgotten = state.forgotten.max(seqno);
            return;
        }
        for entry in batch.iter() {
            state.bytes += entry.key.len() + ENTRY_OVERHEAD;
            if entry.kind == BatchKind::DeleteRange {
                state.bytes += entry.key.len() + entry.value.len();
                let (key, end) = (entry.key.to_vec(), entry.value.to_vec());
                state.ranges.push_back((seqno, entry.keyspace, key, end));
            }
            state.written.record(seqno, entry.keyspace, entry.key);
        }
        if state.bytes > self.limit {
            let limit = self.limit;
            state.trim(|_, bytes| bytes > limit / 2);
        }
    }
}

impl Guard<'_> {
    /// Notes that writes up to `seqno` changed keys the history cannot list (an
    /// ingest of whole tables): every transaction open now fails to validate, as
    /// after an overflow, rather than commit over data it did not see.
    pub(crate) fn forget_through(&mut self, seqno: u64) {
        let state = &mut *self.state;
        state.forgotten = state.forgotten.max(seqno);
    }
}

impl State {
    /// Drops entries from the oldest while `drop(seqno, bytes held)` says so.
    fn trim(&mut self, drop: impl Fn(u64, usize) -> bool) {
        while let Some(seqno) = self.written.oldest() {
            if !drop(seqno, self.bytes) {
                break;
            }
            let Some((seqno, key_len)) = self.written.pop_oldest() else {
                break;
            };
            self.bytes = self.bytes.saturating_sub(key_len + ENTRY_OVERHEAD);
            self.forgotten = self.forgotten.max(seqno);
        }
        // A range's start went with the log: the range is below `forgotten` too.
        while self.ranges.front().is_some_and(|r| r.0 <= self.forgotten) {
            self.ranges.pop_front();
        }
        if self.written.len() == 0 {
            self.written.clear();
            self.ranges.clear();
            self.bytes = 0;
        }
    }

    /// A conflict if a range delete recorded after `start` in `keyspace` meets the
    /// keys from `lo` to `hi`.
    fn range_deleted(
        &self,
        start: u64,
        keyspace: KeyspaceId,
        lo: Bound<&[u8]>,
        hi: Bound<&[u8]>,
    ) -> Option<Conflict> {
        let meets = |from: &[u8], to: &[u8]| {
            let below_end = match lo {
                Bound::Included(l) | Bound::Excluded(l) => l < to,
                Bound::Unbounded => true,
            };
            let above_start = match hi {
                Bound::Included(h) => h >= from,
                Bound::Excluded(h) => h > from,
                Bound::Unbounded => true,
            };
            below_end && above_start
        };
        let hit = self.ranges.iter().rev().take_while(|r| r.0 > start);
        let found = hit
            .filter(|r| r.1 == keyspace)
            .find(|r| meets(&r.2, &r.3))?;
        Some(Conflict::Key {
            keyspace,
            key: found.2.clone(),
            seqno: found.0,
        })
    }
}

fn as_slice(bound: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match bound {
        Bound::Included(k) => Bound::Included(k.as_slice()),
        Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// Whether the bounds hold no key (`BTreeMap::range` panics on some of these).
pub(crate) fn empty(lower: &Bound<Vec<u8>>, upper: &Bound<Vec<u8>>) -> bool {
    match (lower, upper) {
        (Bound::Included(l), Bound::Included(u)) => l > u,
        (Bound::Included(l) | Bound::Excluded(l), Bound::Excluded(u))
        | (Bound::Excluded(l), Bound::Included(u)) => l >= u,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(keys: &[&str]) -> WriteBatch {
        let mut batch = WriteBatch::new();
        for k in keys {
            batch.put(k.as_bytes(), b"v").unwrap();
        }
        batch
    }

    fn reads(start: u64, points: &[KsKey]) -> Validation<'_> {
        Validation {
            start,
            points,
            ranges: &[],
            deleted: &[],
            writes: Vec::new(),
            names: Vec::new(),
            lost_to: Cell::new(None),
        }
    }

    fn key(k: &str) -> KsKey {
        (KeyspaceId::DEFAULT, k.as_bytes().to_vec())
    }

    #[test]
    fn with_no_transaction_open_writes_are_only_counted_as_forgotten() {
        let history = ConflictHistory::new(1 << 20);
        history.lock().record(&batch(&["a"]), 7);
        assert_eq!(history.sizes(), (0, 0));
        // A transaction beginning at 5 must wait for seqno 7 before its snapshot.
        assert_eq!(history.begin(|| 5), (5, 7));
    }

    #[test]
    fn only_writes_after_the_start_conflict_and_the_key_is_named() {
        let history = ConflictHistory::new(1 << 20);
        let (start, _) = history.begin(|| 10);
        history.lock().record(&batch(&["a"]), 11);
        let (a, b) = ([key("a")], [key("b")]);
        assert!(history.lock().validate(&reads(start, &b)).is_ok());
        let conflict = history.lock().validate(&reads(start, &a)).unwrap_err();
        assert_eq!(
            conflict,
            Conflict::Key {
                keyspace: KeyspaceId::DEFAULT,
                key: b"a".to_vec(),
                seqno: 11
            }
        );
        assert!(history.lock().validate(&reads(11, &a)).is_ok());
    }

    #[test]
    fn ranges_see_keys_inside_them_only() {
        let history = ConflictHistory::new(1 << 20);
        let (start, _) = history.begin(|| 1);
        history.lock().record(&batch(&["m"]), 2);
        let range = |lower: &str, upper: &str| KsRange {
            keyspace: KeyspaceId::DEFAULT,
            lower: Bound::Included(lower.as_bytes().to_vec()),
            upper: Bound::Excluded(upper.as_bytes().to_vec()),
        };
        let check = |r: KsRange| {
            let ranges = [r];
            let tx = Validation {
                ranges: &ranges,
                deleted: &[],
                ..reads(start, &[])
            };
            history.lock().validate(&tx).is_err()
        };
        assert!(check(range("a", "z")));
        assert!(!check(range("a", "m")));
        assert!(!check(range("n", "z")));
        assert!(!check(range("z", "a")), "a reversed range holds nothing");
    }

    /// Found by the transaction model test: a scan of an empty range conflicted with
    /// a range delete around its bounds, although it read no key.
    #[test]
    fn an_empty_range_never_meets_a_range_delete() {
        let history = ConflictHistory::new(1 << 20);
        let (start, _) = history.begin(|| 1);
        let mut deletes = WriteBatch::new();
        (deletes.delete_range_in(KeyspaceId::DEFAULT, b"b", b"y")).unwrap();
        history.lock().record(&deletes, 2);
        let check = |lower: &str, upper: &str| {
            let ranges = [KsRange {
                keyspace: KeyspaceId::DEFAULT,
                lower: Bound::Included(lower.as_bytes().to_vec()),
                upper: Bound::Excluded(upper.as_bytes().to_vec()),
            }];
            let tx = Validation {
                ranges: &ranges,
                deleted: &[],
                ..reads(start, &[])
            };
            history.lock().validate(&tx).is_err()
        };
        assert!(!check("m", "m"), "an empty range reads no key");
        assert!(check("m", "n"));
    }

    #[test]
    fn ending_trims_to_the_oldest_open_transaction_and_empties_with_none() {
        let history = ConflictHistory::new(1 << 20);
        let (old, _) = history.begin(|| 1);
        history.lock().record(&batch(&["a"]), 2);
        let (young, _) = history.begin(|| 2);
        history.lock().record(&batch(&["b"]), 3);
        assert_eq!(history.sizes(), (2, 2));
        history.end(old);
        assert_eq!(
            history.sizes(),
            (1, 1),
            "seqno 2 is at the young one's start"
        );
        history.end(young);
        assert_eq!(history.sizes(), (0, 0));
        assert_eq!(history.begin(|| 3), (3, 3));
    }

    #[test]
    fn past_the_limit_old_entries_go_and_old_transactions_conflict() {
        let history = ConflictHistory::new(1_000);
        let (start, _) = history.begin(|| 1);
        for seqno in 2..40 {
            history.lock().record(&batch(&["some key"]), seqno);
        }
        assert!(history.sizes().1 < 38);
        let conflict = history.lock().validate(&reads(start, &[])).unwrap_err();
        assert!(matches!(conflict, Conflict::Forgotten { forgotten } if forgotten > start));
    }
}
