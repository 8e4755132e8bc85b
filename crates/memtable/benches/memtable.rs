//! Memtable throughput: 16-byte random keys, 100-byte values, 500k entries (about one
//! 64 MiB memtable), against a plain `SkipMap<Vec<u8>, Vec<u8>>` baseline.
//!
//! Run: `cargo bench -p quickcache-memtable --bench memtable`
//!
//! The machine is shared and often overloaded, so wall-clock figures swing widely.
//! The `*_cpu` variants time the same work by the benchmark thread's on-CPU time
//! (Linux `/proc/thread-self/schedstat`), which excludes time spent waiting for a CPU
//! (but not cache contention): a steadier view of what the code costs.

use std::hint::black_box;
use std::thread;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use crossbeam_skiplist::SkipMap;
use quickcache_memtable::{Lookup, Memtable, WriteBatch};
use quickcache_sstable::SeqNo;

mod workload;

use workload::{ENTRIES, LOOKUPS, VALUE, random_keys, seq};

/// Entries per batch in the ascending-batch case: db_bench's fillbatch writes 1000.
const BATCH: usize = 1000;

fn fill_memtable(m: &Memtable, keys: &[[u8; 16]], first: usize) {
    for (i, key) in keys.iter().enumerate() {
        m.put(key, seq(first + i), &VALUE);
    }
}

fn fill_skipmap(m: &SkipMap<Vec<u8>, Vec<u8>>, keys: &[[u8; 16]]) {
    for key in keys {
        m.insert(key.to_vec(), VALUE.to_vec());
    }
}

/// A clock: wall time, or the calling thread's on-CPU time.
#[derive(Clone, Copy)]
enum Clock {
    Wall,
    Cpu,
}

impl Clock {
    /// Times `work`.
    fn time(self, work: impl FnOnce()) -> Duration {
        match self {
            Clock::Wall => {
                let start = Instant::now();
                work();
                start.elapsed()
            }
            Clock::Cpu => {
                let start = thread_cpu();
                work();
                thread_cpu().saturating_sub(start)
            }
        }
    }
}

/// On-CPU time of this thread: the first field of `/proc/thread-self/schedstat`, in
/// nanoseconds (zero where unavailable, which makes the figure obviously wrong).
fn thread_cpu() -> Duration {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let ns = text.split_whitespace().next().and_then(|n| n.parse().ok());
    Duration::from_nanos(ns.unwrap_or(0))
}

/// Times `fill` on a fresh structure per iteration; dropping it is not timed.
fn time_fills<T>(iters: u64, clock: Clock, new: impl Fn() -> T, fill: impl Fn(&T)) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let target = new();
        total += clock.time(|| fill(&target));
        drop(target);
    }
    total
}

fn in_two_threads(keys: &[[u8; 16]], work: impl Fn(&[[u8; 16]], usize) + Sync) {
    let (a, b) = keys.split_at(keys.len() / 2);
    let work = &work;
    thread::scope(|s| {
        s.spawn(move || work(a, 0));
        s.spawn(move || work(b, a.len()));
    });
}

fn inserts(c: &mut Criterion) {
    let keys = random_keys(ENTRIES);
    let mut group = c.benchmark_group("insert_500k");
    group.sampling_mode(SamplingMode::Flat).sample_size(10);
    group.throughput(Throughput::Elements(ENTRIES as u64));
    for (name, clock) in [("", Clock::Wall), ("_cpu", Clock::Cpu)] {
        group.bench_function(format!("memtable{name}"), |b| {
            b.iter_custom(|n| time_fills(n, clock, Memtable::new, |m| fill_memtable(m, &keys, 0)))
        });
        group.bench_function(format!("skipmap_vec_baseline{name}"), |b| {
            b.iter_custom(|n| time_fills(n, clock, SkipMap::new, |m| fill_skipmap(m, &keys)))
        });
    }
    // Parallel speed-up only shows on the wall clock.
    group.bench_function("memtable_2_threads", |b| {
        b.iter_custom(|n| {
            time_fills(n, Clock::Wall, Memtable::new, |m| {
                in_two_threads(&keys, |part, first| fill_memtable(m, part, first))
            })
        })
    });
    group.bench_function("skipmap_vec_baseline_2_threads", |b| {
        b.iter_custom(|n| {
            time_fills(n, Clock::Wall, SkipMap::new, |m| {
                in_two_threads(&keys, |part, _| fill_skipmap(m, part))
            })
        })
    });
    group.finish();
}

fn gets(c: &mut Criterion) {
    let keys = random_keys(ENTRIES);
    let probes: Vec<_> = (0..LOOKUPS).map(|i| keys[i * 7919 % ENTRIES]).collect();
    let memtable = Memtable::new();
    fill_memtable(&memtable, &keys, 0);
    let skipmap = SkipMap::new();
    fill_skipmap(&skipmap, &keys);

    let mut group = c.benchmark_group("get_from_500k");
    group.sampling_mode(SamplingMode::Flat).sample_size(10);
    group.throughput(Throughput::Elements(LOOKUPS as u64));
    let memtable_gets = || {
        let found = probes.iter().filter(|k| {
            matches!(
                memtable.get(k.as_slice(), SeqNo::MAX),
                Some(Lookup::Value(_))
            )
        });
        assert_eq!(black_box(found.count()), LOOKUPS);
    };
    let skipmap_gets = || {
        let found = probes
            .iter()
            .filter(|k| skipmap.get(k.as_slice()).is_some());
        assert_eq!(black_box(found.count()), LOOKUPS);
    };
    for (name, clock) in [("", Clock::Wall), ("_cpu", Clock::Cpu)] {
        group.bench_function(format!("memtable{name}"), |b| {
            b.iter_custom(|n| (0..n).map(|_| clock.time(memtable_gets)).sum())
        });
        group.bench_function(format!("skipmap_vec_baseline{name}"), |b| {
            b.iter_custom(|n| (0..n).map(|_| clock.time(skipmap_gets)).sum())
        });
    }
    group.finish();
}

/// `ENTRIES` 16-byte keys in ascending order, cut into sequenced batches of `BATCH`
/// consecutive keys, as db_bench's fillbatch writes them: the case a batch insert
/// that reuses its previous search path (the splice) is for.
fn ascending_batches() -> Vec<WriteBatch> {
    let mut batches = Vec::new();
    for first in (0..ENTRIES).step_by(BATCH) {
        let mut batch = WriteBatch::new();
        for i in first..(first + BATCH).min(ENTRIES) {
            let mut key = [0u8; 16];
            key[8..].copy_from_slice(&(i as u64).to_be_bytes());
            assert!(batch.put(&key, &VALUE).is_ok(), "a small batch fits");
        }
        assert!(batch.set_base_seqno(seq(first)).is_ok());
        batches.push(batch);
    }
    batches
}

fn batch_inserts(c: &mut Criterion) {
    let batches = ascending_batches();
    let mut group = c.benchmark_group("apply_500k");
    group.sampling_mode(SamplingMode::Flat).sample_size(10);
    group.throughput(Throughput::Elements(ENTRIES as u64));
    let apply_all = |m: &Memtable| {
        for batch in &batches {
            assert!(m.apply(batch).is_ok(), "sequenced batches");
        }
    };
    for (name, clock) in [("", Clock::Wall), ("_cpu", Clock::Cpu)] {
        group.bench_function(format!("apply batches of 1000 ascending keys{name}"), |b| {
            b.iter_custom(|n| time_fills(n, clock, Memtable::new, apply_all))
        });
    }
    group.finish();
}

criterion_group!(benches, inserts, gets, batch_inserts);
criterion_main!(benches);
