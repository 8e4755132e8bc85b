//! The golden table: a fixture committed with the tests, so any change of the format
//! (deliberate or not) is noticed. If the format changes on purpose, bump
//! `FORMAT_VERSION`, document it in docs/format/sstable.md and regenerate with
//! `QUICKCACHE_BLESS=1 cargo test -p quickcache-sstable --test golden`.

#![allow(clippy::unwrap_used, reason = "test helpers fail the test loudly")]

mod common;

use std::path::Path;

use common::*;
use quickcache_fs::{FileSystem, RealFs, SimFs};
use quickcache_sstable::conformance::check_cursor;
use quickcache_sstable::{FORMAT_VERSION, Table, TableOptions};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/golden-v1.sst");

fn options() -> TableOptions {
    TableOptions {
        block_size: 512,
        restart_interval: 4,
        bloom_bits_per_key: 10,
    }
}

fn rebuild() -> Vec<u8> {
    let fs = SimFs::new(3);
    fs.create_dir_all(Path::new("/g")).unwrap();
    build(
        &fs,
        Path::new("/g/golden.sst"),
        &sample_model(60),
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
        FORMAT_VERSION, 1,
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
    let model = sample_model(60);
    let table = Table::open(&RealFs::new(), Path::new(FIXTURE)).unwrap();
    table.verify().unwrap();
    assert_eq!(table.properties().format_version, 1);
    assert_eq!(table.properties().entry_count, model.len() as u64);
    assert!(table.properties().data_block_count > 3);
    check_gets(&table, &model);
    check_cursor(&mut table.cursor(), &model);
}
