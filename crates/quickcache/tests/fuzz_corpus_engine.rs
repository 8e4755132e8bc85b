//! Replays every committed seed of the `engine` fuzz target (`fuzz/corpus/engine/`)
//! through the same code the target runs (`quickcache_stress::fuzzing::engine`), in
//! ordinary `cargo test`; every crash the fuzzer finds becomes a named test here.
//!
//! `QUICKCACHE_WRITE_SEEDS=1 cargo test -p quickcache --test fuzz_corpus_engine`
//! (re)creates the `seed-*` files; files added by fuzzing runs are kept.

#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail by panicking")]

mod support;

use std::fs;
use std::path::{Path, PathBuf};

use quickcache_stress::fuzzing::engine;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/engine")
}

/// One step: opcode (see `next_op`: 0-4 put, 5 delete, 6 put then range delete, 7
/// batch (24, 7 + 17: a batch of puts with a time to live), 8 synced put,
/// 9 flush, 10 compact, 11 sync, 12 check (29: a checkpoint, opened and compared;
/// 46: an ingest of up to three keys), 13 reopen, 14 power loss, 15 buffered put,
/// 16 drop and re-create keyspace b) and four argument bytes; a key byte also picks
/// the keyspace (0-23 default, 24-47 a, 48-71 b, repeating).
fn step(code: u8, args: [u8; 4]) -> Vec<u8> {
    let mut s = vec![code];
    s.extend_from_slice(&args);
    s
}

fn program(steps: &[(u8, [u8; 4])]) -> Vec<u8> {
    steps.iter().flat_map(|&(c, a)| step(c, a)).collect()
}

fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let many_puts: Vec<(u8, [u8; 4])> = (0..120u8).map(|i| (i % 5, [i, 60, i / 3, 9])).collect();
    let mut flush_crash = many_puts.clone();
    flush_crash.extend([(9, [0; 4]), (14, [0; 4]), (12, [0; 4])]);
    let mut mixed = Vec::new();
    for i in 0..60u8 {
        mixed.push((i % 16, [i.wrapping_mul(7), 40, i, 3]));
    }
    let mut range_deletes: Vec<(u8, [u8; 4])> = (0..24u8).map(|i| (i % 5, [i, 30, 0, 0])).collect();
    range_deletes.extend([
        (9, [0; 4]),
        (6, [3, 4, 26, 0]),
        (12, [0; 4]),
        (9, [0; 4]),
        (0, [5, 9, 0, 0]),
        (10, [0; 4]),
        (12, [0; 4]),
        (6, [30, 5, 0, 0]),
        (14, [0; 4]),
        (12, [0; 4]),
        (13, [0; 4]),
        (12, [0; 4]),
    ]);
    vec![
        ("seed-empty", Vec::new()),
        ("seed-range-deletes", program(&range_deletes)),
        (
            "seed-put-check",
            program(&[(0, [1, 10, 0, 0]), (12, [0; 4])]),
        ),
        (
            "seed-synced-then-power-loss",
            program(&[
                (0, [1, 10, 0, 0]),
                (8, [2, 10, 0, 0]),
                (0, [3, 10, 0, 0]),
                (14, [0; 4]),
            ]),
        ),
        (
            "seed-batch-reopen",
            program(&[
                (7, [1, 10, 2, 3]),
                (13, [0; 4]),
                (5, [1, 0, 0, 0]),
                (12, [0; 4]),
            ]),
        ),
        ("seed-flushes-then-power-loss", program(&flush_crash)),
        (
            "seed-compact-reopen",
            program(&[
                (0, [1, 200, 0, 0]),
                (9, [0; 4]),
                (0, [1, 20, 0, 0]),
                (9, [0; 4]),
                (10, [0; 4]),
                (13, [0; 4]),
                (12, [0; 4]),
            ]),
        ),
        (
            "seed-buffered-power-loss",
            program(&[
                (15, [1, 10, 0, 0]),
                (11, [0; 4]),
                (15, [2, 10, 0, 0]),
                (14, [0; 4]),
            ]),
        ),
        ("seed-mixed", program(&mixed)),
        // Key bytes 24..48 write to keyspace a, 48..72 to b (see `keyspace`).
        (
            "seed-keyspace-batches-power-loss",
            program(&[
                (7, [30, 10, 50, 3]),
                (8, [1, 10, 0, 0]),
                (7, [55, 10, 26, 60]),
                (0, [49, 10, 0, 0]),
                (14, [0; 4]),
                (12, [0; 4]),
            ]),
        ),
        // Code 24 (7 + 17): a batch of puts with a time to live, expired at once
        // when the length byte is odd (see `next_op`).
        (
            "seed-ttl-over-older-values",
            program(&[
                (0, [1, 10, 0, 0]),
                (0, [30, 10, 0, 0]),
                (9, [0; 4]),
                (24, [1, 3, 2, 10]),
                (24, [30, 5, 31, 2]),
                (12, [0; 4]),
                (9, [0; 4]),
                (10, [0; 4]),
                (12, [0; 4]),
                (24, [2, 4, 1, 30]),
                (14, [0; 4]),
                (12, [0; 4]),
                (13, [0; 4]),
            ]),
        ),
        (
            "seed-checkpoint-ingest",
            program(&[
                (0, [3, 20, 0, 0]),
                (0, [27, 20, 0, 0]),
                (0, [52, 20, 0, 0]),
                (6, [4, 4, 2, 0]),
                (46, [3, 2, 9, 0]),
                (29, [0; 4]),
                (15, [8, 10, 0, 0]),
                (14, [0; 4]),
                (12, [0; 4]),
                (9, [0; 4]),
                (46, [50, 2, 5, 0]),
                (6, [49, 3, 26, 0]),
                (29, [0; 4]),
                (10, [0; 4]),
                (29, [0; 4]),
                (13, [0; 4]),
            ]),
        ),
        (
            "seed-drop-keyspace-b",
            program(&[
                (0, [50, 20, 0, 0]),
                (0, [30, 20, 0, 0]),
                (9, [0; 4]),
                (16, [0; 4]),
                (0, [51, 20, 0, 0]),
                (14, [0; 4]),
                (13, [0; 4]),
                (12, [0; 4]),
            ]),
        ),
    ]
}

#[test]
fn every_seed_passes_the_target() {
    let _dog = support::watchdog("every_seed_passes_the_target");
    if std::env::var_os("QUICKCACHE_WRITE_SEEDS").is_some() {
        fs::create_dir_all(corpus_dir()).unwrap();
        for (name, bytes) in seeds() {
            fs::write(corpus_dir().join(name), bytes).unwrap();
        }
    }
    let mut count = 0;
    for entry in fs::read_dir(corpus_dir()).unwrap() {
        let path = entry.unwrap().path();
        if let Err(bug) = engine(&fs::read(&path).unwrap()) {
            panic!("{}: {bug}", path.display());
        }
        count += 1;
    }
    assert!(count >= seeds().len(), "corpus has only {count} files");
}

/// Found by the fuzzer (seed `regression-ingest-from-key-byte-255`): an ingest of
/// two keys from key byte 255 asked the table builder for key 255 twice (the harness
/// added with saturation), and the builder refused the duplicate. Harness bug; the
/// engine was right.
#[test]
fn an_ingest_from_the_last_key_byte_builds_one_key() {
    let ingest = 12 + 17 * 2;
    let bytes = program(&[(0, [1, 9, 0, 0]), (ingest, [255, 1, 3, 0]), (12, [0; 4])]);
    if let Err(bug) = engine(&bytes) {
        panic!("{bug}");
    }
}

#[test]
fn the_built_seeds_pass_the_target_too() {
    let _dog = support::watchdog("the_built_seeds_pass_the_target_too");
    for (name, bytes) in seeds() {
        if let Err(bug) = engine(&bytes) {
            panic!("{name}: {bug}");
        }
    }
}
