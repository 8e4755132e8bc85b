//! The builder stops compressing blocks that keep not shrinking, tries again when the
//! data changes, and the table reads back the same either way.

#![allow(clippy::unwrap_used, reason = "test helpers fail the test loudly")]

use std::path::Path;

use quickcache_fs::{FileSystem, SimFs};
use quickcache_sstable::{Compression, Table, TableBuilder, TableOptions};

/// A value of `len` bytes: random if `random`, else one repeated record.
fn value(state: &mut u64, len: usize, random: bool) -> Vec<u8> {
    if !random {
        return b"{\"user\":\"ada\",\"score\":12}"
            .iter()
            .copied()
            .cycle()
            .take(len)
            .collect();
    }
    (0..len)
        .map(|_| {
            *state ^= *state << 13;
            *state ^= *state >> 7;
            *state ^= *state << 17;
            *state as u8
        })
        .collect()
}

/// Builds a table of 4,000 entries of 200 bytes, random where `random(i)`, and
/// returns it with each block's stored compression; checks every value reads back.
fn build(kind: Compression, random: impl Fn(usize) -> bool) -> Vec<Compression> {
    let fs = SimFs::new(3);
    fs.create_dir_all(Path::new("/db")).unwrap();
    let path = Path::new("/db/t.sst");
    let options = TableOptions {
        compression: kind,
        ..TableOptions::default()
    };
    let mut builder = TableBuilder::new(&fs, path, options).unwrap();
    let mut state = 0x9e37_79b9_7f4a_7c15;
    let mut values = Vec::new();
    for i in 0..4000 {
        let v = value(&mut state, 200, random(i));
        builder
            .add_plain(format!("key{i:06}").as_bytes(), &v)
            .unwrap();
        values.push(v);
    }
    builder.finish().unwrap();
    let table = Table::open(&fs, path).unwrap();
    table.verify().unwrap();
    for (i, v) in values.iter().enumerate() {
        let got = table.get_plain(format!("key{i:06}").as_bytes()).unwrap();
        assert_eq!(got.as_deref(), Some(v.as_slice()), "key {i}");
    }
    table.data_block_compression().unwrap()
}

fn count(kinds: &[Compression], kind: Compression) -> usize {
    kinds.iter().filter(|k| **k == kind).count()
}

#[test]
fn compressible_blocks_are_all_compressed() {
    for kind in [Compression::Lz4, Compression::Zstd] {
        let kinds = build(kind, |_| false);
        assert_eq!(count(&kinds, kind), kinds.len(), "{kind:?}");
    }
}

#[test]
fn random_blocks_are_stored_raw() {
    for kind in [Compression::Lz4, Compression::Zstd] {
        let kinds = build(kind, |_| true);
        assert_eq!(count(&kinds, Compression::None), kinds.len(), "{kind:?}");
    }
}

#[test]
fn blocks_compress_again_soon_after_the_data_turns_compressible() {
    // The first half is random, long enough for the gate to skip; the second half
    // repeats one record. At most one probe interval of it may stay raw.
    let kinds = build(Compression::Zstd, |i| i < 2000);
    let turn = kinds.len() / 2;
    let raw_after = count(&kinds[turn + 1..], Compression::None);
    assert!(
        raw_after < 16,
        "{raw_after} compressible blocks stored raw: {kinds:?}"
    );
    assert!(count(&kinds[turn + 1..], Compression::Zstd) > 0);
}
