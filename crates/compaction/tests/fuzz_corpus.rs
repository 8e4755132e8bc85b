//! Replays every committed seed of the `manifest` fuzz target (`fuzz/corpus/manifest/`)
//! through the same code the target runs (`quickcache_compaction::fuzzing::manifest`),
//! in ordinary `cargo test`; every crash the fuzzer finds becomes a named test here.
//!
//! `QUICKCACHE_WRITE_SEEDS=1 cargo test -p quickcache-compaction --test fuzz_corpus`
//! (re)creates the `seed-*` files; files added by fuzzing runs are kept.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use quickcache_compaction::{KeyspaceDef, TreeOptions, VersionSet, fuzzing, manifest_name};
use quickcache_fs::{FileSystem, SimFs};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/manifest")
}

fn field(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut f = vec![tag];
    f.extend_from_slice(&(body.len() as u32).to_le_bytes());
    f.extend_from_slice(body);
    f
}

/// A real manifest's records (the header cut off: the target adds its own), written by
/// a tree that flushed and compacted: adds, removes, moves, pointers, every number.
fn real_manifest_body() -> Vec<u8> {
    let sim = SimFs::new(1);
    let fs: quickcache_fs::DynFs = Arc::new(sim.clone());
    let dir = Path::new(common::DIR);
    let set = VersionSet::open_or_create(fs, dir, common::small_options()).unwrap();
    for b in 0..6u64 {
        let mut mem = BTreeMap::new();
        for i in 0..60u64 {
            let key = format!("key{:03}", (i * 7 + b * 11) % 100);
            common::put(&mut mem, &key, b * 100 + i + 1, &"v".repeat(50));
        }
        common::del(&mut mem, &format!("key{:03}", b * 3), b * 100 + 99);
        set.flush(&mut common::frozen(&mem), b + 1, &[]).unwrap();
    }
    assert!(set.compact_until_idle(&[]).unwrap() > 0);
    // Keyspaces: one created and flushed into, one created and dropped.
    let options = TreeOptions {
        memtable_size: 1 << 20,
        table_size: 2 << 10,
        block_size: 512,
        bloom_bits_per_key: 10,
        base_level_size: 8 << 10,
        level_multiplier: 10,
        compression: quickcache_compaction::DEFAULT_COMPRESSION,
    };
    let def = |name: &str| KeyspaceDef {
        name: name.to_owned(),
        options,
    };
    let log = set.create_keyspace(def("log"), 7).unwrap();
    let gone = set.create_keyspace(def("gone"), 7).unwrap();
    let mut mem = BTreeMap::new();
    common::put(&mut mem, "entry", 1000, "e");
    set.flush_keyspace(log, &mut common::frozen(&mem), 8, &[])
        .unwrap();
    set.drop_keyspace(gone).unwrap();
    let stats = set.stats().snapshot();
    assert!(stats.compactions > 0, "{stats:?}");
    let number = set.manifest_number();
    drop(set);
    let bytes = sim.read_file(&dir.join(manifest_name(number))).unwrap();
    bytes[quickcache_wal::SEGMENT_HEADER_LEN..].to_vec()
}

fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut numbers = vec![1u8];
    numbers.extend(field(1, &7u64.to_le_bytes()));
    numbers.extend(field(2, &9u64.to_le_bytes()));
    numbers.extend(field(3, &100u64.to_le_bytes()));
    let mut remove = vec![1u8];
    remove.extend(field(5, &[1, 5, 0, 0, 0, 0, 0, 0, 0]));
    let mut add = vec![1u8];
    let mut table = vec![0u8];
    for n in [6u64, 1000, 1, 5, 5, 0] {
        table.extend_from_slice(&n.to_le_bytes());
    }
    let small = [b"a".as_slice(), &((1u64 << 8) | 1).to_le_bytes()].concat();
    table.extend_from_slice(&(small.len() as u32).to_le_bytes());
    table.extend_from_slice(&small);
    table.extend_from_slice(&[b"z".as_slice(), &((5u64 << 8) | 1).to_le_bytes()].concat());
    add.extend(field(6, &table));
    let mut huge_len = vec![1u8, 6];
    huge_len.extend_from_slice(&u32::MAX.to_le_bytes());
    // Version 2: the keyspace fields.
    let keyspace = field(7, &3u32.to_le_bytes());
    let mut create_body = vec![3, b'l', b'o', b'g'];
    for n in [1u64 << 20, 8 << 20] {
        create_body.extend_from_slice(&n.to_le_bytes());
    }
    create_body.extend_from_slice(&4096u32.to_le_bytes());
    create_body.extend_from_slice(&10u32.to_le_bytes());
    create_body.extend_from_slice(&(64u64 << 20).to_le_bytes());
    create_body.extend_from_slice(&10u64.to_le_bytes());
    let mut bad_compression = create_body.clone();
    create_body.extend_from_slice(&[1, 1, 2, 2, 2, 2, 3]);
    bad_compression.extend_from_slice(&[1, 1, 2, 9, 2, 2, 3]);
    let create = [
        vec![2u8],
        keyspace.clone(),
        field(8, &create_body),
        field(10, &3u32.to_le_bytes()),
        field(1, &5u64.to_le_bytes()),
    ]
    .concat();
    let drop = [vec![2u8], keyspace.clone(), field(9, &[])].concat();
    let keyspace_table = [vec![2u8], keyspace.clone(), field(6, &table)].concat();
    let default_drop = [vec![2u8], field(9, &[])].concat();
    let bad_name = [vec![2u8], keyspace.clone(), field(8, &[2, 0xc3, 0x28])].concat();
    let bad_compression = [vec![2u8], keyspace, field(8, &bad_compression)].concat();
    vec![
        ("seed-empty", Vec::new()),
        ("seed-version-only", vec![1]),
        ("seed-newer-version", vec![3, 1, 8, 0, 0, 0]),
        ("seed-v2-create-keyspace", create),
        ("seed-v2-drop-keyspace", drop),
        ("seed-v2-keyspace-add-table", keyspace_table),
        ("seed-v2-drop-default", default_drop),
        ("seed-v2-bad-keyspace-name", bad_name),
        ("seed-v2-bad-keyspace-compression", bad_compression),
        ("seed-numbers", numbers),
        ("seed-remove-table", remove),
        ("seed-add-table", add),
        ("seed-huge-field-length", huge_len),
        ("seed-unknown-tag", vec![1, 0, 0, 0, 0, 0]),
        ("seed-real-manifest", real_manifest_body()),
    ]
}

#[test]
fn every_seed_passes_the_target() {
    if std::env::var_os("QUICKCACHE_WRITE_SEEDS").is_some() {
        fs::create_dir_all(corpus_dir()).unwrap();
        for (name, bytes) in seeds() {
            fs::write(corpus_dir().join(name), bytes).unwrap();
        }
    }
    let mut count = 0;
    for entry in fs::read_dir(corpus_dir()).unwrap() {
        let path = entry.unwrap().path();
        if let Err(bug) = fuzzing::manifest(&fs::read(&path).unwrap()) {
            panic!("{}: {bug}", path.display());
        }
        count += 1;
    }
    assert!(count >= seeds().len(), "corpus has only {count} files");
}

#[test]
fn the_built_seeds_pass_the_target_too() {
    for (name, bytes) in seeds() {
        if let Err(bug) = fuzzing::manifest(&bytes) {
            panic!("{name}: {bug}");
        }
    }
}

/// The create seed, framed as the only record of a manifest, opens as a tree holding
/// that keyspace: the target's reopen check runs on keyspaces, not only on refusals.
#[test]
fn the_create_seed_opens_as_a_tree_with_its_keyspace() {
    let (_, create) = seeds()
        .into_iter()
        .find(|(name, _)| *name == "seed-v2-create-keyspace")
        .unwrap();
    let sim = SimFs::new(1);
    let dir = Path::new(common::DIR);
    sim.create_dir_all(dir).unwrap();
    let mut bytes =
        quickcache_wal::frame::encode_segment_header(quickcache_wal::SegmentId(1)).to_vec();
    let at = bytes.len() as u64;
    quickcache_wal::frame::encode(&mut bytes, quickcache_wal::SegmentId(1), at, &create).unwrap();
    for (name, contents) in [
        (manifest_name(1), bytes),
        ("CURRENT".into(), b"MANIFEST-000001\n".to_vec()),
    ] {
        let mut file = sim.create(&dir.join(name)).unwrap();
        file.append(&contents).unwrap();
        file.sync_all().unwrap();
        file.close().unwrap();
    }
    let set = common::open(&sim, common::small_options()).unwrap();
    let keyspaces = set.keyspaces();
    assert_eq!(keyspaces.len(), 1);
    assert_eq!(
        (keyspaces[0].0.0, keyspaces[0].1.def.name.as_str()),
        (3, "log")
    );
    assert_eq!(keyspaces[0].1.log_number, 5);
}

/// Found by the fuzzer (`fuzz/corpus/manifest/regression-next-file-at-the-end`): a
/// manifest whose next file number is `u64::MAX - 1` opened, the open's fresh manifest
/// took that number and recorded `u64::MAX` as the next one, and the reopen refused
/// it as leaving no number after it. Handing out the number is refused instead
/// (`VersionSet::new_file_number`), so the first open fails and nothing is written.
#[test]
fn a_next_file_number_at_the_end_of_the_range_fails_the_open_not_the_reopen() {
    let edit = [vec![1u8], field(2, &(u64::MAX - 1).to_le_bytes())].concat();
    let seed = corpus_dir().join("regression-next-file-at-the-end");
    if std::env::var_os("QUICKCACHE_WRITE_SEEDS").is_some() {
        fs::write(&seed, &edit).unwrap();
    }
    assert_eq!(
        fs::read(&seed).unwrap(),
        edit,
        "the committed seed is this edit"
    );
    if let Err(bug) = fuzzing::manifest(&edit) {
        panic!("{bug}");
    }
    // One number before it is still usable: the open hands out u64::MAX - 2 for
    // its fresh manifest, and the tree opens twice.
    let earlier = [vec![1u8], field(2, &(u64::MAX - 2).to_le_bytes())].concat();
    if let Err(bug) = fuzzing::manifest(&earlier) {
        panic!("{bug}");
    }
}
