//! Replays every committed fuzz seed (`fuzz/corpus/wal_segment/`) through the same code
//! the fuzz target runs (`quickcache_wal::fuzzing::wal_segment`), in ordinary
//! `cargo test`; and names every crash the fuzzer found as a regression test.
//!
//! The seeds are written by this file too: `QUICKCACHE_WRITE_SEEDS=1 cargo test -p
//! quickcache-wal --test fuzz_corpus` (re)creates the `seed-*` files from segments
//! built here; files added by fuzzing runs are kept.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]

use std::fs;
use std::path::{Path, PathBuf};

use quickcache_wal::frame::{encode, encode_segment_header, encode_sync_mark};
use quickcache_wal::{SEGMENT_HEADER_LEN, SegmentId, fuzzing};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/wal_segment")
}

/// Segment 1 (the number the fuzz target reads data as) holding `payloads`.
fn segment(payloads: &[&[u8]]) -> Vec<u8> {
    let mut bytes = encode_segment_header(SegmentId(1)).to_vec();
    for p in payloads {
        let at = bytes.len() as u64;
        encode(&mut bytes, SegmentId(1), at, p).unwrap();
    }
    bytes
}

/// The seeds: intact segments, and each kind of damage a crash or a bad disk leaves.
fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let three = segment(&[b"alpha", b"beta", b"gamma"]);
    let many: Vec<Vec<u8>> = (0..40u8).map(|i| vec![i; usize::from(i) * 3]).collect();
    let many = segment(&many.iter().map(Vec::as_slice).collect::<Vec<_>>());
    let mut zero_tail = three.clone();
    zero_tail.extend_from_slice(&[0; 64]);
    let mut garbage_tail = three.clone();
    garbage_tail.extend((0..50u8).map(|i| i.wrapping_mul(97).wrapping_add(13)));
    let mut flipped = three.clone();
    flipped[SEGMENT_HEADER_LEN + 16 + 2] ^= 0x04;
    let mut bad_header = three.clone();
    bad_header[5] ^= 0xFF;
    let mut other_segment = encode_segment_header(SegmentId(2)).to_vec();
    other_segment.extend_from_slice(&three[SEGMENT_HEADER_LEN..]);
    let mut huge_length = three.clone();
    huge_length.extend_from_slice(&[0xFF; 16]);
    // A segment a crash left preallocated: records, then zeros to the reserved size.
    let preallocated = |mut bytes: Vec<u8>| {
        bytes.resize(4096, 0);
        bytes
    };
    let mut torn_in_preallocated = three.clone();
    let len = torn_in_preallocated.len();
    torn_in_preallocated[len - 7..].fill(0);
    // The frames of a segment of versions 1 to 4 are those of the current
    // version; only the header's version (and so its checksum) differs.
    let older = |version: u32| {
        let mut bytes = three.clone();
        bytes[8..12].copy_from_slice(&version.to_le_bytes());
        let sum = xxhash_rust::xxh3::xxh3_64(&bytes[..24]);
        bytes[24..32].copy_from_slice(&sum.to_le_bytes());
        bytes
    };
    // Version 4: sync marks between records, and a hole (zeroed bytes of one
    // record) before intact records, with and without a later mark covering it.
    let marked = |claim: Option<u64>| {
        let mut bytes = segment(&[b"alpha", b"beta"]);
        let first_end = bytes.len() - (16 + 4);
        let at = bytes.len() as u64;
        encode_sync_mark(&mut bytes, SegmentId(1), at, first_end as u64);
        let at = bytes.len() as u64;
        encode(&mut bytes, SegmentId(1), at, b"gamma").unwrap();
        if let Some(claim) = claim {
            let at = bytes.len() as u64;
            encode_sync_mark(&mut bytes, SegmentId(1), at, claim);
            let at = bytes.len() as u64;
            encode(&mut bytes, SegmentId(1), at, b"delta").unwrap();
            bytes[first_end..first_end + 10].fill(0);
        }
        bytes
    };
    vec![
        ("seed-empty", Vec::new()),
        ("seed-version-3-three-records", older(3)),
        ("seed-version-4-three-records", older(4)),
        ("seed-sync-marks", marked(None)),
        ("seed-hole-no-mark-covers", marked(Some(10))),
        ("seed-hole-a-mark-covers", marked(Some(1 << 20))),
        ("seed-version-1-three-records", older(1)),
        ("seed-version-2-three-records", older(2)),
        ("seed-header-only", segment(&[])),
        ("seed-three-records", three.clone()),
        ("seed-forty-records", many),
        ("seed-large-record", segment(&[&[0xA5; 3000], b"after"])),
        ("seed-torn-in-header", three[..20].to_vec()),
        (
            "seed-torn-in-record-header",
            three[..three.len() - 15].to_vec(),
        ),
        ("seed-torn-in-payload", three[..three.len() - 2].to_vec()),
        ("seed-zero-filled-tail", zero_tail),
        ("seed-garbage-tail", garbage_tail),
        ("seed-flip-then-intact", flipped),
        ("seed-damaged-segment-header", bad_header),
        ("seed-other-segment-number", other_segment),
        ("seed-huge-length", huge_length),
        ("seed-preallocated-empty", preallocated(segment(&[]))),
        ("seed-preallocated-three", preallocated(three.clone())),
        (
            "seed-preallocated-torn-record",
            preallocated(torn_in_preallocated),
        ),
        (
            "seed-preallocated-flip-then-intact",
            preallocated(flipped_copy(&three)),
        ),
    ]
}

fn flipped_copy(bytes: &[u8]) -> Vec<u8> {
    let mut bytes = bytes.to_vec();
    bytes[SEGMENT_HEADER_LEN + 16 + 2] ^= 0x04;
    bytes
}

fn write_seeds() {
    let dir = corpus_dir();
    fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in seeds() {
        fs::write(dir.join(name), bytes).unwrap();
    }
}

#[test]
fn every_seed_passes_the_target() {
    if std::env::var_os("QUICKCACHE_WRITE_SEEDS").is_some() {
        write_seeds();
    }
    let mut count = 0;
    for entry in fs::read_dir(corpus_dir()).unwrap() {
        let path = entry.unwrap().path();
        let data = fs::read(&path).unwrap();
        if let Err(bug) = fuzzing::wal_segment(&data) {
            panic!("{}: {bug}", path.display());
        }
        count += 1;
    }
    assert!(count >= seeds().len(), "corpus has only {count} files");
}

#[test]
fn the_built_seeds_pass_the_target_too() {
    for (name, bytes) in seeds() {
        if let Err(bug) = fuzzing::wal_segment(&bytes) {
            panic!("{name}: {bug}");
        }
    }
}

/// The committed seeds double as golden files: a change to the encoder's bytes fails
/// here, and must come with a format version bump (`docs/format/wal.md`).
#[test]
fn the_committed_seeds_are_what_the_encoder_writes() {
    for (name, bytes) in seeds() {
        let committed = fs::read(corpus_dir().join(name)).unwrap();
        assert!(
            committed == bytes,
            "{name} differs from what the encoder writes now"
        );
    }
}
