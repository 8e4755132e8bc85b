//! Four writers and four readers on one memtable: readers never see a batch half
//! applied, and never see a key's value go backward.
//!
//! Every batch writes (or deletes) all `KEYS_PER_GROUP` keys of one group, key *i* as
//! entry *i*, with its base seqno as the value. So at any snapshot the entries a reader
//! finds for a group must all name the same batch; and since a reader's snapshots only
//! grow, the batch it sees for a key must never get older.

#![expect(clippy::unwrap_used, reason = "test helpers fail the test loudly")]

mod common;

use common::Rng;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;

use quickcache_memtable::{Lookup, Memtable, Visibility, WriteBatch};
use quickcache_sstable::{Cursor, KeyRef, SeqNo};

const WRITERS: u64 = 4;
const READERS: u64 = 4;
const BATCHES_PER_WRITER: u64 = 3_000;
const GROUPS: u64 = 8;
const KEYS_PER_GROUP: u64 = 4;

fn key(group: u64, i: u64) -> Vec<u8> {
    format!("group{group}/key{i}").into_bytes()
}

/// Which batch wrote the entry found for key `i` of a group: the base seqno. `None` if
/// the key was never written at that snapshot.
fn batch_of(found: Option<Lookup<'_>>, i: u64) -> Option<u64> {
    match found? {
        Lookup::Value(v) => {
            let base = u64::from_le_bytes(v.value().try_into().unwrap());
            assert_eq!(v.seqno().get(), base + i, "value names its own batch");
            Some(base)
        }
        Lookup::Deleted(s) => Some(s.get() - i),
        // Never written here: a batch number no batch has, failing the check.
        Lookup::Expiring { .. } => Some(u64::MAX),
    }
}

fn write(memtable: &Memtable, vis: &Visibility, seed: u64) {
    let mut rng = Rng::new(seed);
    let mut batch = WriteBatch::new();
    for _ in 0..BATCHES_PER_WRITER {
        batch.clear();
        let reservation = vis.reserve(KEYS_PER_GROUP as u32).unwrap();
        let base = reservation.first();
        // Sometimes linger before inserting, so that later batches overtake this one.
        if rng.below(4) == 0 {
            thread::yield_now();
        }
        let (group, delete) = (rng.below(GROUPS), rng.below(5) == 0);
        for i in 0..KEYS_PER_GROUP {
            if delete {
                batch.delete(&key(group, i)).unwrap();
            } else {
                batch
                    .put(&key(group, i), &base.get().to_le_bytes())
                    .unwrap();
            }
        }
        batch.set_base_seqno(base).unwrap();
        memtable.apply(&batch).unwrap();
        // Often linger before publishing, so that later batches finish first.
        if rng.below(2) == 0 {
            thread::yield_now();
        }
        reservation.publish();
    }
}

/// Reads one group at `snapshot` through `get`, or through a cursor when `by_cursor`.
/// Both must give the same answer, however long apart: a snapshot's view is fixed.
fn read_group(
    memtable: &Memtable,
    group: u64,
    snapshot: SeqNo,
    by_cursor: bool,
) -> Vec<Option<u64>> {
    let mut cursor = memtable.cursor();
    (0..KEYS_PER_GROUP)
        .map(|i| {
            let k = key(group, i);
            if !by_cursor {
                return batch_of(memtable.get(&k, snapshot), i);
            }
            cursor.seek(KeyRef::lookup(&k, snapshot)).unwrap();
            let found = cursor.key().filter(|f| f.user_key == k.as_slice())?;
            Some(found.seqno.get() - i)
        })
        .collect()
}

/// Reads until the writers are done; returns how many group reads found data.
fn read(memtable: &Memtable, vis: &Visibility, done: &AtomicBool, seed: u64) -> u64 {
    let mut rng = Rng::new(seed);
    let mut last_seen = vec![None; (GROUPS * KEYS_PER_GROUP) as usize];
    let (mut last_snapshot, mut found) = (SeqNo::ZERO, 0);
    while !done.load(Ordering::Acquire) {
        let snapshot = vis.visible();
        assert!(snapshot >= last_snapshot, "snapshots never go back");
        last_snapshot = snapshot;
        let group = rng.below(GROUPS);
        let seen = read_group(memtable, group, snapshot, false);
        assert!(
            seen.iter().all(|b| *b == seen[0]),
            "group {group} half applied at snapshot {snapshot}: {seen:?}"
        );
        if rng.below(2) == 0 {
            thread::yield_now();
        }
        let again = read_group(memtable, group, snapshot, true);
        assert_eq!(
            seen, again,
            "group {group} changed under snapshot {snapshot}"
        );
        for (i, batch) in seen.iter().enumerate() {
            let slot = &mut last_seen[(group * KEYS_PER_GROUP) as usize + i];
            assert!(
                *batch >= *slot,
                "key {i} of group {group} went back: {slot:?} -> {batch:?}"
            );
            assert!(
                batch.is_none_or(|b| b <= snapshot.get()),
                "saw beyond the snapshot"
            );
            *slot = *batch;
        }
        found += u64::from(seen[0].is_some());
    }
    found
}

#[test]
fn readers_see_whole_batches_and_values_never_go_backward() {
    let memtable = Memtable::new();
    let vis = Visibility::new(SeqNo::ZERO);
    let done = AtomicBool::new(false);
    let found = AtomicU64::new(0);
    let (m, v, d, f) = (&memtable, &vis, &done, &found);
    thread::scope(|s| {
        let readers: Vec<_> = (0..READERS)
            .map(|r| s.spawn(move || f.fetch_add(read(m, v, d, 0x9e37 + r), Ordering::Relaxed)))
            .collect();
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| s.spawn(move || write(m, v, 0x51ed + w * 7)))
            .collect();
        writers.into_iter().for_each(|w| w.join().unwrap());
        done.store(true, Ordering::Release);
        readers.into_iter().for_each(|r| {
            r.join().unwrap();
        });
    });
    let total = WRITERS * BATCHES_PER_WRITER * KEYS_PER_GROUP;
    assert_eq!(vis.visible().get(), total, "every batch published");
    assert_eq!(memtable.len() as u64, total);
    assert!(
        found.load(Ordering::Relaxed) > 0,
        "readers observed written groups"
    );
    for group in 0..GROUPS {
        let seen = read_group(&memtable, group, vis.visible(), false);
        assert!(
            seen.iter().all(|b| *b == seen[0] && b.is_some()),
            "final state of group {group}"
        );
    }
}
