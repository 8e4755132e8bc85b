#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail by panicking")]
//! Random interleavings of up to three open transactions and plain writes, checked
//! against a serial model: every read and scan a transaction makes matches its
//! snapshot plus its own writes; a commit succeeds exactly when nothing it read,
//! wrote or scanned was written since it began; each committed transaction's reads
//! still hold at its commit point (so running it alone there gives the same result:
//! serializable); and the database ends equal to the committed writes applied in
//! commit order. Tiny memtables make flushes and compactions happen under open
//! transactions. Range deletes, in transactions and plain, are modelled as deletes of
//! every key of the (small) key universe inside the range: the same state, and the
//! same conflicts, since the overlap of two ranges with ends in the universe holds a
//! key of it.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use quickcache::fs::SimFs;
use quickcache::{Db, Options, Transaction};
use quickcheck::{Arbitrary, Gen, QuickCheck};

const SLOTS: u8 = 3;
const KEYS: u8 = 8;

#[derive(Debug, Clone)]
enum Op {
    Begin(u8),
    Get(u8, u8),
    Scan(u8, u8, u8, bool),
    Put(u8, u8, u8),
    Delete(u8, u8),
    DeleteRange(u8, u8, u8),
    Commit(u8),
    Rollback(u8),
    PlainPut(u8, u8),
    PlainDelete(u8),
    PlainDeleteRange(u8, u8),
    Flush,
    Compact,
}

impl Arbitrary for Op {
    fn arbitrary(g: &mut Gen) -> Op {
        let slot = |g: &mut Gen| u8::arbitrary(g) % SLOTS;
        let key = |g: &mut Gen| u8::arbitrary(g) % KEYS;
        match u8::arbitrary(g) % 24 {
            0..=2 => Op::Begin(slot(g)),
            3..=6 => Op::Get(slot(g), key(g)),
            7..=8 => Op::Scan(slot(g), key(g), key(g), bool::arbitrary(g)),
            9..=11 => Op::Put(slot(g), key(g), u8::arbitrary(g)),
            12 => Op::Delete(slot(g), key(g)),
            13..=15 => Op::Commit(slot(g)),
            16 => Op::Rollback(slot(g)),
            17..=18 => Op::PlainPut(key(g), u8::arbitrary(g)),
            19 => Op::PlainDelete(key(g)),
            20 => Op::Flush,
            21 => Op::Compact,
            22 => Op::DeleteRange(slot(g), key(g), key(g)),
            _ => Op::PlainDeleteRange(key(g), key(g)),
        }
    }
}

fn k(key: u8) -> Vec<u8> {
    format!("key{key}").into_bytes()
}

/// The keys `key{a}..key{b}` (in either order) delete: the universe's keys in it.
fn deleted(a: u8, b: u8) -> BTreeMap<Vec<u8>, Option<Vec<u8>>> {
    (a.min(b)..a.max(b)).map(|key| (k(key), None)).collect()
}

type State = BTreeMap<Vec<u8>, Vec<u8>>;

/// The serial model: the committed state, and the step at which each key was last
/// written (every committed batch is one step).
#[derive(Default)]
struct Model {
    state: State,
    written: BTreeMap<Vec<u8>, u64>,
    step: u64,
}

impl Model {
    fn apply(&mut self, writes: &BTreeMap<Vec<u8>, Option<Vec<u8>>>) {
        self.step += 1;
        for (key, value) in writes {
            match value {
                Some(v) => self.state.insert(key.clone(), v.clone()),
                None => self.state.remove(key),
            };
            self.written.insert(key.clone(), self.step);
        }
    }

    fn changed_since(&self, key: &[u8], step: u64) -> bool {
        self.written.get(key).is_some_and(|s| *s > step)
    }
}

/// A model transaction beside the real one.
struct ModelTx {
    begun: u64,
    snapshot: State,
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// Keys read from the snapshot, with what was read.
    reads: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    ranges: Vec<(Vec<u8>, Vec<u8>)>,
}

impl ModelTx {
    fn view(&self) -> State {
        let mut view = self.snapshot.clone();
        for (key, value) in &self.writes {
            match value {
                Some(v) => view.insert(key.clone(), v.clone()),
                None => view.remove(key),
            };
        }
        view
    }

    fn conflicts(&self, model: &Model) -> bool {
        let keys = self.reads.iter().map(|(k, _)| k).chain(self.writes.keys());
        let touched = keys.clone().any(|k| model.changed_since(k, self.begun));
        let in_range = self.ranges.iter().any(|(lo, hi)| {
            (model
                .written
                .range::<Vec<u8>, _>((Bound::Included(lo), Bound::Excluded(hi))))
            .any(|(_, s)| *s > self.begun)
        });
        touched || in_range
    }
}

fn run(ops: Vec<Op>) -> bool {
    let fs = Arc::new(SimFs::new(7));
    let options = Options {
        memtable_size: 2 << 10,
        l0_compaction_trigger: 2,
        table_size: 2 << 10,
        base_level_size: 8 << 10,
        flush_interval: None,
        fs: fs.clone(),
        ..Options::default()
    };
    let db = Db::open_with("/db", options).unwrap();
    let mut model = Model::default();
    let mut open: Vec<Option<(Transaction, ModelTx)>> = (0..SLOTS).map(|_| None).collect();
    for op in ops {
        step(&db, &mut model, &mut open, op);
    }
    let all: State = db
        .iter()
        .map(|kv| kv.map(|(k, v)| (k, v.to_vec())).unwrap())
        .collect();
    all == model.state
}

fn step(db: &Db, model: &mut Model, open: &mut [Option<(Transaction, ModelTx)>], op: Op) {
    let slot = |s: u8| usize::from(s);
    match op {
        Op::Begin(s) => {
            let model_tx = ModelTx {
                begun: model.step,
                snapshot: model.state.clone(),
                writes: BTreeMap::new(),
                reads: Vec::new(),
                ranges: Vec::new(),
            };
            open[slot(s)] = Some((db.transaction(), model_tx));
        }
        Op::Get(s, key) => {
            let Some((tx, m)) = &mut open[slot(s)] else {
                return;
            };
            let got = tx.get(k(key)).unwrap().map(|v| v.to_vec());
            assert_eq!(got, m.view().get(&k(key)).cloned(), "get {key}");
            if !m.writes.contains_key(&k(key)) {
                m.reads.push((k(key), got));
            }
        }
        Op::Scan(s, a, b, rev) => {
            let Some((tx, m)) = &mut open[slot(s)] else {
                return;
            };
            let (lo, hi) = (k(a.min(b)), k(a.max(b)));
            let iter = tx.range(lo.clone()..hi.clone());
            let got: Vec<_> = if rev {
                iter.rev().map(|kv| kv.unwrap().0).collect()
            } else {
                iter.map(|kv| kv.unwrap().0).collect()
            };
            let mut expected: Vec<_> = m
                .view()
                .range(lo.clone()..hi.clone())
                .map(|(k, _)| k.clone())
                .collect();
            if rev {
                expected.reverse();
            }
            assert_eq!(got, expected, "scan {a}..{b}");
            m.ranges.push((lo, hi));
        }
        Op::Put(s, key, value) => {
            let Some((tx, m)) = &mut open[slot(s)] else {
                return;
            };
            tx.put(k(key), [value]);
            m.writes.insert(k(key), Some(vec![value]));
        }
        Op::Delete(s, key) => {
            let Some((tx, m)) = &mut open[slot(s)] else {
                return;
            };
            tx.delete(k(key));
            m.writes.insert(k(key), None);
        }
        Op::DeleteRange(s, a, b) => {
            let Some((tx, m)) = &mut open[slot(s)] else {
                return;
            };
            tx.delete_range(k(a.min(b))..k(a.max(b)));
            m.writes.extend(deleted(a, b));
        }
        Op::Commit(s) => {
            let Some((tx, m)) = open[slot(s)].take() else {
                return;
            };
            let result = tx.commit();
            if m.writes.is_empty() {
                result.unwrap();
                return;
            }
            let conflict = m.conflicts(model);
            assert_eq!(
                result.as_ref().err().map(quickcache::Error::is_conflict),
                conflict.then_some(true),
                "{result:?}"
            );
            if !conflict {
                // Serializable: what it read still holds at its commit point.
                for (key, seen) in &m.reads {
                    assert_eq!(model.state.get(key), seen.as_ref());
                }
                model.apply(&m.writes);
            }
        }
        Op::Rollback(s) => {
            if let Some((tx, _)) = open[slot(s)].take() {
                tx.rollback();
            }
        }
        Op::PlainPut(key, value) => {
            db.put(k(key), [value]).unwrap();
            model.apply(&BTreeMap::from([(k(key), Some(vec![value]))]));
        }
        Op::PlainDelete(key) => {
            db.delete(k(key)).unwrap();
            model.apply(&BTreeMap::from([(k(key), None)]));
        }
        Op::PlainDeleteRange(a, b) => {
            db.delete_range(k(a.min(b))..k(a.max(b))).unwrap();
            model.apply(&deleted(a, b));
        }
        Op::Flush => db.flush().unwrap(),
        Op::Compact => db.compact_range(..).unwrap(),
    }
}

#[test]
fn random_interleavings_of_transactions_match_a_serial_model() {
    QuickCheck::new()
        .tests(500)
        .quickcheck(run as fn(Vec<Op>) -> bool);
}
