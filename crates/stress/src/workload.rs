//! Random workloads: what an operation is, how one is drawn from a seed, how it runs
//! against a [`Db`], what it does to the model, and its one-line text form (the
//! oracle files of the kill test hold these lines).

use std::collections::BTreeMap;
use std::time::Duration;

use quickcache::{Db, Durability, Keyspace, WriteBatch, WriteOptions};

use crate::rng::Rng;

mod features;
mod text;

pub use features::{checkpoint_dir, side_dir};

/// The expected contents of a database: key to value.
pub type Model = BTreeMap<Vec<u8>, Vec<u8>>;

/// One entry of a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// Set `key` to the value [`value`]`(tag, len)`.
    Put {
        /// The key.
        key: Vec<u8>,
        /// Names the value: unique per operation and entry.
        tag: u64,
        /// The value's length.
        len: usize,
    },
    /// Delete `key`.
    Delete {
        /// The key.
        key: Vec<u8>,
    },
    /// Delete every key in `start..end` (one range tombstone).
    DeleteRange {
        /// The first key deleted.
        start: Vec<u8>,
        /// The first key past the range.
        end: Vec<u8>,
    },
    /// Set `key` to [`value`]`(tag, len)` with a time to live: [`LONG_TTL`], which
    /// outlasts any run (the put reads as a plain put), or, if `expired`, zero (the
    /// value has expired when the write returns, so the put reads as a delete: it
    /// hides the key's older values, through flushes, compactions and recovery).
    PutTtl {
        /// The key.
        key: Vec<u8>,
        /// Names the value, as for [`Edit::Put`].
        tag: u64,
        /// The value's length.
        len: usize,
        /// Whether the time to live is zero rather than [`LONG_TTL`].
        expired: bool,
    },
}

/// The time to live of an [`Edit::PutTtl`] that is not `expired`: a day.
pub const LONG_TTL: Duration = Duration::from_secs(24 * 3600);

impl Edit {
    /// The key written.
    pub fn key(&self) -> &[u8] {
        match self {
            Edit::Put { key, .. } | Edit::Delete { key } | Edit::PutTtl { key, .. } => key,
            Edit::DeleteRange { start, .. } => start,
        }
    }

    /// Adds the edit to `batch`, in `keyspace` (`None`: the default one).
    pub fn add_to(&self, batch: &mut WriteBatch, keyspace: Option<&Keyspace>) {
        let key = self.key();
        let _ = match (self, keyspace) {
            (Edit::Put { tag, len, .. }, None) => batch.put(key, value(*tag, *len)),
            (Edit::Put { tag, len, .. }, Some(k)) => batch.put_in(k, key, value(*tag, *len)),
            (Edit::Delete { .. }, None) => batch.delete(key),
            (Edit::Delete { .. }, Some(k)) => batch.delete_in(k, key),
            (Edit::DeleteRange { start, end }, None) => {
                batch.delete_range(start.clone()..end.clone())
            }
            (Edit::DeleteRange { start, end }, Some(k)) => {
                batch.delete_range_in(k, start.clone()..end.clone())
            }
            (
                Edit::PutTtl {
                    tag, len, expired, ..
                },
                k,
            ) => {
                let ttl = if *expired { Duration::ZERO } else { LONG_TTL };
                match k {
                    None => batch.put_with_ttl(key, value(*tag, *len), ttl),
                    Some(k) => batch.put_in_with_ttl(k, key, value(*tag, *len), ttl),
                }
            }
        };
    }

    /// Applies the edit to `model`.
    pub fn apply_to(&self, model: &mut Model) {
        match self {
            Edit::Put { key, tag, len }
            | Edit::PutTtl {
                key,
                tag,
                len,
                expired: false,
            } => {
                model.insert(key.clone(), value(*tag, *len));
            }
            Edit::Delete { key } | Edit::PutTtl { key, .. } => {
                model.remove(key);
            }
            Edit::DeleteRange { start, end } => model.retain(|k, _| !(start..end).contains(&k)),
        }
    }
}

/// One operation of a workload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// An atomic batch (a single put or delete is a batch of one).
    Write {
        /// Its entries, applied in order.
        edits: Vec<Edit>,
        /// Its durability.
        durability: Durability,
    },
    /// `Db::sync`.
    Sync,
    /// `Db::flush`.
    Flush,
    /// `Db::compact_range(..)`.
    Compact,
    /// A transaction (`Db::transaction`) that puts and deletes `edits` and commits at
    /// the default durability.
    Transaction {
        /// Its puts and deletes, applied in order.
        edits: Vec<Edit>,
    },
    /// `Db::checkpoint` into `<side>/cp-<id>` ([`side_dir`]).
    Checkpoint {
        /// Names the destination: unique in a workload.
        id: u64,
    },
    /// `ingest` of one table holding `entries` (puts of ascending keys, all in one
    /// keyspace, [`keyspace_of`]), built at `<side>/in-<id>.sst` by [`Op::prepare`].
    Ingest {
        /// Names the table file: unique in a workload.
        id: u64,
        /// Its entries.
        entries: Vec<Edit>,
    },
}

/// The value named by `tag`, `len` bytes long: starts with the tag (so a value found
/// in the wrong place names where it came from) and is filled from it.
pub fn value(tag: u64, len: usize) -> Vec<u8> {
    let mut v = format!("{tag}:").into_bytes();
    let mut rng = Rng::new(tag);
    while v.len() < len {
        v.push(b'a' + rng.below(26) as u8);
    }
    v.truncate(len.max(1));
    v
}

/// The key numbered `n`.
pub fn key(n: u64) -> Vec<u8> {
    format!("k{n:05}").into_bytes()
}

/// How workloads are drawn.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Keys are drawn from `key(0)..key(keys)`.
    pub keys: u64,
    /// Values are up to this long, except for the rare large one.
    pub max_value: usize,
    /// One write in this many carries a value over 64 KiB (0: never).
    pub large_one_in: u64,
    /// One write in this many is synced.
    pub synced_one_in: u64,
    /// One write in this many is buffered (0: never).
    pub buffered_one_in: u64,
    /// One operation in this many is a sync, a flush or a compaction (0: never).
    pub maintenance_one_in: u64,
    /// One operation in this many is a transaction, a checkpoint or an ingest (0:
    /// never, and then a seed draws the workload it drew before they existed).
    pub features_one_in: u64,
}

impl Shape {
    /// Small workloads that reach flushes and compactions with a small memtable.
    pub fn small() -> Shape {
        Shape {
            keys: 64,
            max_value: 300,
            large_one_in: 0,
            synced_one_in: 5,
            buffered_one_in: 12,
            maintenance_one_in: 15,
            features_one_in: 0,
        }
    }
}

/// Draws operation number `index` of a workload.
pub fn draw(rng: &mut Rng, shape: &Shape, index: u64) -> Op {
    if shape.maintenance_one_in > 0 && rng.one_in(shape.maintenance_one_in) {
        return match rng.below(4) {
            0 | 1 => Op::Sync,
            2 => Op::Flush,
            _ => Op::Compact,
        };
    }
    if shape.features_one_in > 0 && rng.one_in(shape.features_one_in) {
        return features::draw(rng, shape, index);
    }
    let entries = if rng.one_in(3) { 2 + rng.below(5) } else { 1 };
    let edits = (0..entries)
        .map(|e| {
            let n = rng.below(shape.keys);
            let key = key(n);
            if rng.one_in(30) {
                let end = self::key(n + 1 + rng.below(8));
                return Edit::DeleteRange { start: key, end };
            }
            if rng.one_in(5) {
                return Edit::Delete { key };
            }
            let len = if shape.large_one_in > 0 && rng.one_in(shape.large_one_in) {
                (64 << 10) + 1 + rng.below(8 << 10) as usize
            } else {
                1 + rng.below(shape.max_value as u64) as usize
            };
            let tag = index * 64 + e;
            if rng.one_in(6) {
                let expired = rng.one_in(3);
                return Edit::PutTtl {
                    key,
                    tag,
                    len,
                    expired,
                };
            }
            Edit::Put { key, tag, len }
        })
        .collect();
    let durability = if rng.one_in(shape.synced_one_in.max(1)) {
        Durability::Synced
    } else if shape.buffered_one_in > 0 && rng.one_in(shape.buffered_one_in) {
        Durability::Buffered
    } else {
        Durability::Os
    };
    Op::Write { edits, durability }
}

/// A whole workload of `ops` operations drawn from `seed`.
pub fn generate(seed: u64, shape: &Shape, ops: usize) -> Vec<Op> {
    let mut rng = Rng::new(seed);
    (0..ops as u64).map(|i| draw(&mut rng, shape, i)).collect()
}

/// The keyspaces a spread workload writes besides the default one
/// ([`Op::run_spread`]).
pub const KEYSPACES: [&str; 2] = ["a", "b"];

/// The keyspace a spread workload writes `key` to: `None` for the default one, else
/// an index into [`KEYSPACES`]. Fixed by the key (its last byte), so each key lives in
/// one keyspace and the model stays one map.
pub fn keyspace_of(key: &[u8]) -> Option<usize> {
    let last = key.last().copied().unwrap_or(0);
    (usize::from(last) % 3).checked_sub(1)
}

impl Op {
    /// Runs the operation with each entry in the keyspace [`keyspace_of`] its key
    /// names (created on first use), so a batch of several keys spans keyspaces. A
    /// flush and a sync cover every keyspace; a compaction is the default one's.
    ///
    /// # Errors
    /// The database's error, unchanged.
    pub fn run_spread(&self, db: &Db) -> quickcache::Result<()> {
        let Op::Write { edits, durability } = self else {
            return features::run(self, db, true);
        };
        let handles = KEYSPACES
            .iter()
            .map(|name| db.keyspace(name))
            .collect::<quickcache::Result<Vec<_>>>()?;
        let mut batch = WriteBatch::new();
        for edit in edits {
            // Keys of a range live in every keyspace: delete it from all of them.
            if let Edit::DeleteRange { start, end } = edit {
                batch.delete_range(start.clone()..end.clone());
                for k in &handles {
                    batch.delete_range_in(k, start.clone()..end.clone());
                }
                continue;
            }
            let handle = keyspace_of(edit.key()).and_then(|i| handles.get(i));
            edit.add_to(&mut batch, handle);
        }
        let options = WriteOptions {
            durability: Some(*durability),
            ..WriteOptions::default()
        };
        db.write_with(batch, &options)
    }

    /// Runs the operation.
    ///
    /// # Errors
    /// The database's error, unchanged.
    pub fn run(&self, db: &Db) -> quickcache::Result<()> {
        match self {
            Op::Write { edits, durability } => {
                let mut batch = WriteBatch::new();
                for edit in edits {
                    edit.add_to(&mut batch, None);
                }
                let options = WriteOptions {
                    durability: Some(*durability),
                    ..WriteOptions::default()
                };
                db.write_with(batch, &options)
            }
            Op::Sync => db.sync(),
            Op::Flush => db.flush(),
            Op::Compact => db.compact_range(..),
            Op::Transaction { .. } | Op::Checkpoint { .. } | Op::Ingest { .. } => {
                features::run(self, db, false)
            }
        }
    }

    /// Applies the operation to the model.
    pub fn apply(&self, model: &mut Model) {
        if let Op::Write { edits, .. }
        | Op::Transaction { edits }
        | Op::Ingest { entries: edits, .. } = self
        {
            for edit in edits {
                edit.apply_to(model);
            }
        }
    }

    /// Whether a successful return makes this operation and every one before it
    /// survive a power loss (docs/durability.md: synced writes, `sync`).
    pub fn makes_durable(&self) -> bool {
        matches!(
            self,
            Op::Sync
                | Op::Write {
                    durability: Durability::Synced,
                    ..
                }
        )
    }

    /// Whether a successful return makes this operation survive a process crash (every
    /// level but buffered; maintenance changes no contents).
    pub fn survives_process_crash(&self) -> bool {
        !matches!(
            self,
            Op::Write {
                durability: Durability::Buffered,
                ..
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_named_by_their_tag() {
        assert_eq!(value(7, 20), value(7, 20));
        assert!(value(7, 20).starts_with(b"7:"));
        assert_eq!(value(12345, 3).len(), 3);
        assert_eq!(value(1, 70_000).len(), 70_000);
    }

    /// With `features_one_in` 0 a seed draws what it drew before the newer operations
    /// existed (recorded power-loss seeds replay): none of them, and `draw` takes no
    /// random number for them. The first operation of seed 1 is pinned so a change of
    /// the draw order shows here.
    #[test]
    fn features_off_draws_the_older_workload() {
        let ops = generate(1, &Shape::small(), 40);
        assert!(
            ops.iter()
                .all(|op| matches!(op, Op::Write { .. } | Op::Sync | Op::Flush | Op::Compact))
        );
        assert_eq!(ops[0].to_line(), FIRST_OP_OF_SEED_1);
    }

    /// `generate(1, &Shape::small(), 1)`, pinned when the newer operations came in.
    const FIRST_OP_OF_SEED_1: &str = "W s P k00005 0 66 D k00009";
}
