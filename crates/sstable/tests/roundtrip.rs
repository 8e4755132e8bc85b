//! Round trips: entries → table → gets, cursors and iterators that equal the entries.

#![allow(clippy::unwrap_used, reason = "test helpers fail the test loudly")]

mod common;

use std::path::Path;
use std::sync::Arc;

use common::*;
use quickcache_fs::{FileSystem, RealFs, SimFs};
use quickcache_sstable::conformance::{Model, check_cursor};
use quickcache_sstable::{
    Compression, Error, InternalKey, KeyRef, SeqNo, Table, TableBuilder, TableOptions, ValueKind,
};
use quickcheck::{QuickCheck, TestResult};

fn sim() -> (SimFs, &'static Path) {
    let fs = SimFs::new(7);
    fs.create_dir_all(Path::new("/db")).unwrap();
    (fs, Path::new("/db/t.sst"))
}

fn check_everything(table: &Table, model: &Model) {
    assert_eq!(table.properties().entry_count, model.len() as u64);
    table.verify().unwrap();
    check_gets(table, model);
    check_cursor(&mut table.cursor(), model);
    let want: Vec<_> = model.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    assert_eq!(entries(table), want);
    let mut rev: Vec<_> = table
        .iter()
        .rev()
        .map(|e| e.map(|(k, v)| (k, v.to_vec())).unwrap())
        .collect();
    rev.reverse();
    assert_eq!(rev, want);
    let plain_want = plain(model);
    let got: Vec<_> = table
        .iter_plain()
        .map(|e| e.map(|(k, v)| (k, v.to_vec())).unwrap())
        .collect();
    assert_eq!(got, plain_want);
    for (k, v) in &plain_want {
        assert_eq!(table.get_plain(k).unwrap().as_deref(), Some(v.as_slice()));
    }
}

/// Takes alternately from the front and the back, by a pattern, and checks that the
/// two halves meet exactly: nothing lost, nothing twice.
fn check_double_ended(table: &Table, model: &Model, pattern: u64) {
    let (mut front, mut back) = (Vec::new(), Vec::new());
    let mut it = table.iter_plain();
    for i in 0.. {
        let item = if pattern >> (i % 64) & 1 == 0 {
            it.next()
        } else {
            it.next_back()
        };
        let Some(item) = item else {
            // Both ends are exhausted once one is.
            assert!(it.next().is_none() && it.next_back().is_none());
            break;
        };
        let (k, v) = item.unwrap();
        if pattern >> (i % 64) & 1 == 0 {
            front.push((k, v.to_vec()))
        } else {
            back.push((k, v.to_vec()))
        }
    }
    back.reverse();
    front.extend(back);
    assert_eq!(front, plain(model));
}

#[test]
fn sample_tables_round_trip_with_various_options() {
    let model = sample_model(300);
    for options in [
        TableOptions::default(),
        small_blocks(),
        TableOptions {
            block_size: 1,
            restart_interval: 1,
            bloom_bits_per_key: 0,
            compression: Compression::None,
        },
        TableOptions {
            block_size: 100,
            restart_interval: 3,
            bloom_bits_per_key: 1,
            compression: Compression::None,
        },
        TableOptions {
            compression: Compression::Lz4,
            ..small_blocks()
        },
        TableOptions {
            compression: Compression::Zstd,
            ..TableOptions::default()
        },
    ] {
        let (fs, path) = sim();
        let meta = build(&fs, path, &model, options.clone());
        assert_eq!(meta.file_size, fs.size(path).unwrap());
        let table = Table::open(&fs, path).unwrap();
        assert_eq!(table.properties(), &meta.properties);
        assert_eq!(table.has_filter(), options.bloom_bits_per_key > 0);
        check_everything(&table, &model);
        for pattern in [
            0,
            u64::MAX,
            0xaaaa_aaaa_aaaa_aaaa,
            0x0f0f_0f0f_0f0f_0f0f,
            0x1234_5678_9abc_def1,
        ] {
            check_double_ended(&table, &model, pattern);
        }
    }
}

#[test]
fn empty_table() {
    let (fs, path) = sim();
    let meta = build(&fs, path, &Model::new(), TableOptions::default());
    assert_eq!(meta.properties.entry_count, 0);
    assert_eq!(meta.properties.smallest_key, None);
    let table = Table::open(&fs, path).unwrap();
    check_everything(&table, &Model::new());
    assert_eq!(table.get(b"x", SeqNo::MAX).unwrap(), None);
}

#[test]
fn metadata_describes_the_entries() {
    let model = sample_model(50);
    let (fs, path) = sim();
    let meta = build(&fs, path, &model, small_blocks());
    let p = &meta.properties;
    assert_eq!(p.smallest_key.as_ref(), model.keys().next());
    assert_eq!(p.largest_key.as_ref(), model.keys().last());
    assert_eq!(
        p.tombstone_count,
        model
            .keys()
            .filter(|k| k.kind == ValueKind::Tombstone)
            .count() as u64
    );
    assert_eq!(
        p.smallest_seqno,
        model.keys().map(|k| k.seqno).min().unwrap()
    );
    assert_eq!(
        p.largest_seqno,
        model.keys().map(|k| k.seqno).max().unwrap()
    );
    assert_eq!(
        p.raw_key_bytes,
        model.keys().map(|k| k.user_key.len() as u64).sum::<u64>()
    );
    assert_eq!(
        p.raw_value_bytes,
        model.values().map(|v| v.len() as u64).sum::<u64>()
    );
    assert!(p.data_block_count > 5);
}

#[test]
fn out_of_order_keys_are_refused_and_the_builder_goes_on() {
    let (fs, path) = sim();
    let mut b = TableBuilder::new(&fs, path, TableOptions::default()).unwrap();
    b.add(KeyRef::new(b"b", seq(5), ValueKind::Value), b"1")
        .unwrap();
    for bad in [
        KeyRef::new(b"a", seq(9), ValueKind::Value),
        KeyRef::new(b"b", seq(5), ValueKind::Value),
        KeyRef::new(b"b", seq(6), ValueKind::Value),
    ] {
        let err = b.add(bad, b"x").unwrap_err();
        assert!(
            matches!(err, Error::OutOfOrder { ref key, .. } if key.as_ref() == bad),
            "{err}"
        );
    }
    b.add(KeyRef::new(b"b", seq(4), ValueKind::Tombstone), b"")
        .unwrap();
    assert!(matches!(
        b.add_plain(b"a", b"").unwrap_err(),
        Error::OutOfOrder { .. }
    ));
    assert_eq!(b.finish().unwrap().properties.entry_count, 2);
}

#[test]
fn invalid_options_are_refused() {
    let (fs, path) = sim();
    for options in [
        TableOptions {
            block_size: 0,
            ..TableOptions::default()
        },
        TableOptions {
            restart_interval: 0,
            ..TableOptions::default()
        },
        TableOptions {
            bloom_bits_per_key: 1000,
            ..TableOptions::default()
        },
    ] {
        let err = TableBuilder::new(&fs, path, options).unwrap_err();
        assert!(matches!(err, Error::InvalidOption { .. }), "{err}");
    }
}

#[test]
fn values_outlive_the_table_and_tables_are_shared_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Table>();
    assert_send_sync::<quickcache_sstable::ValueRef>();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sst");
    let model = sample_model(500);
    build(&RealFs::new(), &path, &model, TableOptions::default());
    let table = Arc::new(Table::open(&RealFs::new(), &path).unwrap());
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let (table, model) = (Arc::clone(&table), model.clone());
            std::thread::spawn(move || check_gets(&table, &model))
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    let (k, v) = model
        .iter()
        .find(|(k, _)| k.kind == ValueKind::Value)
        .unwrap();
    let value = table.get(&k.user_key, k.seqno).unwrap().unwrap().value;
    drop(table);
    assert_eq!(&*value, v.as_slice());
}

fn prop_round_trip(
    entries: Vec<(Vec<u8>, u16, bool, Vec<u8>)>,
    block: u16,
    restart: u8,
    bits: u8,
) -> TestResult {
    let model: Model = entries
        .into_iter()
        .map(|(k, s, tomb, v)| {
            let kind = if tomb {
                ValueKind::Tombstone
            } else {
                ValueKind::Value
            };
            (
                InternalKey::new(k, seq(u64::from(s)), kind),
                if tomb { Vec::new() } else { v },
            )
        })
        .collect();
    let options = TableOptions {
        block_size: usize::from(block % 2048) + 1,
        restart_interval: usize::from(restart % 17) + 1,
        bloom_bits_per_key: usize::from(bits % 16),
        compression: [Compression::None, Compression::Lz4, Compression::Zstd]
            [usize::from(bits / 16) % 3],
    };
    let (fs, path) = sim();
    build(&fs, path, &model, options);
    check_everything(&Table::open(&fs, path).unwrap(), &model);
    TestResult::passed()
}

#[test]
fn random_tables_round_trip() {
    QuickCheck::new().tests(150).quickcheck(
        prop_round_trip as fn(Vec<(Vec<u8>, u16, bool, Vec<u8>)>, u16, u8, u8) -> TestResult,
    );
}
