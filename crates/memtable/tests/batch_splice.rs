//! Batches applied from several threads at once, each batch's keys ascending,
//! descending or shuffled, against a `BTreeMap` model: `apply` reuses one insert's
//! search path for the next (a splice), so every way that path can go stale (keys
//! going backwards, other threads linking nodes into its brackets) must still leave
//! every entry in its place.

#![expect(clippy::unwrap_used, reason = "test helpers fail the test loudly")]

mod common;

use common::Rng;
use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::thread;

use quickcache_memtable::{Memtable, WriteBatch};
use quickcache_sstable::{Cursor, SeqNo, ValueKind};

const THREADS: u64 = 4;
const BATCHES_PER_THREAD: u64 = 60;
const BATCH: u64 = 300;
/// Few enough keys that the threads' batches overlap and interleave densely.
const KEYS: u64 = 2_000;

/// A model entry: (user key, newest first) -> (kind, value).
type ModelMap = BTreeMap<(Vec<u8>, Reverse<u64>), (ValueKind, Vec<u8>)>;

/// Short keys compare on the inline prefix; the long ones share 20 bytes, so their
/// order is decided by the full keys.
fn user_key(i: u64) -> Vec<u8> {
    if i.is_multiple_of(3) {
        format!("a-long-shared-prefix/{i:06}").into_bytes()
    } else {
        format!("k{i:06}").into_bytes()
    }
}

/// The key indexes of one batch: a run of consecutive keys in ascending (shape 0)
/// or descending (1) order, or a mix (2) of ascending runs jumping back and forth
/// and repeating keys.
fn batch_keys(rng: &mut Rng, shape: u64) -> Vec<u64> {
    let start = rng.below(KEYS);
    let run: Vec<u64> = (start..start + BATCH).map(|i| i % KEYS).collect();
    match shape {
        0 => run,
        1 => run.into_iter().rev().collect(),
        _ => {
            let mut keys = Vec::new();
            while keys.len() < BATCH as usize {
                let from = rng.below(KEYS);
                keys.extend((from..from + rng.below(8) + 1).map(|i| i % KEYS));
            }
            keys.truncate(BATCH as usize);
            keys
        }
    }
}

/// Applies this thread's batches; returns what it wrote, for the model. Seqno ranges
/// are disjoint per thread, so equal user keys still make distinct entries.
fn write(memtable: &Memtable, t: u64) -> ModelMap {
    let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15 ^ (t + 1));
    let mut written = ModelMap::new();
    let mut batch = WriteBatch::new();
    for b in 0..BATCHES_PER_THREAD {
        batch.clear();
        let base = t * 1_000_000 + b * BATCH + 1;
        for (i, k) in batch_keys(&mut rng, (b + t) % 3).into_iter().enumerate() {
            let (key, seqno) = (user_key(k), base + i as u64);
            if rng.below(5) == 0 {
                batch.delete(&key).unwrap();
                written.insert((key, Reverse(seqno)), (ValueKind::Tombstone, Vec::new()));
            } else {
                let value = seqno.to_le_bytes().to_vec();
                batch.put(&key, &value).unwrap();
                written.insert((key, Reverse(seqno)), (ValueKind::Value, value));
            }
        }
        batch.set_base_seqno(SeqNo::new(base).unwrap()).unwrap();
        memtable.apply(&batch).unwrap();
    }
    written
}

#[test]
fn concurrent_ascending_descending_and_mixed_batches_match_the_model() {
    let memtable = Memtable::new();
    let model: ModelMap = thread::scope(|s| {
        let writers: Vec<_> = (0..THREADS)
            .map(|t| {
                let memtable = &memtable;
                s.spawn(move || write(memtable, t))
            })
            .collect();
        writers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    assert_eq!(model.len() as u64, THREADS * BATCHES_PER_THREAD * BATCH);

    let mut cursor = memtable.cursor();
    cursor.seek_to_first().unwrap();
    let mut got = Vec::new();
    while let (Some(key), Some(value)) = (cursor.key(), cursor.value()) {
        let entry = (key.user_key.to_vec(), Reverse(key.seqno.get()));
        got.push((entry, (key.kind, value.to_vec())));
        cursor.next().unwrap();
    }
    let want: Vec<_> = model.into_iter().collect();
    assert_eq!(got.len(), want.len());
    assert!(got == want, "memtable contents differ from the model");
    assert_eq!(memtable.len(), want.len());
}
