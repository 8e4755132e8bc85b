//! Our skiplist against the one the design started from: several threads insert the
//! same random entries into a [`Memtable`] and into a `crossbeam_skiplist::SkipMap`
//! keyed by (user key, newest seqno first), then both must hold the same entries in
//! the same order and answer the same seeks and lookups.
//!
//! The workload is a function of the seed (`QUICKCACHE_SEED=<seed>` replays one; by
//! default three run); the thread interleaving is not, which is the point. Threads
//! insert equal user keys with different seqnos, and equal internal keys (the value
//! is a function of the key, so whichever insert wins stores the same bytes); half of
//! them insert one entry at a time (a search from the top), half in sorted write
//! batches (the splice). A reader scans throughout, checking the order it sees.

#![expect(clippy::unwrap_used, reason = "test helpers fail the test loudly")]

mod common;
#[path = "common/watchdog.rs"]
mod watchdog;

use std::cmp::Reverse;
use std::ops::Bound::Included;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use common::Rng;
use crossbeam_skiplist::SkipMap;
use quickcache_memtable::{Lookup, Memtable, WriteBatch};
use quickcache_sstable::{Cursor, KeyRef, SeqNo, ValueKind};
use watchdog::Watchdog;

const THREADS: u64 = 4;
const BATCHES_PER_THREAD: u64 = 200;
const BATCH: u64 = 16;
/// Seqnos are drawn below this, so threads often insert the same internal key.
const SEQNOS: u64 = 200;

/// The reference's key: user key ascending, then seqno descending, as the internal
/// key order puts them (every entry here is a put, so the kind never decides).
type RefKey = (Vec<u8>, Reverse<u64>);

/// A user key from a universe of a few hundred: short keys, keys longer than the
/// 16-byte inline prefix that share it, and keys that are prefixes of each other.
fn user_key(rng: &mut Rng) -> Vec<u8> {
    let n = rng.below(100) as u8;
    match rng.below(3) {
        0 => vec![n / 10, n % 10],
        1 => [b"a-prefix-of-16-bytes".as_slice(), &[n]].concat(),
        _ => vec![7; usize::from(n % 20)],
    }
}

fn value_of(user_key: &[u8], seqno: u64) -> Vec<u8> {
    [user_key, &seqno.to_le_bytes()].concat()
}

fn seq(n: u64) -> SeqNo {
    SeqNo::new(n).unwrap()
}

/// Thread `t`'s inserts under `seed`: batches of entries with consecutive seqnos,
/// keys sorted within a batch as a write batch's splice likes them.
fn batches(seed: u64, t: u64) -> Vec<(u64, Vec<Vec<u8>>)> {
    let mut rng = Rng::new((seed ^ t.wrapping_mul(0x9e37_79b9_7f4a_7c15)) | 1);
    (0..BATCHES_PER_THREAD)
        .map(|_| {
            let base = 1 + rng.below(SEQNOS);
            let mut keys: Vec<_> = (0..BATCH).map(|_| user_key(&mut rng)).collect();
            keys.sort();
            keys.dedup();
            (base, keys)
        })
        .collect()
}

fn insert(
    memtable: &Memtable,
    map: &SkipMap<RefKey, Vec<u8>>,
    t: u64,
    base: u64,
    keys: &[Vec<u8>],
) {
    if t.is_multiple_of(2) {
        for (i, key) in keys.iter().enumerate() {
            memtable.put(key, seq(base + i as u64), &value_of(key, base + i as u64));
        }
    } else {
        let mut batch = WriteBatch::new();
        for (i, key) in keys.iter().enumerate() {
            batch.put(key, &value_of(key, base + i as u64)).unwrap();
        }
        batch.set_base_seqno(seq(base)).unwrap();
        memtable.apply(&batch).unwrap();
    }
    for (i, key) in keys.iter().enumerate() {
        let seqno = base + i as u64;
        map.get_or_insert((key.clone(), Reverse(seqno)), value_of(key, seqno));
    }
}

/// Everything `memtable` holds, in cursor order, checking that order as it goes.
fn scan(memtable: &Memtable) -> Vec<(RefKey, Vec<u8>)> {
    let mut out: Vec<(RefKey, Vec<u8>)> = Vec::new();
    let mut cursor = memtable.cursor();
    cursor.seek_to_first().unwrap();
    while let (Some(key), Some(value)) = (cursor.key(), cursor.value()) {
        assert_eq!(key.kind, ValueKind::Value);
        let entry = (
            (key.user_key.to_vec(), Reverse(key.seqno.get())),
            value.to_vec(),
        );
        assert!(
            out.last().is_none_or(|last| last.0 < entry.0),
            "out of order"
        );
        out.push(entry);
        cursor.next().unwrap();
    }
    out
}

fn owned(key: Option<KeyRef<'_>>) -> Option<RefKey> {
    key.map(|k| (k.user_key.to_vec(), Reverse(k.seqno.get())))
}

/// Seeks both ways and point lookups at random probes agree with the reference.
fn compare_seeks(memtable: &Memtable, map: &SkipMap<RefKey, Vec<u8>>, seed: u64) {
    let mut rng = Rng::new(seed.rotate_left(17) | 1);
    let mut cursor = memtable.cursor();
    for _ in 0..500 {
        let (user, snapshot) = (user_key(&mut rng), 1 + rng.below(SEQNOS + BATCH));
        let probe = (user.clone(), Reverse(snapshot));
        let target = KeyRef::new(&user, seq(snapshot), ValueKind::Value);
        cursor.seek(target).unwrap();
        let want = map.lower_bound(Included(&probe)).map(|e| e.key().clone());
        assert_eq!(owned(cursor.key()), want, "seed {seed}: seek {probe:?}");
        cursor.seek_for_prev(target).unwrap();
        let want = map.upper_bound(Included(&probe)).map(|e| e.key().clone());
        assert_eq!(
            owned(cursor.key()),
            want,
            "seed {seed}: seek_for_prev {probe:?}"
        );
        // No test entry is a tombstone: one showing up is a mismatch.
        let got = memtable.get(&user, seq(snapshot)).map(|found| match found {
            Lookup::Value(v) => v.value().to_vec(),
            Lookup::Deleted(_) => b"a tombstone".to_vec(),
            Lookup::Expiring { .. } => b"an expiring value (never written here)".to_vec(),
        });
        let want = map
            .lower_bound(Included(&probe))
            .filter(|e| e.key().0 == user)
            .map(|e| e.value().clone());
        assert_eq!(got, want, "seed {seed}: get {user:?} at {snapshot}");
    }
}

fn run(seed: u64) {
    let memtable = Memtable::new();
    let map = SkipMap::new();
    let work: Vec<_> = (0..THREADS).map(|t| batches(seed, t)).collect();
    let done = AtomicBool::new(false);
    thread::scope(|s| {
        let reader = s.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                scan(&memtable);
            }
        });
        let writers: Vec<_> = (0..THREADS)
            .zip(&work)
            .map(|(t, batches)| {
                let (memtable, map) = (&memtable, &map);
                s.spawn(move || {
                    for (base, keys) in batches {
                        insert(memtable, map, t, *base, keys);
                    }
                })
            })
            .collect();
        writers.into_iter().for_each(|w| w.join().unwrap());
        done.store(true, Ordering::Relaxed);
        reader.join().unwrap();
    });
    let want: Vec<_> = map
        .iter()
        .map(|e| (e.key().clone(), e.value().clone()))
        .collect();
    let got = scan(&memtable);
    assert_eq!(got.len(), want.len(), "seed {seed}: entry count");
    assert!(got == want, "seed {seed}: contents differ");
    assert_eq!(memtable.len(), want.len(), "seed {seed}: len");
    compare_seeks(&memtable, &map, seed);
}

#[test]
fn concurrent_inserts_match_crossbeam_skiplist() {
    let _watchdog = Watchdog::arm("the differential test", Duration::from_secs(120));
    let seeds = match std::env::var("QUICKCACHE_SEED") {
        Ok(seed) => vec![seed.parse().unwrap()],
        Err(_) => vec![1, 2, 3],
    };
    for seed in seeds {
        eprintln!("differential: seed {seed} (replay with QUICKCACHE_SEED={seed})");
        run(seed);
    }
}
