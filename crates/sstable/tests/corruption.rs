//! Damaged tables: every single-byte flip, every truncation, foreign and empty files.
//! Each must give an error or the correct answer; never a panic, never a wrong value.

#![allow(clippy::unwrap_used, reason = "test helpers fail the test loudly")]

mod common;

use common::*;
use quickcache_fs::{FileSystem, Mapping, SimFs};
use quickcache_sstable::conformance::Model;
use quickcache_sstable::{Compression, Cursor, Error, InternalKey, SeqNo, Table, TableOptions};
use std::path::Path;

fn small_table() -> (Model, Vec<u8>) {
    let model = sample_model(12);
    let fs = SimFs::new(1);
    fs.create_dir_all(Path::new("/d")).unwrap();
    let path = Path::new("/d/t.sst");
    build(
        &fs,
        path,
        &model,
        TableOptions {
            block_size: 64,
            restart_interval: 2,
            bloom_bits_per_key: 10,
            compression: Compression::None,
        },
    );
    (model, fs.read_file(path).unwrap())
}

/// Reads everything from a possibly damaged table; any value it returns must be right.
fn read_all_or_error(table: &Table, model: &Model) {
    for key in probe_keys(model) {
        for snap in [SeqNo::MAX, seq(15), SeqNo::ZERO] {
            if let Ok(got) = table.get(&key, snap) {
                assert_eq!(
                    answer(got),
                    model_get(model, &key, snap),
                    "wrong answer for {key:?}@{snap}"
                );
            }
        }
    }
    let mut c = table.cursor();
    let mut seen: Vec<(InternalKey, Vec<u8>)> = Vec::new();
    let mut step = c.seek_to_first();
    while step.is_ok() {
        let Some(k) = c.key() else { break };
        seen.push((k.to_owned(), c.value().unwrap().to_vec()));
        step = c.next();
    }
    let want: Vec<_> = model.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    if step.is_ok() {
        assert_eq!(
            seen, want,
            "a full scan without error must be the whole table"
        );
    } else {
        assert_eq!(
            seen,
            want[..seen.len()],
            "a scan that fails must be right up to the failure"
        );
    }
}

#[test]
fn every_byte_flip_is_an_error_or_a_correct_answer() {
    let (model, bytes) = small_table();
    let clean = Table::from_mapping(Mapping::new(bytes.clone()), "t.sst").unwrap();
    clean.verify().unwrap();
    read_all_or_error(&clean, &model);
    for at in 0..bytes.len() {
        for mask in [0x01u8, 0x80, 0xff] {
            let mut bad = bytes.clone();
            bad[at] ^= mask;
            match Table::from_mapping(Mapping::new(bad), "t.sst") {
                Err(e) => assert!(e.is_corruption(), "flip at {at}: {e}"),
                Ok(table) => {
                    // Every byte is covered by a checksum: the full check must notice.
                    let err = table
                        .verify()
                        .expect_err(&format!("flip at {at} passed verify"));
                    assert!(err.is_corruption(), "{err}");
                    read_all_or_error(&table, &model);
                }
            }
        }
    }
}

#[test]
fn every_truncation_and_extension_is_an_error() {
    let (_, bytes) = small_table();
    for len in 0..bytes.len() {
        let err = Table::from_mapping(Mapping::new(bytes[..len].to_vec()), "t.sst").unwrap_err();
        assert!(err.is_corruption(), "length {len}: {err}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(Table::from_mapping(Mapping::new(longer), "t.sst").is_err());
    let mut prefixed = vec![0u8];
    prefixed.extend_from_slice(&bytes);
    assert!(Table::from_mapping(Mapping::new(prefixed), "t.sst").is_err());
}

#[test]
fn empty_foreign_and_zeroed_files_are_errors_naming_the_file() {
    let (_, bytes) = small_table();
    let inputs: [Vec<u8>; 4] = [
        Vec::new(),
        b"hello, I am not a table".repeat(10),
        vec![0; bytes.len()],
        vec![0xff; 4096],
    ];
    for input in inputs {
        let err = Table::from_mapping(Mapping::new(input), "/data/000042.sst").unwrap_err();
        assert!(err.is_corruption());
        assert!(err.to_string().contains("/data/000042.sst"), "{err}");
    }
}

#[test]
fn a_damaged_data_block_is_reported_with_block_and_offset() {
    let (model, bytes) = small_table();
    let table = Table::from_mapping(Mapping::new(bytes.clone()), "t.sst").unwrap();
    // Flip a byte inside a data block that is not the first (blocks are ~64 bytes).
    let second = 100;
    assert!(table.properties().data_block_count > 3 && second < filter_offset(&bytes));
    let mut bad = bytes;
    bad[second] ^= 0x40;
    let table = Table::from_mapping(Mapping::new(bad), "t.sst").unwrap();
    let err = table.verify().unwrap_err();
    assert!(
        matches!(err, Error::ChecksumMismatch { ref block, offset, .. } if block.starts_with("data block") && offset <= second as u64),
        "{err}"
    );
    let msg = err.to_string();
    assert!(msg.contains("t.sst") && msg.contains("data block"), "{msg}");
    // Gets of keys in other blocks still answer correctly; the damaged one errors.
    let mut errors = 0;
    for key in probe_keys(&model) {
        match table.get(&key, SeqNo::MAX) {
            Ok(got) => assert_eq!(answer(got), model_get(&model, &key, SeqNo::MAX)),
            Err(e) => {
                assert!(e.is_corruption());
                errors += 1;
            }
        }
    }
    assert!(errors > 0, "no lookup touched the damaged block");
}

#[test]
fn a_damaged_filter_never_answers_not_found() {
    let (model, bytes) = small_table();
    let table = Table::from_mapping(Mapping::new(bytes.clone()), "t.sst").unwrap();
    assert!(table.has_filter());
    // The filter block follows the data blocks; damage its first line.
    let filter_start = filter_offset(&bytes);
    let mut bad = bytes;
    for b in &mut bad[filter_start..filter_start + 64] {
        *b = 0;
    }
    let table = Table::from_mapping(Mapping::new(bad), "t.sst").unwrap();
    assert!(!table.has_filter());
    assert!(
        matches!(table.verify().unwrap_err(), Error::ChecksumMismatch { ref block, .. } if block == "filter block")
    );
    check_gets(&table, &model);
}

/// The filter block's offset, read from the footer (bytes 16..24 of the 72-byte footer).
fn filter_offset(bytes: &[u8]) -> usize {
    let footer = &bytes[bytes.len() - 72..];
    u64::from_le_bytes(footer[16..24].try_into().unwrap()) as usize
}
