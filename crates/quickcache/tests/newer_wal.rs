#![allow(clippy::unwrap_used, reason = "tests fail by panicking")]
//! A WAL segment written by a newer format version (`docs/format/wal.md`: the `u32`
//! at offset 8 of the segment header, under the header checksum) is refused with
//! `is_newer_format()`, and the open changes nothing on disk.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use quickcache::{Db, Options, WAL_DIR};
use quickcache_wal::frame::encode_segment_header;
use quickcache_wal::{FORMAT_VERSION, SegmentId};

const VERSION_AT: usize = 8;
const CHECKSUM_AT: usize = 24;

/// XXH3-64 (seed 0) of an input of 17 to 32 bytes, the header checksum's case. The
/// facade's tests have no xxhash dependency, and the segment header is 24 bytes;
/// `the_local_checksum_matches_the_writers` pins this against the real encoder.
fn xxh3_64_17to32(input: &[u8]) -> u64 {
    const SECRET: [u8; 32] = [
        0xb8, 0xfe, 0x6c, 0x39, 0x23, 0xa4, 0x4b, 0xbe, 0x7c, 0x01, 0x81, 0x2c, 0xf7, 0x21, 0xad,
        0x1c, 0xde, 0xd4, 0x6d, 0xe9, 0x83, 0x90, 0x97, 0xdb, 0x72, 0x40, 0xa4, 0xa4, 0xb7, 0xb3,
        0x67, 0x1f,
    ];
    const PRIME64_1: u64 = 0x9E37_79B1_85EB_CA87;
    assert!((17..=32).contains(&input.len()));
    let le = |b: &[u8], at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
    let mix16 = |at: usize, secret: usize| {
        let lo = u128::from(le(input, at) ^ le(&SECRET, secret));
        let hi = u128::from(le(input, at + 8) ^ le(&SECRET, secret + 8));
        let product = lo * hi;
        (product as u64) ^ ((product >> 64) as u64)
    };
    let mut acc = (input.len() as u64).wrapping_mul(PRIME64_1);
    acc = acc.wrapping_add(mix16(0, 0));
    acc = acc.wrapping_add(mix16(input.len() - 16, 16));
    acc ^= acc >> 37;
    acc = acc.wrapping_mul(0x1656_6791_9E37_79F9);
    acc ^ (acc >> 32)
}

/// A header for segment `id` that is intact but claims format `version`.
fn header_with_version(id: SegmentId, version: u32) -> [u8; 32] {
    let mut header = encode_segment_header(id);
    header[VERSION_AT..VERSION_AT + 4].copy_from_slice(&version.to_le_bytes());
    let sum = xxh3_64_17to32(&header[..CHECKSUM_AT]);
    header[CHECKSUM_AT..].copy_from_slice(&sum.to_le_bytes());
    header
}

#[test]
fn the_local_checksum_matches_the_writers() {
    for id in [1, 2, 77, u64::MAX] {
        let id = SegmentId(id);
        assert_eq!(
            header_with_version(id, FORMAT_VERSION),
            encode_segment_header(id)
        );
    }
}

/// Every file under `dir`, with its bytes.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.insert(path.clone(), Vec::new());
            files.extend(tree(&path));
        } else {
            let bytes = std::fs::read(&path).unwrap();
            files.insert(path, bytes);
        }
    }
    files
}

#[test]
fn a_newer_wal_segment_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    // Keep the write in the WAL on close, so the segment holds a record after the
    // header this test rewrites.
    let options = || Options {
        flush_on_close: false,
        ..Options::default()
    };
    let db = Db::open_with(dir.path(), options()).unwrap();
    db.put("k", "v").unwrap();
    db.close().unwrap();
    let wal = dir.path().join(WAL_DIR);
    let segments = quickcache_wal::list_segments(&quickcache::fs::RealFs, &wal).unwrap();
    let last = *segments.last().unwrap();
    let path = last.path_in(&wal);
    let mut bytes = std::fs::read(&path).unwrap();
    assert!(bytes.len() > 32, "the segment holds a record");
    bytes[..32].copy_from_slice(&header_with_version(last, FORMAT_VERSION + 1));
    std::fs::write(&path, &bytes).unwrap();

    let before = tree(dir.path());
    let err = Db::open_with(dir.path(), options()).unwrap_err();
    assert!(err.is_newer_format(), "{err}");
    assert!(!err.is_corruption(), "{err}");
    let text = err.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert_eq!(
        tree(dir.path()),
        before,
        "the refused open changed the disk"
    );
    // A second try is refused the same way.
    assert!(Db::open(dir.path()).unwrap_err().is_newer_format());
    assert_eq!(tree(dir.path()), before);
}
