//! Replays every committed fuzz seed (`fuzz/corpus/write_batch/`) through the same code
//! the fuzz target runs (`quickcache_memtable::fuzzing`), in ordinary `cargo test`.
//!
//! The seeds are written by this file too: `QUICKCACHE_WRITE_SEEDS=1 cargo test -p
//! quickcache-memtable --test fuzz_corpus` (re)creates the `seed-*` files; files added
//! by fuzzing runs are kept.

#![expect(clippy::unwrap_used, reason = "test helpers fail the test loudly")]

use std::fs;
use std::path::PathBuf;

use quickcache_memtable::{BatchFormat, WriteBatch, fuzzing};
use quickcache_sstable::{KeyspaceId, SeqNo, Timestamp, ValueKind};

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/write_batch")
}

fn batch(base: u64, ops: &[(&[u8], Option<&[u8]>)]) -> Vec<u8> {
    let mut b = WriteBatch::new();
    for (key, value) in ops {
        match value {
            Some(v) => b.put(key, v).unwrap(),
            None => b.delete(key).unwrap(),
        }
    }
    b.set_base_seqno(SeqNo::new(base).unwrap()).unwrap();
    b.encoded().to_vec()
}

/// A version-1 batch (no keyspace field), as WAL segments of format version 1 hold.
fn v1(base: u64, entries: &[(u8, &[u8], &[u8])]) -> Vec<u8> {
    let mut out = base.to_le_bytes().to_vec();
    out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    for (kind, key, value) in entries {
        out.extend_from_slice(&[*kind, key.len() as u8]);
        out.extend_from_slice(key);
        out.push(value.len() as u8);
        out.extend_from_slice(value);
    }
    out
}

/// Valid batches of each shape, and damaged ones that must be rejected.
fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let two = batch(7, &[(b"apple", Some(b"red")), (b"pear", None)]);
    let mut truncated = two.clone();
    truncated.pop();
    let mut bad_kind = two.clone();
    bad_kind[12] = 3;
    let mut trailing = two.clone();
    trailing.push(0);
    let mut keyspaces = WriteBatch::new();
    keyspaces.put_in(KeyspaceId(1), b"log", b"entry").unwrap();
    keyspaces.put(b"meta", b"m").unwrap();
    keyspaces.delete_in(KeyspaceId(300), b"index").unwrap();
    keyspaces
        .put_in(KeyspaceId(u32::MAX), b"log", b"last")
        .unwrap();
    keyspaces.set_base_seqno(SeqNo::new(40).unwrap()).unwrap();
    let keyspaces = keyspaces.encoded().to_vec();
    let mut bad_keyspace = two.clone();
    bad_keyspace.splice(13..14, [0xff, 0xff, 0xff, 0xff, 0x10]);
    vec![
        ("empty", WriteBatch::new().encoded().to_vec()),
        ("one-put", batch(1, &[(b"k", Some(b"v"))])),
        ("put-and-delete", two),
        (
            "same-key-twice",
            batch(100, &[(b"k", Some(b"1")), (b"k", Some(b"2"))]),
        ),
        ("unsequenced", {
            let mut b = WriteBatch::new();
            b.put(b"k", b"v").unwrap();
            b.encoded().to_vec()
        }),
        (
            "long-key-two-byte-varint",
            batch(5, &[(&[b'x'; 300], Some(&[7; 200]))]),
        ),
        (
            "empty-key-and-value",
            batch(9, &[(b"", Some(b"")), (b"", None)]),
        ),
        ("last-seqno", batch(SeqNo::MAX.get(), &[(b"k", Some(b"v"))])),
        ("truncated", truncated),
        ("unknown-kind", bad_kind),
        ("trailing-byte", trailing),
        ("non-minimal-varint", {
            let mut b = batch(1, &[(b"", None)]);
            b.splice(14..15, [0x80, 0x00]);
            b
        }),
        ("several-keyspaces", keyspaces),
        ("keyspace-overflows-u32", bad_keyspace),
        (
            "v1-put-and-delete",
            v1(7, &[(1, b"apple", b"red"), (2, b"pear", b"")]),
        ),
        ("v1-unknown-kind", v1(7, &[(3, b"apple", b"")])),
        ("expiring-put", {
            let mut b = WriteBatch::new();
            let at = Timestamp::from_millis(1_700_000_000_000);
            b.put_expiring_in(KeyspaceId::DEFAULT, b"session", b"s1", at)
                .unwrap();
            b.put_expiring_in(KeyspaceId(2), b"lock", b"", at).unwrap();
            b.put(b"plain", b"v").unwrap();
            b.set_base_seqno(SeqNo::new(3).unwrap()).unwrap();
            b.encoded().to_vec()
        }),
        ("expiring-put-without-expiry", {
            let mut b = batch(1, &[(b"k", Some(b"1234567"))]);
            b[12] = ValueKind::ExpiringValue as u8;
            b
        }),
    ]
}

fn write_seeds() {
    fs::create_dir_all(corpus_dir()).unwrap();
    for (name, bytes) in seeds() {
        fs::write(corpus_dir().join(format!("seed-{name}")), bytes).unwrap();
    }
}

#[test]
fn every_seed_passes_the_target() {
    if std::env::var_os("QUICKCACHE_WRITE_SEEDS").is_some() {
        write_seeds();
    }
    let (mut count, mut valid, mut valid_v1) = (0, 0, 0);
    for entry in fs::read_dir(corpus_dir()).unwrap() {
        let path = entry.unwrap().path();
        let data = fs::read(&path).unwrap();
        if let Err(bug) = fuzzing::write_batch(&data) {
            panic!("{}: {bug}", path.display());
        }
        count += 1;
        valid += usize::from(WriteBatch::decode(&data).is_ok());
        valid_v1 += usize::from(WriteBatch::decode_format(&data, BatchFormat::V1).is_ok());
    }
    assert!(valid_v1 >= 1, "no seed decodes as a version-1 batch");
    assert!(count >= seeds().len(), "corpus has only {count} files");
    assert!(
        valid >= 6 && valid < count,
        "{valid} of {count} seeds decode"
    );
}

#[test]
fn the_committed_seeds_are_the_ones_this_file_writes() {
    for (name, bytes) in seeds() {
        let path = corpus_dir().join(format!("seed-{name}"));
        assert_eq!(
            fs::read(&path).unwrap(),
            bytes,
            "{} is stale",
            path.display()
        );
    }
}

#[test]
fn the_seeds_pass_even_without_their_files() {
    for (name, bytes) in seeds() {
        assert!(fuzzing::write_batch(&bytes).is_ok(), "seed {name}");
    }
}
