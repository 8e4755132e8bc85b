//! The manifest side of keyspaces: creating, flushing into and dropping keyspaces
//! through `VersionSet`, and what a reopen, a manifest switch and a crash make of it.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use common::{DIR, del, frozen, open, put, small_options};
use quickcache_compaction::{
    CompactionOptions, KeyspaceDef, TreeOptions, VersionSet, manifest_name,
};
use quickcache_fs::{CrashMode, DynFs, Fault, FaultPlan, FileSystem, SimFs};
use quickcache_sstable::KeyspaceId;

fn def(name: &str) -> KeyspaceDef {
    KeyspaceDef {
        name: name.to_owned(),
        options: TreeOptions {
            memtable_size: 1 << 20,
            table_size: 4 << 10,
            block_size: 512,
            bloom_bits_per_key: 7,
            base_level_size: 8 << 10,
            level_multiplier: 4,
            compression: quickcache_compaction::DEFAULT_COMPRESSION,
        },
    }
}

/// Flushes a few entries (`tag` in the values) into `keyspace`.
fn flush_into(set: &VersionSet, keyspace: KeyspaceId, tag: &str, seqno: u64, log: u64) -> u64 {
    let mut mem = BTreeMap::new();
    put(&mut mem, "a", seqno, tag);
    put(&mut mem, "b", seqno + 1, tag);
    del(&mut mem, "c", seqno + 2);
    let info = set
        .flush_keyspace(keyspace, &mut frozen(&mem), log, &[])
        .unwrap()
        .unwrap();
    info.id.0
}

fn names(set: &VersionSet) -> Vec<(u32, String)> {
    let all = set.keyspaces().into_iter();
    all.map(|(id, tree)| (id.0, tree.def.name)).collect()
}

fn table_file(id: u64) -> std::path::PathBuf {
    Path::new(DIR).join(format!("{id:06}.sst"))
}

#[test]
fn keyspaces_keep_their_names_options_tables_and_log_numbers_across_reopens() {
    let sim = SimFs::new(1);
    let set = open(&sim, small_options()).unwrap();
    let log = set.create_keyspace(def("log"), 1).unwrap();
    let index = set.create_keyspace(def("index"), 1).unwrap();
    assert_eq!((log, index), (KeyspaceId(1), KeyspaceId(2)));
    let table = flush_into(&set, log, "log", 1, 3);
    flush_into(&set, KeyspaceId::DEFAULT, "default", 10, 2);
    assert_eq!(set.log_number(), 2, "the default keyspace's own");
    assert_eq!(set.min_log_number(), 1, "index has flushed nothing");
    drop(set);

    let set = open(&sim, small_options()).unwrap();
    assert_eq!(
        names(&set),
        [(1, "log".to_owned()), (2, "index".to_owned())]
    );
    let trees = set.keyspaces();
    assert_eq!(trees[0].1.def, def("log"));
    assert_eq!(trees[0].1.log_number, 3);
    let listed: Vec<u64> = trees[0]
        .1
        .version
        .tables()
        .map(|(_, t)| t.info().id.0)
        .collect();
    assert_eq!(listed, [table]);
    assert_eq!(trees[1].1.version.tables().count(), 0);
    assert_eq!(
        set.current().tables().count(),
        1,
        "the default tree is apart"
    );
    assert_eq!(set.min_log_number(), 1);
    assert!(sim.exists(&table_file(table)).unwrap());
}

#[test]
fn a_manifest_switch_writes_every_keyspace_into_the_snapshot() {
    let sim = SimFs::new(2);
    let options = CompactionOptions {
        max_manifest_size: 600,
        ..small_options()
    };
    let set = open(&sim, options.clone()).unwrap();
    let first = set.manifest_number();
    let log = set.create_keyspace(def("log"), 1).unwrap();
    let gone = set.create_keyspace(def("gone"), 1).unwrap();
    set.drop_keyspace(gone).unwrap();
    for i in 0..6 {
        flush_into(&set, log, "log", 1 + i * 3, 2 + i);
    }
    assert_ne!(set.manifest_number(), first, "the manifest was switched");
    drop(set);
    let set = open(&sim, options).unwrap();
    assert_eq!(names(&set), [(1, "log".to_owned())]);
    assert_eq!(set.keyspaces()[0].1.version.tables().count(), 6);
    assert_eq!(set.keyspaces()[0].1.log_number, 7);
    // Id 2 was handed out and dropped; the snapshot kept the last id, so it is not
    // handed out again.
    assert_eq!(set.create_keyspace(def("new"), 8).unwrap(), KeyspaceId(3));
}

#[test]
fn ids_are_never_reused_and_names_are_checked() {
    let sim = SimFs::new(3);
    let set = open(&sim, small_options()).unwrap();
    let a = set.create_keyspace(def("a"), 1).unwrap();
    set.drop_keyspace(a).unwrap();
    let again = set.create_keyspace(def("a"), 1).unwrap();
    assert_eq!(
        (a.0, again.0),
        (1, 2),
        "the name may return, the id does not"
    );
    for (name, why) in [
        ("a", "second keyspace named"),
        ("default", "second keyspace named"),
        ("", "is empty"),
        (&"x".repeat(256), "longer than 255"),
    ] {
        let err = set.create_keyspace(def(name), 1).unwrap_err();
        assert!(err.to_string().contains(why), "{name:?}: {err}");
    }
    let err = set.drop_keyspace(KeyspaceId(9)).unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
    let err = set.drop_keyspace(KeyspaceId::DEFAULT).unwrap_err();
    assert!(err.to_string().contains("default"), "{err}");
    drop(set);
    let set = open(&sim, small_options()).unwrap();
    assert_eq!(names(&set), [(2, "a".to_owned())]);
}

#[test]
fn a_dropped_keyspace_s_tables_go_also_after_a_crash_in_the_middle_of_the_drop() {
    let sim = SimFs::new(4);
    let set = open(&sim, small_options()).unwrap();
    let log = set.create_keyspace(def("log"), 1).unwrap();
    let keep = set.create_keyspace(def("keep"), 1).unwrap();
    let dropped = flush_into(&set, log, "log", 1, 2);
    let kept = flush_into(&set, keep, "keep", 5, 2);
    // A reader still holds the dropped tree: its table stays while it does.
    let reader = set.keyspaces();
    set.drop_keyspace(log).unwrap();
    assert!(
        sim.exists(&table_file(dropped)).unwrap(),
        "a reader holds it"
    );
    // Power loss before the reader lets go: the drop edit is durable (synced), the
    // file was never removed.
    let after = sim.crash_with(CrashMode::DropUnsynced);
    drop((reader, set));
    let set = open(&after, small_options()).unwrap();
    assert_eq!(names(&set), [(2, "keep".to_owned())]);
    assert!(
        !after.exists(&table_file(dropped)).unwrap(),
        "reclaimed at open"
    );
    assert!(after.exists(&table_file(kept)).unwrap());
}

#[test]
fn a_drop_removes_the_tables_once_no_reader_holds_them() {
    let sim = SimFs::new(5);
    let set = open(&sim, small_options()).unwrap();
    let log = set.create_keyspace(def("log"), 1).unwrap();
    let table = flush_into(&set, log, "log", 1, 2);
    set.drop_keyspace(log).unwrap();
    assert!(!sim.exists(&table_file(table)).unwrap());
    assert!(set.keyspaces().is_empty());
    assert_eq!(set.min_log_number(), set.log_number());
}

#[test]
fn every_crash_point_of_a_create_or_drop_leaves_it_whole_or_absent() {
    // Every file operation of a create then a drop fails in turn, then the power goes:
    // the reopened catalogue is one of the two states, and an acknowledged drop is
    // there.
    let before = SimFs::new(0);
    let set = open(&before, small_options()).unwrap();
    let start = before.op_count();
    let id = set.create_keyspace(def("log"), 1).unwrap();
    set.drop_keyspace(id).unwrap();
    let total = before.op_count() - start;
    assert!(total >= 2, "{total} operations");
    let states = [vec![], vec![(1, "log".to_owned())]];
    for n in 0..=total {
        for seed in [n, n + 1000] {
            let sim = SimFs::new(seed);
            let set = open(&sim, small_options()).unwrap();
            sim.set_faults(FaultPlan::new().fail_from(n, Fault::Io));
            let created = set.create_keyspace(def("log"), 1).is_ok();
            let dropped = created && set.drop_keyspace(KeyspaceId(1)).is_ok();
            let after = sim.crash();
            drop(set);
            let reopened = open(&after, small_options()).unwrap();
            let found = names(&reopened);
            assert!(states.contains(&found), "n={n}: {found:?}");
            if dropped {
                assert_eq!(found, states[0], "n={n}: an acknowledged drop came back");
            }
        }
    }
}

#[test]
fn a_version_1_manifest_is_read_into_the_default_keyspace_and_replaced() {
    let sim = SimFs::new(6);
    let fs: DynFs = Arc::new(sim.clone());
    let dir = Path::new(DIR);
    fs.create_dir_all(dir).unwrap();
    // Manifest 1 as format version 1 wrote it: a version-1 segment header, one
    // version-1 edit (log number 4, next file 9, last sequence 20).
    let mut bytes = quickcache_wal::frame::encode_segment_header(quickcache_wal::SegmentId(1));
    bytes[8..12].copy_from_slice(&1u32.to_le_bytes());
    let sum = xxhash_rust::xxh3::xxh3_64(&bytes[..24]);
    bytes[24..32].copy_from_slice(&sum.to_le_bytes());
    let mut bytes = bytes.to_vec();
    let mut edit = vec![1u8];
    for (tag, n) in [(1u8, 4u64), (2, 9), (3, 20)] {
        edit.push(tag);
        edit.extend_from_slice(&8u32.to_le_bytes());
        edit.extend_from_slice(&n.to_le_bytes());
    }
    let at = bytes.len() as u64;
    quickcache_wal::frame::encode(&mut bytes, quickcache_wal::SegmentId(1), at, &edit).unwrap();
    for (name, contents) in [
        (manifest_name(1), bytes),
        ("CURRENT".into(), b"MANIFEST-000001\n".to_vec()),
    ] {
        let mut file = fs.create(&dir.join(name)).unwrap();
        file.append(&contents).unwrap();
        file.sync_all().unwrap();
        file.close().unwrap();
    }
    let set = open(&sim, small_options()).unwrap();
    assert_eq!(set.log_number(), 4);
    assert_eq!(set.last_seqno().get(), 20);
    assert!(set.keyspaces().is_empty());
    // Not continued: a fresh manifest in the current format replaced it.
    assert_ne!(set.manifest_number(), 1);
    drop(set);
    assert!(!sim.exists(&dir.join(manifest_name(1))).unwrap());
    let current = sim.read_file(&dir.join("CURRENT")).unwrap();
    let name = String::from_utf8(current).unwrap();
    let fresh = sim.read_file(&dir.join(name.trim_end())).unwrap();
    assert_eq!(&fresh[8..12], &quickcache_wal::FORMAT_VERSION.to_le_bytes());
    assert_eq!(
        fresh[48],
        quickcache_compaction::EDIT_FORMAT,
        "first edit's version byte"
    );
}

/// The corruption matrix for keyspace records: a bit flipped at every offset of a
/// manifest holding creates, a keyspace flush and a drop. A flip in a record followed
/// by an intact one is corruption naming the manifest and that record's offset; a flip
/// in the last record drops it as a torn tail (the catalogue is the one before it); a
/// flip in the header is refused. Never a panic, never a catalogue that was not.
#[test]
fn a_flip_anywhere_in_a_manifest_with_keyspace_records_is_caught() {
    let sim = SimFs::new(7);
    let set = open(&sim, small_options()).unwrap();
    let log = set.create_keyspace(def("log"), 1).unwrap();
    flush_into(&set, log, "log", 1, 2);
    let gone = set.create_keyspace(def("gone"), 2).unwrap();
    set.drop_keyspace(gone).unwrap();
    flush_into(&set, KeyspaceId::DEFAULT, "default", 20, 3);
    let number = set.manifest_number();
    drop(set);
    let path = Path::new(DIR).join(manifest_name(number));
    let bytes = sim.read_file(&path).unwrap();
    let id = quickcache_wal::SegmentId(number);
    let mut starts = Vec::new();
    let mut at = quickcache_wal::SEGMENT_HEADER_LEN;
    while let Ok(quickcache_wal::frame::Decoded::Record { next, .. }) =
        quickcache_wal::frame::decode_at(&bytes, id, at)
    {
        starts.push(at);
        at = next;
    }
    assert_eq!(
        starts.len(),
        6,
        "snapshot, 2 creates, a flush, a drop, a flush"
    );
    let last = *starts.last().unwrap();
    let full = vec![(1, "log".to_owned())];
    for offset in 0..bytes.len() {
        let copy = sim.after_kill();
        let mut damaged = bytes.clone();
        damaged[offset] ^= 0x08;
        let mut file = copy.create(&path).unwrap();
        file.append(&damaged).unwrap();
        file.sync_all().unwrap();
        file.close().unwrap();
        let result = open(&copy, small_options());
        if offset < quickcache_wal::SEGMENT_HEADER_LEN {
            assert!(
                result.is_err(),
                "flip at {offset} in the header was accepted"
            );
            continue;
        }
        let record = *starts.iter().rev().find(|&&s| s <= offset).unwrap();
        if record < last {
            let err = result
                .err()
                .unwrap_or_else(|| panic!("flip at {offset} accepted"));
            assert!(err.is_corruption(), "flip at {offset}: {err}");
            let message = err.to_string();
            assert!(
                message.contains(&manifest_name(number))
                    && message.contains(&format!("offset {record}")),
                "flip at {offset}: {message}"
            );
        } else {
            let set = result.unwrap_or_else(|e| panic!("flip at {offset} in the last record: {e}"));
            assert_eq!(names(&set), full, "flip at {offset}");
            assert!(set.dropped_tail().is_some(), "flip at {offset}");
        }
    }
}

/// Flushes batch `b` of 80 keys into `keyspace`: overlapping tables, so compactions
/// have work.
fn flush_batch(set: &VersionSet, keyspace: KeyspaceId, b: u64) {
    let mut mem = BTreeMap::new();
    for i in 0..80u64 {
        let key = format!("key{:03}", (i * 7 + b * 13) % 120);
        put(
            &mut mem,
            &key,
            b * 1000 + i + 1,
            &format!("{b}-{i}-{}", "v".repeat(40)),
        );
    }
    set.flush_keyspace(keyspace, &mut frozen(&mem), b + 2, &[])
        .unwrap();
}

/// Every visible entry of a version.
fn contents(version: &quickcache_compaction::Version) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut merge = quickcache_compaction::MergingCursor::new(version.cursors());
    use quickcache_sstable::Cursor;
    merge.seek_to_first().unwrap();
    let mut all = Vec::new();
    while let (Some(k), Some(v)) = (merge.key(), merge.value()) {
        all.push((k.to_owned(), v.to_vec()));
        merge.next().unwrap();
    }
    common::visible(&all, quickcache_sstable::SeqNo::MAX)
}

#[test]
fn each_keyspace_is_compacted_apart_with_its_own_options() {
    let sim = SimFs::new(8);
    let set = open(&sim, small_options()).unwrap();
    let log = set.create_keyspace(def("log"), 1).unwrap();
    for b in 0..6 {
        flush_batch(&set, log, b);
    }
    flush_batch(&set, KeyspaceId::DEFAULT, 50);
    let before = contents(&set.current_of(log).unwrap());
    assert_eq!(set.l0_count(), 6, "the stall signal sees the fullest L0");
    assert!(set.pending_compaction_bytes() > 0);
    let ran = set.compact_until_idle(&[]).unwrap();
    assert!(ran > 0);
    let version = set.current_of(log).unwrap();
    assert!(version.l0_count() < 2, "the keyspace's L0 was compacted");
    assert_eq!(
        contents(&version),
        before,
        "compaction kept the keyspace's contents"
    );
    // Its outputs are cut at its own table size (4 KiB), not the tree's (2 KiB).
    let deeper: Vec<u64> = version
        .tables()
        .filter(|(l, _)| l.index() > 0)
        .map(|(_, t)| t.info().size)
        .collect();
    assert!(deeper.iter().any(|&s| s > 2 << 10), "{deeper:?}");
    assert_eq!(set.current().l0_count(), 1, "the default tree is its own");
    assert_eq!(set.options_of(log).table.block_size, 512);
    drop(set);
    let set = open(&sim, small_options()).unwrap();
    assert_eq!(contents(&set.current_of(log).unwrap()), before);
}

#[test]
fn the_background_pool_compacts_every_keyspace() {
    let sim = SimFs::new(9);
    let set = Arc::new(open(&sim, small_options()).unwrap());
    let log = set.create_keyspace(def("log"), 1).unwrap();
    let compactor =
        quickcache_compaction::Compactor::start(Arc::clone(&set), Arc::new(Vec::new)).unwrap();
    for b in 0..6 {
        flush_batch(&set, log, b);
        compactor.schedule();
    }
    compactor.wait_idle().unwrap();
    assert!(set.current_of(log).unwrap().l0_count() < 2);
    assert!(compactor.stop().is_none());
}

#[test]
fn a_compaction_of_a_keyspace_dropped_meanwhile_stops_and_leaves_no_file() {
    let sim = SimFs::new(10);
    let set = open(&sim, small_options()).unwrap();
    let log = set.create_keyspace(def("log"), 1).unwrap();
    for b in 0..4 {
        flush_batch(&set, log, b);
    }
    let plan = set
        .pick_any(&quickcache_compaction::Busy::default())
        .unwrap();
    assert_eq!(plan.keyspace, log);
    set.drop_keyspace(log).unwrap();
    let never = std::sync::atomic::AtomicBool::new(false);
    let err = set.compact(&plan, &[], &never).unwrap_err();
    assert!(
        matches!(err, quickcache_compaction::Error::Stopped),
        "{err}"
    );
    drop(plan);
    let mut files = sim.list(Path::new(DIR)).unwrap();
    files.sort();
    let manifest = manifest_name(set.manifest_number());
    assert_eq!(files, ["CURRENT".to_owned(), manifest], "no table is left");
    let mut mem = BTreeMap::new();
    put(&mut mem, "late", 9000, "write");
    let err = set
        .flush_keyspace(log, &mut frozen(&mem), 9, &[])
        .unwrap_err();
    assert!(
        matches!(err, quickcache_compaction::Error::NoSuchKeyspace { .. }),
        "{err}"
    );
    assert_eq!(
        sim.list(Path::new(DIR)).unwrap().len(),
        2,
        "the flushed table went too"
    );
}

#[test]
fn idle_keyspaces_advance_their_log_numbers_with_one_append() {
    let sim = SimFs::new(11);
    let set = open(&sim, small_options()).unwrap();
    let ids: Vec<_> = (0..5)
        .map(|i| set.create_keyspace(def(&format!("k{i}")), 1).unwrap())
        .collect();
    let mut logs: Vec<_> = ids.iter().map(|&id| (id, 7)).collect();
    logs.push((KeyspaceId(99), 7));
    logs.push((KeyspaceId::DEFAULT, 7));
    let before = sim.op_count();
    set.advance_log_numbers(&logs).unwrap();
    assert!(sim.op_count() - before <= 2, "one append and one sync");
    assert!(set.keyspaces().iter().all(|(_, t)| t.log_number == 7));
    assert_eq!(
        set.log_number(),
        0,
        "the default keyspace is not advanced here"
    );
    // Never backwards.
    set.advance_log_numbers(&[(ids[0], 3)]).unwrap();
    assert_eq!(set.keyspaces()[0].1.log_number, 7);
    drop(set);
    let set = open(&sim, small_options()).unwrap();
    assert!(set.keyspaces().iter().all(|(_, t)| t.log_number == 7));
}
