#![allow(clippy::unwrap_used, reason = "tests fail by panicking")]
//! Random operation sequences over three keyspaces against one `BTreeMap` model per
//! keyspace (issue 23: keyspaces in the model test), on the simulated file system
//! with tiny memtables, so that flushes of single keyspaces, compactions and reopens
//! all happen: puts, deletes and range deletes in each keyspace, batches across
//! keyspaces, snapshots read later (one instant across keyspaces), scans in both
//! directions, and a keyspace dropped and created again (empty).

use std::collections::BTreeMap;
use std::sync::Arc;

use quickcache::fs::SimFs;
use quickcache::{Db, Keyspace, Options, Snapshot, WriteBatch};
use quickcheck::{Arbitrary, Gen, QuickCheck};

/// The keyspaces besides the default one; index 0 is the default keyspace.
const NAMED: [&str; 2] = ["left", "right"];
const SPACES: u8 = 3;

#[derive(Debug, Clone)]
enum Op {
    Put(u8, u8, u8),
    Delete(u8, u8),
    /// `delete_range(k(a)..k(b))` in a keyspace.
    DeleteRange(u8, u8, u8),
    /// Puts (`Some`) and deletes across keyspaces, in one batch.
    Batch(Vec<(u8, u8, Option<u8>)>),
    Get(u8, u8),
    Range(u8, u8, u8, bool),
    Snapshot,
    /// Reads every keyspace of a snapshot taken earlier.
    ReadSnapshot(u8),
    /// Flushes one keyspace.
    Flush(u8),
    Compact(u8),
    /// Drops a named keyspace and creates it again, empty.
    Recreate(u8),
    Reopen,
}

impl Arbitrary for Op {
    fn arbitrary(g: &mut Gen) -> Op {
        let key = |g: &mut Gen| u8::arbitrary(g) % 30;
        let ks = |g: &mut Gen| u8::arbitrary(g) % SPACES;
        match u8::arbitrary(g) % 20 {
            0..=4 => Op::Put(ks(g), key(g), u8::arbitrary(g)),
            5..=6 => Op::Delete(ks(g), key(g)),
            7 => Op::DeleteRange(ks(g), key(g), key(g)),
            8..=9 => Op::Batch(
                (0..u8::arbitrary(g) % 6)
                    .map(|_| (ks(g), key(g), bool::arbitrary(g).then(|| u8::arbitrary(g))))
                    .collect(),
            ),
            10..=11 => Op::Get(ks(g), key(g)),
            12..=13 => Op::Range(ks(g), key(g), key(g), bool::arbitrary(g)),
            14 => Op::Snapshot,
            15 => Op::ReadSnapshot(u8::arbitrary(g)),
            16 => Op::Flush(ks(g)),
            17 => Op::Compact(ks(g)),
            18 => Op::Recreate(1 + u8::arbitrary(g) % 2),
            _ => Op::Reopen,
        }
    }
}

fn k(key: u8) -> Vec<u8> {
    format!("key{key:02}").into_bytes()
}

fn v(space: u8, key: u8, value: u8) -> Vec<u8> {
    // Distinct per keyspace, so a value read from the wrong one shows.
    let mut bytes = vec![value; 1 + (usize::from(key) * 13) % 150];
    bytes.push(b'0' + space);
    bytes
}

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

fn options(fs: &Arc<SimFs>) -> Options {
    Options {
        memtable_size: 2 << 10,
        l0_compaction_trigger: 2,
        table_size: 4 << 10,
        base_level_size: 16 << 10,
        flush_interval: None,
        fs: fs.clone(),
        ..Options::default()
    }
}

/// The database and a handle per named keyspace.
struct Open {
    db: Db,
    named: Vec<Keyspace>,
}

impl Open {
    fn new(fs: &Arc<SimFs>) -> Open {
        let db = Db::open_with("/db", options(fs)).unwrap();
        let named = NAMED.iter().map(|n| db.keyspace(n).unwrap()).collect();
        Open { db, named }
    }

    fn ks(&self, space: u8) -> Option<&Keyspace> {
        (space > 0).then(|| &self.named[usize::from(space) - 1])
    }
}

fn pairs(
    iter: impl Iterator<Item = quickcache::Result<(Vec<u8>, quickcache::Value)>>,
) -> Vec<(Vec<u8>, Vec<u8>)> {
    iter.map(|kv| kv.map(|(k, v)| (k, v.to_vec())).unwrap())
        .collect()
}

/// Every keyspace of `snapshot` reads as `models`, by `get` and by a full scan.
fn snapshot_matches(open: &Open, snapshot: &Snapshot, models: &[Model]) -> bool {
    models.iter().enumerate().all(|(space, model)| {
        let ks = open.ks(space as u8);
        let scan = match ks {
            None => pairs(snapshot.range(..)),
            Some(ks) => pairs(snapshot.range_in(ks, ..)),
        };
        let expected: Vec<_> = model.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let gets = (0..30).all(|key| {
            let got = match ks {
                None => snapshot.get(k(key)),
                Some(ks) => snapshot.get_in(ks, k(key)),
            };
            got.unwrap().map(|v| v.to_vec()).as_ref() == model.get(&k(key))
        });
        scan == expected && gets
    })
}

fn run(ops: Vec<Op>) -> bool {
    let fs = Arc::new(SimFs::new(7));
    let mut open = Open::new(&fs);
    let mut models = vec![Model::new(); usize::from(SPACES)];
    let mut snapshots: Vec<(Snapshot, Vec<Model>)> = Vec::new();
    for op in ops {
        if let Op::Reopen = op {
            snapshots.clear();
            let Open { db, named } = open;
            drop(named);
            db.close().unwrap();
            open = Open::new(&fs);
            if !snapshot_matches(&open, &open.db.snapshot(), &models) {
                return false;
            }
        } else if !step(&mut open, &mut models, &mut snapshots, op) {
            return false;
        }
    }
    drop(snapshots);
    open.db.close().is_ok()
}

/// Applies one operation to the database and the models; `false` on a mismatch.
fn step(
    open: &mut Open,
    models: &mut [Model],
    snapshots: &mut Vec<(Snapshot, Vec<Model>)>,
    op: Op,
) -> bool {
    let model = |space: u8| usize::from(space);
    match op {
        Op::Put(s, key, value) => {
            match open.ks(s) {
                None => open.db.put(k(key), v(s, key, value)).unwrap(),
                Some(ks) => ks.put(k(key), v(s, key, value)).unwrap(),
            }
            models[model(s)].insert(k(key), v(s, key, value));
        }
        Op::Delete(s, key) => {
            match open.ks(s) {
                None => open.db.delete(k(key)).unwrap(),
                Some(ks) => ks.delete(k(key)).unwrap(),
            }
            models[model(s)].remove(&k(key));
        }
        Op::DeleteRange(s, a, b) => {
            match open.ks(s) {
                None => open.db.delete_range(k(a)..k(b)).unwrap(),
                Some(ks) => ks.delete_range(k(a)..k(b)).unwrap(),
            }
            models[model(s)].retain(|key, _| !(k(a)..k(b)).contains(key));
        }
        Op::Batch(entries) => {
            let mut batch = WriteBatch::new();
            for (s, key, value) in entries {
                match (value, open.ks(s)) {
                    (Some(x), None) => batch.put(k(key), v(s, key, x)),
                    (Some(x), Some(ks)) => batch.put_in(ks, k(key), v(s, key, x)),
                    (None, None) => batch.delete(k(key)),
                    (None, Some(ks)) => batch.delete_in(ks, k(key)),
                };
                match value {
                    Some(x) => models[model(s)].insert(k(key), v(s, key, x)),
                    None => models[model(s)].remove(&k(key)),
                };
            }
            open.db.write(batch).unwrap();
        }
        Op::Get(s, key) => {
            let got = match open.ks(s) {
                None => open.db.get(k(key)),
                Some(ks) => ks.get(k(key)),
            };
            return got.unwrap().map(|v| v.to_vec()).as_ref() == models[model(s)].get(&k(key));
        }
        Op::Range(s, a, b, rev) => {
            let (lo, hi) = (k(a.min(b)), k(a.max(b)));
            let iter = match open.ks(s) {
                None => open.db.range(lo.clone()..hi.clone()),
                Some(ks) => ks.range(lo.clone()..hi.clone()),
            };
            let got = if rev { pairs(iter.rev()) } else { pairs(iter) };
            let mut expected: Vec<_> = (models[model(s)].range(lo..hi))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if rev {
                expected.reverse();
            }
            return got == expected;
        }
        Op::Snapshot => snapshots.push((open.db.snapshot(), models.to_vec())),
        Op::ReadSnapshot(i) => {
            if let Some((snapshot, then)) = snapshots.get(usize::from(i) % snapshots.len().max(1)) {
                return snapshot_matches(open, snapshot, then);
            }
        }
        Op::Flush(s) => match open.ks(s) {
            None => open.db.flush().unwrap(),
            Some(ks) => ks.flush().unwrap(),
        },
        Op::Compact(s) => match open.ks(s) {
            None => open.db.compact_range(..).unwrap(),
            Some(ks) => ks.compact_range(..).unwrap(),
        },
        Op::Recreate(s) => {
            // Snapshots read the keyspace handles of this open; drop them first.
            snapshots.clear();
            let name = NAMED[usize::from(s) - 1];
            open.named.clear();
            open.db.drop_keyspace(name).unwrap();
            open.named = NAMED.iter().map(|n| open.db.keyspace(n).unwrap()).collect();
            models[model(s)].clear();
        }
        // `run` reopens: closing takes the database by value.
        Op::Reopen => {}
    }
    true
}

#[test]
fn random_operations_over_three_keyspaces_match_a_model_per_keyspace() {
    QuickCheck::new()
        .tests(support_tests())
        .quickcheck(run as fn(Vec<Op>) -> bool);
}

/// Cases per run: `QUICKCHECK_TESTS` when set, else 100.
fn support_tests() -> u64 {
    std::env::var("QUICKCHECK_TESTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100)
}
