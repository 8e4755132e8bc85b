#![allow(clippy::unwrap_used, reason = "tests fail by panicking")]
//! Random operation sequences against a `BTreeMap` model, on the simulated file system
//! with tiny memtables so that flushes, compactions and reopens all happen, and a
//! manual clock so that values written with a time to live expire between steps.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use quickcache::fs::SimFs;
use quickcache::{Clock, Db, ManualClock, Options, Timestamp, WriteBatch};
use quickcheck::{Arbitrary, Gen, QuickCheck};

/// A put in a batch: the value byte and the time to live in milliseconds, if any.
type BatchPut = (u8, Option<u8>);

#[derive(Debug, Clone)]
enum Op {
    Put(u8, u8),
    /// A put expiring this many milliseconds later (by the manual clock).
    PutTtl(u8, u8, u8),
    Delete(u8),
    /// Puts (with a time to live when given) and deletes.
    Batch(Vec<(u8, Option<BatchPut>)>),
    /// `delete_range(k(a)..k(b))`.
    DeleteRange(u8, u8),
    /// One batch: put `a`, delete the range `a..b`, put `c`: entries after a range
    /// delete in the batch are not deleted by it, those before are.
    BatchRange(u8, u8, u8),
    Get(u8),
    Range(u8, u8, bool),
    /// Both ends of one range iterator, owned and borrowed steps mixed.
    Walk(u8, u8, Vec<u8>),
    Prefix(u8),
    Snapshot,
    ReadSnapshot(u8),
    Flush,
    Compact,
    Reopen,
    /// Moves the clock this many milliseconds on.
    Advance(u8),
}

impl Arbitrary for Op {
    fn arbitrary(g: &mut Gen) -> Op {
        let key = |g: &mut Gen| u8::arbitrary(g) % 40;
        match u8::arbitrary(g) % 25 {
            0..=4 => Op::Put(key(g), u8::arbitrary(g)),
            5..=6 => Op::PutTtl(key(g), u8::arbitrary(g), u8::arbitrary(g) % 40),
            7..=8 => Op::Delete(key(g)),
            9 => Op::Batch(
                (0..u8::arbitrary(g) % 5)
                    .map(|_| {
                        let ttl = bool::arbitrary(g).then(|| u8::arbitrary(g) % 40);
                        (key(g), bool::arbitrary(g).then(|| (u8::arbitrary(g), ttl)))
                    })
                    .collect(),
            ),
            10..=11 => Op::Get(key(g)),
            12..=13 => Op::Range(key(g), key(g), bool::arbitrary(g)),
            14 if bool::arbitrary(g) => Op::Walk(key(g), key(g), Vec::arbitrary(g)),
            14 => Op::Prefix(key(g)),
            15 => Op::Snapshot,
            16 => Op::ReadSnapshot(u8::arbitrary(g)),
            17 => Op::Flush,
            18 => Op::Compact,
            19..=20 => Op::Advance(u8::arbitrary(g) % 30),
            21..=22 => Op::DeleteRange(key(g), key(g)),
            23 => Op::BatchRange(key(g), key(g), key(g)),
            _ => Op::Reopen,
        }
    }
}

fn k(key: u8) -> Vec<u8> {
    format!("key{key:02}").into_bytes()
}

fn v(key: u8, value: u8) -> Vec<u8> {
    // Some values long enough to fill the small memtable quickly.
    vec![value; 1 + (usize::from(key) * 13) % 200]
}

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

/// What was written: each key's value and when it expires, if it does.
type Stored = BTreeMap<Vec<u8>, (Vec<u8>, Option<Timestamp>)>;

/// The keys of `stored` that read as present at `now`.
fn live(stored: &Stored, now: Timestamp) -> Model {
    (stored.iter())
        .filter(|(_, (_, expiry))| expiry.is_none_or(|at| now < at))
        .map(|(k, (v, _))| (k.clone(), v.clone()))
        .collect()
}

fn ttl(ms: u8) -> Duration {
    Duration::from_millis(u64::from(ms))
}

fn options(fs: &Arc<SimFs>, clock: &Arc<ManualClock>) -> Options {
    Options {
        clock: clock.clone(),
        memtable_size: 4 << 10,
        l0_compaction_trigger: 2,
        table_size: 4 << 10,
        base_level_size: 16 << 10,
        flush_interval: None,
        fs: fs.clone(),
        ..Options::default()
    }
}

fn collect(
    iter: impl Iterator<Item = quickcache::Result<(Vec<u8>, quickcache::Value)>>,
) -> Vec<(Vec<u8>, Vec<u8>)> {
    iter.map(|kv| {
        let (k, v) = kv.unwrap();
        (k, v.to_vec())
    })
    .collect()
}

fn check_range(
    db_items: Vec<(Vec<u8>, Vec<u8>)>,
    model: &Model,
    lo: &[u8],
    hi: &[u8],
    rev: bool,
) -> bool {
    let mut expected: Vec<_> = model
        .range(lo.to_vec()..hi.to_vec())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if rev {
        expected.reverse();
    }
    db_items == expected
}

fn run(ops: Vec<Op>) -> bool {
    let fs = Arc::new(SimFs::new(42));
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(1_000_000)));
    let mut db = Db::open_with("/db", options(&fs, &clock)).unwrap();
    let mut stored = Stored::new();
    // Snapshots keep what was written when they were taken; expiry is judged when
    // they are read, as for every read.
    let mut snapshots: Vec<(quickcache::Snapshot, Stored)> = Vec::new();
    for op in ops {
        let model = live(&stored, clock.now());
        match op {
            Op::Put(key, value) => {
                db.put(k(key), v(key, value)).unwrap();
                stored.insert(k(key), (v(key, value), None));
            }
            Op::PutTtl(key, value, ms) => {
                db.put_with_ttl(k(key), v(key, value), ttl(ms)).unwrap();
                let expiry = clock.now().after(ttl(ms));
                stored.insert(k(key), (v(key, value), Some(expiry)));
            }
            Op::Delete(key) => {
                db.delete(k(key)).unwrap();
                stored.remove(&k(key));
            }
            Op::Batch(entries) => {
                let mut batch = WriteBatch::new();
                for (key, value) in entries {
                    match value {
                        Some((value, None)) => {
                            batch.put(k(key), v(key, value));
                            stored.insert(k(key), (v(key, value), None));
                        }
                        Some((value, Some(ms))) => {
                            batch.put_with_ttl(k(key), v(key, value), ttl(ms));
                            let expiry = clock.now().after(ttl(ms));
                            stored.insert(k(key), (v(key, value), Some(expiry)));
                        }
                        None => {
                            batch.delete(k(key));
                            stored.remove(&k(key));
                        }
                    }
                }
                db.write(batch).unwrap();
            }
            Op::DeleteRange(a, b) => {
                db.delete_range(k(a)..k(b)).unwrap();
                stored.retain(|key, _| !(k(a)..k(b)).contains(key));
            }
            Op::BatchRange(a, b, c) => {
                let mut batch = WriteBatch::new();
                batch
                    .put(k(a), v(a, 1))
                    .delete_range(k(a)..k(b))
                    .put(k(c), v(c, 2));
                db.write(batch).unwrap();
                stored.insert(k(a), (v(a, 1), None));
                stored.retain(|key, _| !(k(a)..k(b)).contains(key));
                stored.insert(k(c), (v(c, 2), None));
            }
            Op::Get(key) => {
                let got = db.get(k(key)).unwrap().map(|v| v.to_vec());
                if db.contains_key(k(key)).unwrap() != got.is_some() {
                    return false;
                }
                if got.as_ref() != model.get(&k(key)) {
                    return false;
                }
            }
            Op::Range(a, b, rev) => {
                let (lo, hi) = (k(a.min(b)), k(a.max(b)));
                let items = if rev {
                    collect(db.range(lo.clone()..hi.clone()).rev())
                } else {
                    collect(db.range(lo.clone()..hi.clone()))
                };
                if !check_range(items, &model, &lo, &hi, rev) {
                    return false;
                }
            }
            Op::Walk(a, b, steps) => {
                let (lo, hi) = (k(a.min(b)), k(a.max(b)));
                if !walk_matches(&db, &model, &lo, &hi, &steps) {
                    return false;
                }
            }
            Op::Prefix(key) => {
                let p = format!("key{}", key / 10).into_bytes();
                let items = collect(db.prefix(&p));
                let expected: Vec<_> = model
                    .iter()
                    .filter(|(k, _)| k.starts_with(&p))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                if items != expected {
                    return false;
                }
            }
            Op::Snapshot => snapshots.push((db.snapshot(), stored.clone())),
            Op::ReadSnapshot(i) => {
                if let Some((snap, old)) = snapshots.get(usize::from(i) % snapshots.len().max(1)) {
                    let old = live(old, clock.now());
                    let items = collect(snap.iter());
                    let expected: Vec<_> =
                        old.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                    if items != expected {
                        return false;
                    }
                    let mut back = collect(snap.iter().rev());
                    back.reverse();
                    if back != expected {
                        return false;
                    }
                }
            }
            Op::Flush => db.flush().unwrap(),
            Op::Compact => db.compact_range(..).unwrap(),
            Op::Reopen => {
                snapshots.clear();
                db.close().unwrap();
                db = Db::open_with("/db", options(&fs, &clock)).unwrap();
            }
            Op::Advance(ms) => clock.advance(ttl(ms)),
        }
    }
    let model = live(&stored, clock.now());
    let all = collect(db.iter());
    let expected: Vec<_> = model.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    all == expected
}

type Entry = (Vec<u8>, Vec<u8>);

/// One step of a walk: `step % 4` picks `next`, `next_back`, `next_ref` or
/// `next_back_ref`; the entry, owned, and whether it came from the front.
fn walk_step(iter: &mut quickcache::Iter, step: u8) -> Option<(Entry, bool)> {
    let owned = |kv: quickcache::Result<(Vec<u8>, quickcache::Value)>| {
        kv.map(|(k, v)| (k, v.to_vec())).unwrap()
    };
    let borrowed =
        |kv: quickcache::Result<(&[u8], &[u8])>| kv.map(|(k, v)| (k.to_vec(), v.to_vec())).unwrap();
    let entry = match step % 4 {
        0 => iter.next().map(owned),
        1 => iter.next_back().map(owned),
        2 => iter.next_ref().map(borrowed),
        _ => iter.next_back_ref().map(borrowed),
    }?;
    Some((entry, step.is_multiple_of(2)))
}

/// Walks `lo..hi` from both ends as `steps` say: the front yields a prefix of the
/// model's range, the back a suffix, and once either end reports the end they meet
/// with nothing missing or repeated.
fn walk_matches(db: &Db, model: &Model, lo: &[u8], hi: &[u8], steps: &[u8]) -> bool {
    let expected: Vec<Entry> = model
        .range(lo.to_vec()..hi.to_vec())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut iter = db.range(lo..hi);
    let (mut front, mut back) = (Vec::new(), Vec::new());
    let mut ended = false;
    for &step in steps.iter().cycle().take(expected.len() + 2) {
        match walk_step(&mut iter, step) {
            Some((entry, true)) => front.push(entry),
            Some((entry, false)) => back.push(entry),
            None => {
                ended = true;
                break;
            }
        }
    }
    back.reverse();
    if ended {
        return [front, back].concat() == expected;
    }
    front.len() + back.len() <= expected.len()
        && expected.starts_with(&front)
        && expected.ends_with(&back)
}

#[test]
fn random_operations_match_a_btreemap() {
    let _dog = support::watchdog("random_operations_match_a_btreemap");
    QuickCheck::new()
        .tests(150)
        .quickcheck(run as fn(Vec<Op>) -> bool);
}

#[test]
#[ignore = "long: thousands of sequences"]
fn random_operations_match_a_btreemap_long() {
    // Longer sequences: run with QUICKCHECK_GENERATOR_SIZE=400.
    QuickCheck::new()
        .tests(2000)
        .quickcheck(run as fn(Vec<Op>) -> bool);
}
