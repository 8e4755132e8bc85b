//! Compaction keeps exactly what readers can see: every version a live snapshot needs,
//! and tombstones only where older data may still lie below.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests unwrap: a panic is a failed test"
)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use common::*;
use quickcache_compaction::{Busy, DEFAULT_COMPRESSION, Level, MergingCursor, pick};
use quickcache_fs::{Fault, FaultPlan, FileSystem, Op, SimFs};
use quickcache_sstable::{Compression, Cursor, InternalKey, SeqNo, ValueKind};

/// A user key and its snapshot stripe.
type Slot = (Vec<u8>, usize);
type Entry = (InternalKey, Vec<u8>);

/// Writes `batches` of overwrites and deletes of 300 keys, one flush per batch.
fn fill(
    set: &quickcache_compaction::VersionSet,
    batches: u64,
    snapshots: &[SeqNo],
) -> Vec<(InternalKey, Vec<u8>)> {
    let mut all = BTreeMap::new();
    let mut s = 0;
    for b in 0..batches {
        let mut mem = BTreeMap::new();
        for i in 0..300u64 {
            if (i + b) % 3 == 0 {
                continue;
            }
            s += 1;
            let key = format!("key{:03}", (i * 7 + b * 13) % 300);
            if (i * b) % 5 == 1 {
                del(&mut mem, &key, s);
            } else {
                put(
                    &mut mem,
                    &key,
                    s,
                    &format!("value {b} {i} {}", "x".repeat(40)),
                );
            }
        }
        all.extend(mem.clone());
        set.flush(&mut frozen(&mem), b + 1, snapshots).unwrap();
    }
    all.into_iter().collect()
}

#[test]
fn compaction_keeps_exactly_the_versions_live_snapshots_see() {
    let fs = SimFs::new(11);
    let set = open(&fs, small_options()).unwrap();
    let snapshots = [seq(40), seq(750), seq(751), seq(2000)];
    let written = fill(&set, 12, &snapshots);
    let ran = set.compact_until_idle(&snapshots).unwrap();
    assert!(ran > 0);
    let after = dump(&set);
    for s in snapshots.iter().copied().chain([SeqNo::MAX]) {
        assert_eq!(visible(&after, s), visible(&written, s), "snapshot {s}");
    }
    // Exactly: the newest entry of each key in each snapshot stripe survives, and
    // nothing else; only a tombstone in the oldest stripe may be gone as well.
    let stripe = |q: SeqNo| snapshots.partition_point(|&x| x < q);
    let mut newest: BTreeMap<Slot, &Entry> = BTreeMap::new();
    for e in &written {
        newest
            .entry((e.0.user_key.clone(), stripe(e.0.seqno)))
            .or_insert(e);
    }
    let kept: BTreeMap<Slot, &Entry> = after
        .iter()
        .map(|e| ((e.0.user_key.clone(), stripe(e.0.seqno)), e))
        .collect();
    assert_eq!(
        kept.len(),
        after.len(),
        "two versions of a key in one stripe"
    );
    for (slot, entry) in &newest {
        let optional = slot.1 == 0 && entry.0.kind == ValueKind::Tombstone;
        match kept.get(slot) {
            Some(got) => assert_eq!(got, entry),
            None => assert!(optional, "{:?} lost", entry.0),
        }
    }
    assert!(kept.keys().all(|slot| newest.contains_key(slot)));
}

#[test]
fn without_snapshots_only_the_newest_version_survives_and_deletes_vanish() {
    let fs = SimFs::new(12);
    let set = open(&fs, small_options()).unwrap();
    let written = fill(&set, 10, &[]);
    set.compact_until_idle(&[]).unwrap();
    // Push everything to the bottom, where nothing lies below a tombstone.
    let stop = AtomicBool::new(false);
    for level in Level::all().take(Level::BOTTOM.index()) {
        if !set.current().level(level).is_empty() {
            let mut plan = force(&set.current(), level, level.below().unwrap());
            plan.trivial_move = false;
            set.compact(&plan, &[], &stop).unwrap();
        }
    }
    let v = set.current();
    assert_eq!(v.tables().count(), v.level(Level::BOTTOM).len());
    let after = dump(&set);
    assert_eq!(visible(&after, SeqNo::MAX), visible(&written, SeqNo::MAX));
    let mut users: Vec<_> = after.iter().map(|(k, _)| k.user_key.clone()).collect();
    let n = users.len();
    users.dedup();
    assert_eq!(users.len(), n, "one version per key");
    let deleted = newest_tombstones(&written);
    assert!(deleted > 0, "the workload must end some keys with a delete");
    assert!(
        after.iter().all(|(k, _)| k.kind == ValueKind::Value),
        "{deleted} keys end deleted; their tombstones must be gone"
    );
}

/// How many user keys' newest entry is a tombstone.
fn newest_tombstones(entries: &[Entry]) -> usize {
    let mut last: Option<&[u8]> = None;
    let mut count = 0;
    for (k, _) in entries {
        if last != Some(k.user_key.as_slice()) {
            count += usize::from(k.kind == ValueKind::Tombstone);
        }
        last = Some(&k.user_key);
    }
    count
}

#[test]
fn a_stopped_compaction_removes_the_outputs_it_had_created() {
    let fs = SimFs::new(14);
    let set = open(&fs, small_options()).unwrap();
    // More entries than one stop-check interval (1024), so the job checks the flag
    // again after its first output exists.
    let keys: Vec<String> = (0..1500).map(|i| format!("k{i:05}")).collect();
    for s in [1, 2] {
        let batch: Vec<(&str, u64, bool)> = keys.iter().map(|k| (k.as_str(), s, false)).collect();
        flush_one(&set, &batch);
    }
    let tables_before = sst_files(&fs);
    let before: Vec<_> = set.current().tables().map(|(_, t)| t.info().id).collect();
    // The hook: the first output file created raises the stop flag.
    let stop = Arc::new(AtomicBool::new(false));
    let created = Arc::new(Mutex::new(Vec::new()));
    let (flag, seen) = (Arc::clone(&stop), Arc::clone(&created));
    let hook = move |op: Op, path: &Path| {
        if op == Op::Create && path.extension().is_some_and(|e| e == "sst") {
            seen.lock().unwrap().push(path.to_path_buf());
            flag.store(true, Ordering::SeqCst);
        }
        false
    };
    fs.set_faults(FaultPlan::new().fail_matching(hook, Fault::Io));
    let mut plan = force(&set.current(), Level::L0, Level::new(1).unwrap());
    plan.trivial_move = false;
    let err = set.compact(&plan, &[], &stop).unwrap_err();
    fs.clear_faults();
    assert!(
        matches!(err, quickcache_compaction::Error::Stopped),
        "{err}"
    );
    let created = created.lock().unwrap().clone();
    assert!(
        !created.is_empty(),
        "the job stopped before its first output"
    );
    for path in &created {
        assert!(!fs.exists(path).unwrap(), "{} left behind", path.display());
    }
    assert_eq!(sst_files(&fs), tables_before);
    let after: Vec<_> = set.current().tables().map(|(_, t)| t.info().id).collect();
    assert_eq!(after, before, "the tree is unchanged");
}

fn sst_files(fs: &SimFs) -> Vec<String> {
    let mut names = fs.list(Path::new(DIR)).unwrap();
    names.retain(|n| n.ends_with(".sst"));
    names.sort();
    names
}

#[test]
fn an_old_version_reads_all_its_data_after_compaction_replaced_its_tables() {
    let fs = SimFs::new(15);
    let set = open(&fs, small_options()).unwrap();
    let written = fill(&set, 6, &[]);
    let old = set.current();
    let old_contents = dump(&set);
    assert_eq!(old_contents, written, "nothing compacted yet");
    assert!(set.compact_until_idle(&[]).unwrap() > 0);
    let live: Vec<_> = set.current().tables().map(|(_, t)| t.info().id).collect();
    let replaced: Vec<_> = (old.tables().map(|(_, t)| Arc::clone(t)))
        .filter(|t| !live.contains(&t.info().id))
        .collect();
    assert!(
        !replaced.is_empty(),
        "compaction replaced some of the old tables"
    );
    for t in &replaced {
        assert!(t.is_obsolete() && fs.exists(t.path()).unwrap());
    }
    // Every entry, through the old version: the replaced tables are still readable.
    let mut merge = MergingCursor::new(old.cursors());
    merge.seek_to_first().unwrap();
    let mut through_old = Vec::new();
    while let (Some(k), Some(v)) = (merge.key(), merge.value()) {
        through_old.push((k.to_owned(), v.to_vec()));
        merge.next().unwrap();
    }
    assert_eq!(through_old, written);
    for (k, v) in visible(&written, SeqNo::MAX) {
        let got = old.get(&k, SeqNo::MAX).unwrap().unwrap();
        assert_eq!(got.value.as_slice(), v.as_slice());
    }
    let paths: Vec<_> = replaced.iter().map(|t| t.path().to_path_buf()).collect();
    drop((merge, replaced, old));
    for path in paths {
        assert!(!fs.exists(&path).unwrap(), "deleted with the last version");
    }
}

fn flush_one(set: &quickcache_compaction::VersionSet, entries: &[(&str, u64, bool)]) {
    let mut mem = BTreeMap::new();
    for &(k, s, tomb) in entries {
        if tomb {
            del(&mut mem, k, s);
        } else {
            put(&mut mem, k, s, &"v".repeat(100));
        }
    }
    set.flush(&mut frozen(&mem), 1, &[]).unwrap();
}

#[test]
fn tombstones_disappear_at_the_bottom_and_only_there() {
    let fs = SimFs::new(13);
    let options = small_options();
    let set = open(&fs, options.clone()).unwrap();
    let stop = AtomicBool::new(false);
    // Old data for "b" at the bottom, big enough that L0 then goes to a level above.
    let a: Vec<(String, u64, bool)> = (0..400).map(|i| (format!("a{i:04}"), 1, false)).collect();
    let c: Vec<(String, u64, bool)> = (0..400).map(|i| (format!("c{i:04}"), 3, false)).collect();
    let mut a: Vec<(&str, u64, bool)> = a.iter().map(|(k, s, t)| (k.as_str(), *s, *t)).collect();
    a.push(("b", 2, false));
    a.extend(c.iter().map(|(k, s, t)| (k.as_str(), *s, *t)));
    flush_one(&set, &a);
    let plan = force(&set.current(), Level::L0, Level::BOTTOM);
    assert!(plan.trivial_move && plan.output_level == Level::BOTTOM);
    set.compact(&plan, &[], &stop).unwrap();

    flush_one(&set, &[("b", 9, false), ("zz", 11, true)]);
    flush_one(&set, &[("b", 10, true), ("zz", 12, true)]);
    let plan = pick(&set.current(), &options, &Busy::default()).unwrap();
    assert_eq!((plan.level, plan.inputs.len()), (Level::L0, 2));
    assert!(plan.output_level < Level::BOTTOM && !plan.trivial_move);
    set.compact(&plan, &[], &stop).unwrap();
    let kept: Vec<_> = dump(&set)
        .into_iter()
        .filter(|(k, _)| k.kind == ValueKind::Tombstone)
        .map(|(k, _)| k.user_key)
        .collect();
    // "b" still hides the old version below; "zz" hides nothing and is gone.
    assert_eq!(kept, [b"b".to_vec()]);
    assert_eq!(
        set.current()
            .get(b"b", SeqNo::MAX)
            .unwrap()
            .map(|e| e.is_tombstone()),
        Some(true)
    );

    // Once the tombstone reaches the bottom together with what it hides, both go.
    let mut rounds = 0;
    while let Some(level) = tombstone_level(&set.current()) {
        let plan = force(&set.current(), level, level.below().unwrap());
        set.compact(&plan, &[], &stop).unwrap();
        rounds += 1;
        assert!(rounds < 10);
    }
    let all = dump(&set);
    assert!(
        all.iter().all(|(k, _)| k.user_key != b"b"),
        "tombstone and old value both dropped"
    );
    assert_eq!(all.len(), 800);
}

/// The level above the bottom holding a tombstone, if any.
fn tombstone_level(v: &quickcache_compaction::Version) -> Option<Level> {
    v.tables()
        .find(|(l, t)| *l < Level::BOTTOM && t.info().tombstones > 0)
        .map(|(l, _)| l)
}

#[test]
fn outputs_end_where_grandparent_tables_end_unless_full() {
    let fs = SimFs::new(5);
    let options = quickcache_compaction::CompactionOptions {
        // Only the boundary rule may cut, not the overlap limit.
        max_grandparent_overlap: u64::MAX / 2,
        ..small_options()
    };
    let table_size = options.table_size;
    let set = open(&fs, options).unwrap();
    let stop = AtomicBool::new(false);
    let value = "v".repeat(60);
    let batch = |from: u64, step: u64, s0: u64| {
        let mut mem = BTreeMap::new();
        for (n, i) in (0..400u64).step_by(step as usize).enumerate() {
            put(&mut mem, &format!("key{i:04}"), s0 + n as u64, &value);
        }
        set.flush(&mut frozen(&mem), from, &[]).unwrap();
    };
    // The bottom: every key, in tables cut by size.
    batch(1, 1, 1);
    let mut plan = force(&set.current(), Level::L0, Level::BOTTOM);
    plan.trivial_move = false;
    set.compact(&plan, &[], &stop).unwrap();
    // Every twentieth key again, less than one table's worth, pushed into the level
    // above with the bottom as grandparents: only grandparent boundaries cut it.
    batch(2, 20, 1000);
    let above = Level::new(Level::BOTTOM.index() - 1).unwrap();
    let mut plan = force(&set.current(), Level::L0, above);
    plan.trivial_move = false;
    set.compact(&plan, &[], &stop).unwrap();
    let v = set.current();
    let (outputs, grandparents) = (v.level(above), v.level(Level::BOTTOM));
    assert!(
        outputs.len() > 1 && grandparents.len() > outputs.len(),
        "{} outputs, {} grandparents",
        outputs.len(),
        grandparents.len()
    );
    for pair in outputs.windows(2) {
        let (a, b) = (pair[0].info(), pair[1].info());
        let shared = grandparents.iter().any(|g| {
            let g = g.info();
            g.smallest_user() <= a.largest_user() && b.smallest_user() <= g.largest_user()
        });
        assert!(
            !shared || a.size >= table_size,
            "tables {} and {} share a grandparent though {} was cut at {} bytes",
            a.id.0,
            b.id.0,
            a.id.0,
            a.size
        );
    }
}

/// The compression of every data block of the tables in `level`.
fn block_compression(v: &quickcache_compaction::Version, level: Level) -> Vec<Compression> {
    v.level(level)
        .iter()
        .flat_map(|t| t.table().unwrap().data_block_compression().unwrap())
        .collect()
}

#[test]
fn outputs_take_their_levels_compression() {
    let fs = SimFs::new(21);
    let options = small_options();
    assert_eq!(options.compression, DEFAULT_COMPRESSION);
    let set = open(&fs, options).unwrap();
    let stop = AtomicBool::new(false);
    let all = fill(&set, 2, &[]);
    let v = set.current();
    assert!(
        block_compression(&v, Level::L0)
            .iter()
            .all(|&c| c == Compression::None)
    );
    let l2 = Level::new(2).unwrap();
    set.compact(&force(&v, Level::L0, l2), &[], &stop).unwrap();
    let l2_blocks = block_compression(&set.current(), l2);
    // The values repeat: lz4 shrinks every block by far more than an eighth.
    assert!(!l2_blocks.is_empty() && l2_blocks.iter().all(|&c| c == Compression::Lz4));
    set.compact(&force(&set.current(), l2, Level::BOTTOM), &[], &stop)
        .unwrap();
    let bottom = block_compression(&set.current(), Level::BOTTOM);
    assert!(!bottom.is_empty() && bottom.iter().all(|&c| c == Compression::Zstd));
    // `all` is in internal-key order: the first entry of each user key is its newest.
    let mut newest: BTreeMap<Vec<u8>, (bool, Vec<u8>)> = BTreeMap::new();
    for (k, value) in &all {
        let tomb = k.kind == ValueKind::Tombstone;
        newest
            .entry(k.user_key.clone())
            .or_insert((tomb, value.clone()));
    }
    let v = set.current();
    for (key, (tomb, value)) in &newest {
        let got = v.get(key, SeqNo::MAX).unwrap().and_then(|e| e.into_value());
        assert_eq!(
            got.as_deref(),
            (!tomb).then_some(value.as_slice()),
            "{key:?}"
        );
    }
}

/// A plan compacting all of `level` into `output_level`, whatever the scores say.
fn force(
    v: &quickcache_compaction::Version,
    level: Level,
    output_level: Level,
) -> quickcache_compaction::CompactionPlan {
    let inputs = v.level(level).to_vec();
    let lo = inputs
        .iter()
        .map(|t| t.info().smallest_user().to_vec())
        .min()
        .unwrap();
    let hi = inputs
        .iter()
        .map(|t| t.info().largest_user().to_vec())
        .max()
        .unwrap();
    let next_inputs = v.overlapping(output_level, &lo, &hi);
    let below: Vec<_> = Level::all()
        .skip(output_level.index() + 1)
        .map(|l| v.overlapping(l, &lo, &hi))
        .collect();
    quickcache_compaction::CompactionPlan {
        level,
        output_level,
        trivial_move: inputs.len() == 1 && next_inputs.is_empty(),
        inputs,
        next_inputs,
        grandparents: below.first().cloned().unwrap_or_default(),
        below,
        pointer: None,
        score: 0.0,
        keyspace: quickcache_sstable::KeyspaceId::DEFAULT,
    }
}
