//! The golden table: a fixture committed with the tests, so any change of the format
//! (deliberate or not) is noticed. If the format changes on purpose, bump
//! `FORMAT_VERSION`, document it in docs/format/sstable.md and regenerate with
//! `QUICKCACHE_BLESS=1 cargo test -p quickcache-sstable --test golden`.

#![allow(clippy::unwrap_used, reason = "test helpers fail the test loudly")]

mod common;

use std::path::Path;

use common::*;
use quickcache_fs::{FileSystem, Mapping, RealFs, SimFs};
use quickcache_sstable::conformance::{Model, check_cursor};
use quickcache_sstable::{
    Compression, FORMAT_VERSION, InternalKey, Table, TableOptions, Timestamp, ValueKind,
    encode_expiring,
};

/// Version 1, written before compression existed (every block uncompressed): kept
/// to prove that such tables still read.
const FIXTURE_V1: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/golden-v1.sst");
/// Version 2, data blocks compressed with lz4 where that saves an eighth, written
/// before expiring values existed: kept to prove that such tables still read.
const FIXTURE_V2: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/golden-v2.sst");
/// Version 3: as version 2, and some entries are expiring values (kind 4).
const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/golden-v3.sst");

/// The sample model with every seventh plain value turned into an expiring one,
/// expiring at its sequence number in seconds.
fn expiring_model(keys: usize) -> Model {
    let mut model = Model::new();
    for (i, (key, value)) in sample_model(keys).into_iter().enumerate() {
        if key.kind != ValueKind::Value || i % 7 != 3 {
            model.insert(key, value);
            continue;
        }
        let mut stored = Vec::new();
        let at = Timestamp::from_millis(key.seqno.get() * 1000);
        encode_expiring(at, &value, &mut stored);
        let key = InternalKey::new(key.user_key, key.seqno, ValueKind::ExpiringValue);
        model.insert(key, stored);
    }
    model
}

fn options() -> TableOptions {
    TableOptions {
        block_size: 512,
        restart_interval: 4,
        bloom_bits_per_key: 10,
        compression: Compression::Lz4,
    }
}

fn rebuild() -> Vec<u8> {
    let fs = SimFs::new(3);
    fs.create_dir_all(Path::new("/g")).unwrap();
    build(
        &fs,
        Path::new("/g/golden.sst"),
        &expiring_model(60),
        options(),
    );
    fs.read_file(Path::new("/g/golden.sst")).unwrap()
}

#[test]
fn rebuilding_gives_the_committed_bytes() {
    let bytes = rebuild();
    if std::env::var_os("QUICKCACHE_BLESS").is_some() {
        std::fs::write(FIXTURE, &bytes).unwrap();
    }
    let committed = std::fs::read(FIXTURE).unwrap();
    assert_eq!(
        FORMAT_VERSION, 3,
        "a new format version needs a new fixture file"
    );
    assert!(
        bytes == committed,
        "the table format changed: {} bytes now, {} committed",
        bytes.len(),
        committed.len()
    );
}

#[test]
fn the_committed_table_reads_back() {
    let model = expiring_model(60);
    let expiring = model.keys().filter(|k| k.kind == ValueKind::ExpiringValue);
    assert!(expiring.count() > 5, "the fixture holds expiring values");
    let table = Table::open(&RealFs::new(), Path::new(FIXTURE)).unwrap();
    table.verify().unwrap();
    assert_eq!(table.properties().format_version, 3);
    assert_eq!(table.properties().entry_count, model.len() as u64);
    assert!(table.properties().data_block_count > 3);
    check_gets(&table, &model);
    check_cursor(&mut table.cursor(), &model);
    let v1 = std::fs::metadata(FIXTURE_V1).unwrap().len();
    assert!(
        table.file_size() < v1,
        "compressed blocks: {} bytes, {v1} uncompressed",
        table.file_size()
    );
}

#[test]
fn the_version_2_table_still_reads() {
    let model = sample_model(60);
    let table = Table::open(&RealFs::new(), Path::new(FIXTURE_V2)).unwrap();
    table.verify().unwrap();
    assert_eq!(table.properties().format_version, 2);
    assert_eq!(table.properties().entry_count, model.len() as u64);
    check_gets(&table, &model);
    check_cursor(&mut table.cursor(), &model);
}

#[test]
fn the_version_1_table_still_reads() {
    let model = sample_model(60);
    let table = Table::open(&RealFs::new(), Path::new(FIXTURE_V1)).unwrap();
    table.verify().unwrap();
    assert_eq!(table.properties().format_version, 1);
    assert_eq!(table.properties().entry_count, model.len() as u64);
    assert!(table.properties().data_block_count > 3);
    check_gets(&table, &model);
    check_cursor(&mut table.cursor(), &model);
}

#[test]
fn a_version_1_table_with_a_compressed_block_is_refused() {
    // Version 1 knew no compression: a valid lz4 trailer there is damage, not a block
    // to decompress. Rewrite data block 0's type byte to lz4 and fix its checksum.
    let mut bytes = std::fs::read(FIXTURE_V1).unwrap();
    let size = first_block_size(&bytes);
    bytes[size] = Compression::Lz4 as u8;
    let sum = xxhash_rust::xxh3::xxh3_64_with_seed(&bytes[..=size], 0);
    bytes[size + 1..size + 9].copy_from_slice(&sum.to_le_bytes());
    let table = Table::from_mapping(Mapping::new(bytes), "v1-lz4.sst").unwrap();
    let err = table.get_plain(b"key-00000").unwrap_err();
    assert!(err.is_corruption(), "{err}");
    assert!(err.to_string().contains("compression lz4"), "{err}");
}

/// The size of data block 0 of a table: the offset of the first index entry's handle
/// is not public, so find the block's end as the first position whose trailer checks.
fn first_block_size(bytes: &[u8]) -> usize {
    (1..bytes.len() - 9)
        .find(|&n| {
            let sum = xxhash_rust::xxh3::xxh3_64_with_seed(&bytes[..=n], 0);
            bytes[n] == 1 && bytes[n + 1..n + 9] == sum.to_le_bytes()
        })
        .unwrap()
}
