//! Replays every committed fuzz seed (`fuzz/corpus/<target>/`) through the same code the
//! fuzz targets run (`quickcache_sstable::fuzzing`), in ordinary `cargo test`.
//!
//! The seeds are written by this file too: `QUICKCACHE_WRITE_SEEDS=1 cargo test -p
//! quickcache-sstable --test fuzz_corpus` (re)creates the `seed-*` files from tables
//! built here; files added by fuzzing runs are kept.

#![allow(clippy::unwrap_used, reason = "test helpers fail the test loudly")]

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::*;
use quickcache_fs::{FileSystem, SimFs};
use quickcache_sstable::conformance::Model;
use quickcache_sstable::{
    Compression, FORMAT_VERSION, RangeTombstone, TableBuilder, TableOptions, fuzzing,
};

type Target = fn(&[u8]) -> Result<(), fuzzing::Bug>;

const TARGETS: [(&str, Target); 7] = [
    ("table", fuzzing::table),
    ("block", fuzzing::block),
    ("filter", fuzzing::filter),
    ("footer", fuzzing::footer),
    ("properties", fuzzing::properties),
    ("compressed_block", fuzzing::compressed_block),
    ("range_del_block", fuzzing::range_del_block),
];

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target)
}

#[test]
fn every_seed_passes_its_target() {
    if std::env::var_os("QUICKCACHE_WRITE_SEEDS").is_some() {
        write_seeds();
    }
    for (name, target) in TARGETS {
        let mut count = 0;
        for entry in fs::read_dir(corpus_dir(name)).unwrap() {
            let path = entry.unwrap().path();
            let data = fs::read(&path).unwrap();
            if let Err(bug) = target(&data) {
                panic!("{}: {bug}", path.display());
            }
            count += 1;
        }
        assert!(count >= 3, "corpus of {name} has only {count} files");
    }
}

/// Regression inputs found while writing the decoders, kept as named tests.
#[test]
fn regressions() {
    // A block whose restart count claims more restarts than fit.
    assert!(fuzzing::block(&[0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]).is_ok());
    // A block with one restart pointing at itself and no entries.
    assert!(fuzzing::block(&[0, 0, 0, 0, 1, 0, 0, 0]).is_ok());
    // A varint longer than five bytes in an entry header.
    assert!(fuzzing::block(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1, 0, 0, 0]).is_ok());
    // A restart point at an entry that shares a prefix: once it scanned forward and
    // failed backward; now both directions refuse it.
    assert!(fuzzing::block(&hand_made_block(true)).is_ok());
    assert!(fuzzing::block(&hand_made_block(false)).is_ok());
    assert!(fuzzing::table(&[]).is_ok());
    assert!(fuzzing::footer(&[0; 72]).is_ok());
    assert!(fuzzing::filter(&[]).is_ok());
    assert!(fuzzing::properties(&[1, 0, 0, 0]).is_ok());
    assert!(fuzzing::compressed_block(&[]).is_ok());
    assert!(fuzzing::range_del_block(&[]).is_ok());
    // A fragment count of 4 billion in a four-byte block: refused unallocated.
    assert!(fuzzing::range_del_block(&[0xff, 0xff, 0xff, 0xff]).is_ok());
    // A stated raw length of 4 GiB - 1 before a two-byte payload: refused unallocated.
    assert!(fuzzing::compressed_block(&[0, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x10, b'a']).is_ok());
    assert!(fuzzing::compressed_block(&[1, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x28, 0xb5]).is_ok());
}

/// Tables the seeds are cut from.
fn seed_tables() -> Vec<(&'static str, Vec<u8>)> {
    let mut plain = Model::new();
    for (i, word) in ["apple", "banana", "cherry", "date"].iter().enumerate() {
        plain.insert(
            quickcache_sstable::InternalKey::new(
                word.as_bytes(),
                seq(0),
                quickcache_sstable::ValueKind::Value,
            ),
            vec![i as u8; i * 3],
        );
    }
    let specs = [
        ("empty", Model::new(), TableOptions::default()),
        ("plain", plain, TableOptions::default()),
        ("versions", sample_model(8), TableOptions::default()),
        (
            "blocks",
            sample_model(20),
            TableOptions {
                block_size: 64,
                restart_interval: 2,
                bloom_bits_per_key: 10,
                compression: Compression::None,
            },
        ),
        (
            "nofilter",
            sample_model(6),
            TableOptions {
                block_size: 128,
                restart_interval: 1,
                bloom_bits_per_key: 0,
                compression: Compression::None,
            },
        ),
        (
            "lz4",
            sample_model(40),
            TableOptions {
                block_size: 256,
                compression: Compression::Lz4,
                ..TableOptions::default()
            },
        ),
        (
            "zstd",
            sample_model(40),
            TableOptions {
                block_size: 256,
                compression: Compression::Zstd,
                ..TableOptions::default()
            },
        ),
    ];
    let fs = SimFs::new(5);
    fs.create_dir_all(Path::new("/s")).unwrap();
    specs
        .into_iter()
        .map(|(name, model, options)| {
            let path = Path::new("/s/t.sst");
            let mut b = TableBuilder::new(&fs, path, options).unwrap();
            model
                .iter()
                .for_each(|(k, v)| b.add(k.as_ref(), v).unwrap());
            b.finish().unwrap();
            (name, fs.read_file(path).unwrap())
        })
        .collect()
}

/// `bytes[offset..offset + size]` for the handle at `at` in the footer.
fn block_at(table: &[u8], at: usize) -> Vec<u8> {
    let footer = &table[table.len() - 72..];
    let offset = u64::from_le_bytes(footer[at..at + 8].try_into().unwrap()) as usize;
    let size = u64::from_le_bytes(footer[at + 8..at + 16].try_into().unwrap()) as usize;
    table[offset..offset + size].to_vec()
}

fn write_seeds() {
    let write = |target: &str, name: &str, bytes: &[u8]| {
        fs::create_dir_all(corpus_dir(target)).unwrap();
        fs::write(corpus_dir(target).join(format!("seed-{name}")), bytes).unwrap();
    };
    // Seeds are named by format version (`seed-v3-*`); the `seed-*` files before
    // them hold version 1 tables, `seed-v2-*` version 2 ones, kept as inputs the
    // reader still accepts.
    for (name, table) in seed_tables() {
        let name = &format!("v{FORMAT_VERSION}-{name}");
        write("table", name, &table);
        write("footer", name, &table[table.len() - 72..]);
        write("properties", name, &block_at(&table, 32));
        if !name.ends_with("nofilter") {
            write("filter", name, &block_at(&table, 16));
        }
        // The index block is a block like any other; so is the first data block, whose
        // length is the first index entry's size (read from the index's first entry).
        let index = block_at(&table, 0);
        write("block", &format!("{name}-index"), &index);
        for (selector, kind) in [(0u8, Compression::Lz4), (1, Compression::Zstd)] {
            if let Some(stored) = fuzzing::compress_block(kind, &index.repeat(3)) {
                let seed = [&[selector][..], &stored].concat();
                write("compressed_block", &format!("{name}-index-{kind}"), &seed);
            }
        }
    }
    write("block", "hand-made", &hand_made_block(false));
    for (name, table) in range_del_tables() {
        write("table", &name, &table);
        write("range_del_block", &name, &range_del_block(&table));
    }
    write("range_del_block", "empty", &[0, 0, 0, 0]);
}

/// Tables with range tombstones (overlapping ones, so that a fragment has a stack).
fn range_del_tables() -> Vec<(String, Vec<u8>)> {
    let fs = SimFs::new(6);
    fs.create_dir_all(Path::new("/r")).unwrap();
    let path = Path::new("/r/t.sst");
    [0usize, 1, 5]
        .into_iter()
        .map(|n| {
            let mut b = TableBuilder::new(&fs, path, small_blocks()).unwrap();
            sample_model(30)
                .iter()
                .for_each(|(k, v)| b.add(k.as_ref(), v).unwrap());
            for i in 0..n {
                let (start, end) = (
                    format!("key-{:05}", i * 20),
                    format!("key-{:05}", i * 20 + 45),
                );
                b.add_range_tombstone(RangeTombstone::new(start, end, seq(7 + i as u64 * 40)))
                    .unwrap();
            }
            b.finish().unwrap();
            (
                format!("v{FORMAT_VERSION}-range-dels-{n}"),
                fs.read_file(path).unwrap(),
            )
        })
        .collect()
}

/// The range-deletion block's contents: between the index block's trailer and the
/// properties block (empty if they touch).
fn range_del_block(table: &[u8]) -> Vec<u8> {
    let footer = &table[table.len() - 72..];
    let at = |i: usize| u64::from_le_bytes(footer[i..i + 8].try_into().unwrap()) as usize;
    let index_end = at(0) + at(8) + 9;
    let properties = at(32);
    table[index_end..properties.saturating_sub(9).max(index_end)].to_vec()
}

/// Two entries, the second sharing a byte with the first, written byte by byte; with
/// `restart_second` the second is also (wrongly) listed as a restart point.
fn hand_made_block(restart_second: bool) -> Vec<u8> {
    let mut b = Vec::new();
    let key = |user: &[u8], seqno: u64| [user, &(seqno << 8 | 1).to_le_bytes()].concat();
    let (k1, k2) = (key(b"ab", 2), key(b"ac", 1));
    b.extend_from_slice(&[0, k1.len() as u8, 1]);
    b.extend_from_slice(&k1);
    b.push(b'x');
    let second = b.len() as u32;
    b.extend_from_slice(&[1, (k2.len() - 1) as u8, 0]);
    b.extend_from_slice(&k2[1..]);
    b.extend_from_slice(&0u32.to_le_bytes());
    if restart_second {
        b.extend_from_slice(&second.to_le_bytes());
    }
    b.extend_from_slice(&(1 + u32::from(restart_second)).to_le_bytes());
    b
}
