//! Damaged tables: every single-byte flip, every truncation, foreign and empty files.
//! Each must give an error or the correct answer; never a panic, never a wrong value.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]

mod common;

use common::*;
use quickcache_fs::{FileSystem, Mapping, SimFs};
use quickcache_sstable::conformance::Model;
use quickcache_sstable::{Compression, Cursor, Error, InternalKey, SeqNo, Table, TableOptions};
use std::path::Path;

fn small_table() -> (Model, Vec<u8>) {
    table_with(Compression::None, 64)
}

fn table_with(compression: Compression, block_size: usize) -> (Model, Vec<u8>) {
    let model = sample_model(12);
    let fs = SimFs::new(1);
    fs.create_dir_all(Path::new("/d")).unwrap();
    let path = Path::new("/d/t.sst");
    build(
        &fs,
        path,
        &model,
        TableOptions {
            block_size,
            restart_interval: 2,
            bloom_bits_per_key: 10,
            compression,
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
    every_flip_is_caught(&model, &bytes);
}

#[test]
fn every_byte_flip_of_a_compressed_table_is_an_error_or_a_correct_answer() {
    for kind in [Compression::Lz4, Compression::Zstd] {
        let (model, bytes) = table_with(kind, 256);
        let table = Table::from_mapping(Mapping::new(bytes.clone()), "t.sst").unwrap();
        let blocks = table.data_block_compression().unwrap();
        assert!(blocks.contains(&kind), "{kind}: {blocks:?}");
        every_flip_is_caught(&model, &bytes);
    }
}

/// Data block 0's stored contents in a table: from 0 to the first position whose
/// trailer (a known compression byte and the checksum seeded with offset 0) checks.
fn first_block_len(bytes: &[u8]) -> usize {
    (1..bytes.len() - 9)
        .find(|&n| {
            let sum = xxhash_rust::xxh3::xxh3_64_with_seed(&bytes[..=n], 0);
            (1..=3).contains(&bytes[n]) && bytes[n + 1..n + 9] == sum.to_le_bytes()
        })
        .unwrap()
}

#[test]
fn garbage_behind_a_valid_checksum_never_panics_and_names_file_and_offset() {
    // A writer bug (or a forged file) could store a payload that does not decompress
    // under a checksum that matches it: the decompressor must refuse it cleanly. (What
    // still decodes may read as other bytes: past a matching checksum nothing can
    // tell, as with an uncompressed block. Only panics and unnamed errors are bugs.)
    for kind in [Compression::Lz4, Compression::Zstd] {
        let (model, bytes) = table_with(kind, 256);
        let len = first_block_len(&bytes);
        assert_eq!(bytes[len], kind as u8);
        let mut errors = 0;
        for at in 0..len {
            let mut bad = bytes.clone();
            bad[at] ^= 0x5a;
            let sum = xxhash_rust::xxh3::xxh3_64_with_seed(&bad[..=len], 0);
            bad[len + 1..len + 9].copy_from_slice(&sum.to_le_bytes());
            let table = Table::from_mapping(Mapping::new(bad), "forged.sst").unwrap();
            let reads = probe_keys(&model)
                .into_iter()
                .map(|k| table.get(&k, SeqNo::MAX));
            let scan = table.iter().map(|kv| kv.map(|_| None));
            for e in reads.chain(scan).filter_map(Result::err) {
                assert!(
                    e.is_corruption() && e.to_string().contains("forged.sst"),
                    "{e}"
                );
            }
            if let Err(e) = table.verify() {
                assert!(e.is_corruption(), "{kind} at {at}: {e}");
                let msg = e.to_string();
                assert!(
                    msg.contains("forged.sst") && msg.contains("at offset"),
                    "{msg}"
                );
                // What decompression refuses is named by block and stored offset.
                if msg.contains("compressed block") {
                    assert!(msg.contains("data block 0"), "{msg}");
                }
                errors += 1;
            }
        }
        // Most damage to a compressed stream is noticed by decompression or decoding.
        assert!(errors * 2 > len, "{kind}: {errors} of {len} flips noticed");
    }
}

fn every_flip_is_caught(model: &Model, bytes: &[u8]) {
    let model = model.clone();
    let bytes = bytes.to_vec();
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
                    let Err(err) = table.verify() else {
                        panic!("flip at {at} passed verify");
                    };
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
