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
    Compression, FORMAT_VERSION, FragmentedRangeTombstones, InternalKey, RangeTombstone, SeqNo,
    Table, TableBuilder, TableOptions, Timestamp, ValueKind, encode_expiring,
};

/// Version 1, written before compression existed (every block uncompressed): kept
/// to prove that such tables still read.
const FIXTURE_V1: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/golden-v1.sst");
/// Version 2, data blocks compressed with lz4 where that saves an eighth; no
/// range-deletion block (version 2 had none): kept to prove it still reads.
const FIXTURE_V2: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/golden-v2.sst");
/// Version 3: version 2's entries and compression, plus a range-deletion block.
const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/golden-v3.sst");

/// The range tombstones of the version 3 fixture: overlapping, so that the block
/// holds a fragment with a stack of two.
fn tombstones() -> Vec<RangeTombstone> {
    vec![
        RangeTombstone::new("key-00100", "key-00200", SeqNo::new(900).unwrap()),
        RangeTombstone::new("key-00150", "key-00300", SeqNo::new(50).unwrap()),
    ]
}

/// Version 3 with expiring values: as version 2, and some entries are expiring values
/// (kind 4).
const FIXTURE_EXPIRING: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/golden-v3-expiring.sst"
);

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
    let mut b = TableBuilder::new(&fs, Path::new("/g/golden.sst"), options()).unwrap();
    for (k, v) in &sample_model(60) {
        b.add(k.as_ref(), v).unwrap();
    }
    for t in tombstones() {
        b.add_range_tombstone(t).unwrap();
    }
    b.finish().unwrap();
    fs.read_file(Path::new("/g/golden.sst")).unwrap()
}

fn rebuild_expiring() -> Vec<u8> {
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
    assert_eq!(
        FORMAT_VERSION, 3,
        "a new format version needs a new fixture file"
    );
    for (bytes, fixture) in [(rebuild(), FIXTURE), (rebuild_expiring(), FIXTURE_EXPIRING)] {
        if std::env::var_os("QUICKCACHE_BLESS").is_some() {
            std::fs::write(fixture, &bytes).unwrap();
        }
        let committed = std::fs::read(fixture).unwrap();
        assert!(
            bytes == committed,
            "the table format changed ({fixture}): {} bytes now, {} committed",
            bytes.len(),
            committed.len()
        );
    }
}

#[test]
fn the_committed_table_reads_back_with_its_range_tombstones() {
    let table = Table::open(&RealFs::new(), Path::new(FIXTURE)).unwrap();
    table.verify().unwrap();
    assert_eq!(table.properties().format_version, 3);
    let want = FragmentedRangeTombstones::new(tombstones());
    assert_eq!(table.range_tombstones(), &want);
    assert_eq!(want.fragments().len(), 3);
    // key-00105 (i = 15) has versions 151..=151; the tombstone at 900 hides it.
    let hidden = table.get(b"key-00105", SeqNo::MAX).unwrap().unwrap();
    assert!(hidden.is_tombstone() && hidden.seqno.get() == 900);
    assert!(
        table
            .get(b"key-00105", SeqNo::new(899).unwrap())
            .unwrap()
            .is_some_and(|e| !e.is_tombstone())
    );
    // Outside every tombstone the entries read as written.
    let model = sample_model(60);
    let outside: Model = model
        .into_iter()
        .filter(|(k, _)| {
            k.user_key.as_slice() < b"key-00100".as_slice()
                || k.user_key.as_slice() >= b"key-00300".as_slice()
        })
        .collect();
    check_cursor(&mut table.cursor(), &sample_model(60));
    for k in outside.keys() {
        let got = table.get(&k.user_key, SeqNo::MAX).unwrap();
        assert!(got.is_some(), "{k:?}");
    }
}

#[test]
fn the_committed_expiring_table_reads_back() {
    let model = expiring_model(60);
    let expiring = model.keys().filter(|k| k.kind == ValueKind::ExpiringValue);
    assert!(expiring.count() > 5, "the fixture holds expiring values");
    let table = Table::open(&RealFs::new(), Path::new(FIXTURE_EXPIRING)).unwrap();
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
    assert!(table.range_tombstones().is_empty());
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
