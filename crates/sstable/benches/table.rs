//! Table benchmarks with 16-byte keys and 100-byte values: building a 1M-entry table,
//! point gets of present and absent keys on a hot 1M-entry table, cursor seeks followed
//! by ten steps, and full scans forward and backward. The table is opened with the
//! engine's default summary budget (32 MiB, room for all of its summaries); the gets
//! are also run with a budget of 0, where no block has a summary.
//!
//! Run: `cargo bench -p quickcache-sstable --bench table`

#![allow(
    clippy::unwrap_used,
    reason = "a benchmark that fails should stop loudly"
)]

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use quickcache_fs::{FileSystem, RealFs, SimFs};
use quickcache_sstable::{Cursor, KeyRef, SeqNo, SummaryBudget, Table, TableBuilder, TableOptions};

const ENTRIES: u64 = 1_000_000;
const BATCH: u64 = 1000;

/// The 16-byte key of entry `i`; present keys are even, absent ones odd.
fn key(i: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..3].copy_from_slice(b"key");
    k[3..].copy_from_slice(&format!("{:013}", i).as_bytes()[..13]);
    k
}

fn build(fs: &dyn FileSystem, path: &Path) -> u64 {
    let value = [0x5au8; 100];
    let mut b = TableBuilder::new(fs, path, TableOptions::default()).unwrap();
    for i in 0..ENTRIES {
        b.add_plain(&key(i * 2), &value).unwrap();
    }
    b.finish().unwrap().file_size
}

/// A fixed pseudo-random order of entry numbers, so gets miss the caches.
fn shuffled(n: usize) -> Vec<u64> {
    let mut rng = quickcache_fs::Rng::new(0x9e37_79b9_7f4a_7c15);
    (0..n).map(|_| rng.below(ENTRIES)).collect()
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.sst");
    let mut g = c.benchmark_group("table");
    g.sample_size(10);
    g.throughput(Throughput::Elements(ENTRIES));
    g.bench_function("build 1M entries (RealFs, incl. fsync)", |b| {
        b.iter(|| build(&RealFs::new(), &path))
    });
    let sim = SimFs::new(1);
    sim.create_dir_all(Path::new("/b")).unwrap();
    g.bench_function("build 1M entries (SimFs, in memory)", |b| {
        b.iter(|| build(&sim, Path::new("/b/bench.sst")))
    });

    // The table the read benchmarks use, built here so that they run on their own too.
    build(&RealFs::new(), &path);
    let table = Table::open_with(&RealFs::new(), &path, SummaryBudget::new(32 << 20)).unwrap();
    let bare = Table::open_with(&RealFs::new(), &path, SummaryBudget::new(0)).unwrap();
    let present: Vec<[u8; 16]> = shuffled(100_000).into_iter().map(|i| key(i * 2)).collect();
    let absent: Vec<[u8; 16]> = shuffled(100_000)
        .into_iter()
        .map(|i| key(i * 2 + 1))
        .collect();
    g.sample_size(30);
    g.throughput(Throughput::Elements(BATCH));
    let mut at = 0;
    g.bench_function("get present", |b| {
        b.iter(|| {
            for _ in 0..BATCH {
                at = (at + 1) % present.len();
                black_box(table.get(&present[at], SeqNo::MAX).unwrap().unwrap());
            }
        })
    });
    g.bench_function("get absent", |b| {
        b.iter(|| {
            for _ in 0..BATCH {
                at = (at + 1) % absent.len();
                assert!(table.get(&absent[at], SeqNo::MAX).unwrap().is_none());
            }
        })
    });
    for (name, keys) in [
        ("get present, summary budget 0", &present),
        ("get absent, summary budget 0", &absent),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                for _ in 0..BATCH {
                    at = (at + 1) % keys.len();
                    black_box(bare.get(&keys[at], SeqNo::MAX).unwrap());
                }
            })
        });
    }
    // A range read's pattern: seek to a random key, then read the next ten entries.
    let mut cursor = table.cursor();
    g.throughput(Throughput::Elements(BATCH / 10));
    g.bench_function("seek + 10 nexts", |b| {
        b.iter(|| {
            for _ in 0..BATCH / 10 {
                at = (at + 1) % present.len();
                cursor
                    .seek(KeyRef::lookup(&present[at], SeqNo::MAX))
                    .unwrap();
                for _ in 0..10 {
                    black_box(cursor.value());
                    cursor.next().unwrap();
                }
            }
        })
    });
    g.sample_size(10);
    g.throughput(Throughput::Elements(ENTRIES));
    g.bench_function("reverse full scan (cursor)", |b| {
        b.iter(|| {
            let mut cursor = table.cursor();
            cursor.seek_to_last().unwrap();
            let mut n = 0u64;
            while let Some(v) = cursor.value() {
                n += v.len() as u64;
                cursor.prev().unwrap();
            }
            assert_eq!(n, ENTRIES * 100);
        })
    });
    g.bench_function("full scan (cursor)", |b| {
        b.iter(|| {
            let mut cursor = table.cursor();
            cursor.seek_to_first().unwrap();
            let mut n = 0u64;
            while let Some(v) = cursor.value() {
                n += v.len() as u64;
                cursor.next().unwrap();
            }
            assert_eq!(n, ENTRIES * 100);
        })
    });
    g.finish();
}

criterion_group!(table_benches, benches);
criterion_main!(table_benches);
