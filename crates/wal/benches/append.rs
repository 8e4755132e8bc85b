//! Append throughput at each durability level, group commit scaling, and the raw
//! fsync latency of the machine, on the real file system in a temporary directory.
//!
//! Run: `cargo bench -p quickcache-wal --bench append`

#![expect(
    clippy::unwrap_used,
    reason = "a benchmark whose setup or I/O fails has nothing to measure"
)]

use std::hint::black_box;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use quickcache_fs::{FileSystem, RealFs};
use quickcache_wal::{Durability, Wal, WalOptions};

const RECORD: [u8; 100] = [0x5A; 100];

/// Runs `iters` appends of 100-byte records at `durability`, spread over `threads`
/// threads, on a fresh log; returns the time the appends took (setup and teardown
/// excluded, so each sample starts with an empty directory and bounded disk use).
fn timed_appends(iters: u64, threads: u64, durability: Durability) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = Wal::open(Arc::new(RealFs::new()), dir.path(), WalOptions::default()).unwrap();
    let wal = Arc::new(wal);
    let per_thread = iters.div_ceil(threads);
    let start = Instant::now();
    thread::scope(|s| {
        for _ in 0..threads {
            let wal = &wal;
            s.spawn(move || {
                for _ in 0..per_thread {
                    black_box(wal.append(&RECORD, durability).unwrap());
                }
            });
        }
    });
    // Buffered records count once they reach the OS.
    wal.flush().unwrap();
    let elapsed = start.elapsed();
    wal.close().unwrap();
    elapsed
}

fn appends(c: &mut Criterion) {
    let mut group = c.benchmark_group("append_100b");
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(4));
    group.bench_function("buffered", |b| {
        b.iter_custom(|iters| timed_appends(iters, 1, Durability::Buffered))
    });
    group.bench_function("os", |b| {
        b.iter_custom(|iters| timed_appends(iters, 1, Durability::Os))
    });
    for threads in [1, 8] {
        group.bench_function(format!("synced_{threads}_threads"), |b| {
            b.iter_custom(|iters| timed_appends(iters, threads, Durability::Synced))
        });
    }
    group.finish();
}

/// One 100-byte append plus `fdatasync` on a plain file: the floor under synced
/// appends from a single thread.
fn fsync_latency(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let fs = RealFs::new();
    let mut file = fs.create(&dir.path().join("probe")).unwrap();
    let mut group = c.benchmark_group("fsync");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(4));
    group.bench_function("append_100b_then_fdatasync", |b| {
        b.iter(|| {
            file.append(&RECORD).unwrap();
            file.sync_data().unwrap();
        })
    });
    group.finish();
}

criterion_group!(benches, appends, fsync_latency);
criterion_main!(benches);
