//! Peak memory of a random fill, split into what the engine promises to bound:
//! memtables, table readers (their decoded indexes, and the block summaries a shared
//! budget admits; filters are read in place from the mapped files), and the rest. A
//! counting allocator gives the heap the engine holds; anonymous RSS adds what the
//! allocator keeps after the engine freed it; mapped table pages are reported apart,
//! because they are page cache the kernel can drop.
//!
//! Run with `cargo run -p quickcache --release --example memory -- [keys] [dir]`
//! (default 10,000,000 keys of 16 bytes with 100-byte values). RSS comes from
//! `/proc/self/status` (Linux; elsewhere it reads as 0).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use quickcache::{Db, Options};

#[path = "../support/mod.rs"]
mod support;

use support::{Rng, key};

#[path = "../../tests/heap/mod.rs"]
#[allow(dead_code, reason = "the example reads only the live count")]
mod heap;

#[global_allocator]
static GLOBAL: heap::Counting = heap::Counting;

const MIB: f64 = (1u64 << 20) as f64;

/// Resident memory at one moment, in bytes.
#[derive(Debug, Default, Clone, Copy)]
struct Rss {
    anon: u64,
    file: u64,
}

fn rss() -> Rss {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .map_or(0, |kb| kb * 1024)
    };
    Rss {
        anon: field("RssAnon:"),
        file: field("RssFile:"),
    }
}

/// The highest live heap seen, with what the engine accounted for then, and the
/// highest anonymous RSS seen.
#[derive(Debug, Default, Clone, Copy)]
struct Peak {
    heap: u64,
    memtables: u64,
    tables: u64,
    summaries: u64,
    rss: Rss,
}

/// Samples the heap, RSS and the engine's accounting every 2 ms until `stop`.
fn sample(db: Arc<Db>, stop: Arc<AtomicBool>) -> Peak {
    let mut peak = Peak::default();
    while !stop.load(Ordering::Relaxed) {
        let s = db.stats();
        let (memtables, tables) = (s.memtable_bytes, s.table_reader_bytes);
        let summaries = s.table_summary_bytes;
        drop(s);
        let live = heap::live() as u64;
        if live > peak.heap {
            (peak.heap, peak.memtables, peak.tables) = (live, memtables, tables);
            peak.summaries = summaries;
        }
        let now = rss();
        if now.anon > peak.rss.anon {
            peak.rss = now;
        }
        thread::sleep(Duration::from_millis(2));
    }
    peak
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (n, dir) = support::keys_and_dir(10_000_000)?;
    let tmp = tempfile::tempdir()?;
    let dir = dir.unwrap_or_else(|| tmp.path().join("db"));
    let options = Options::default();
    let budget = options.memtable_size * (1 + options.max_frozen_memtables);
    let before = rss();
    let heap_before = heap::live() as u64;
    let db = Arc::new(Db::open_with(&dir, options)?);
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = thread::spawn({
        let (db, stop) = (Arc::clone(&db), Arc::clone(&stop));
        move || sample(db, stop)
    });
    let value = [0x5au8; 100];
    let mut rng = Rng::new(0x1234_5678_9abc_def1);
    let start = Instant::now();
    for _ in 0..n {
        db.put(key(rng.next_u64() % n), value)?;
    }
    db.flush()?;
    let secs = start.elapsed().as_secs_f64();
    // Reads open the table readers (and so load their indexes) on first use.
    for _ in 0..n / 10 {
        db.get(key(rng.next_u64() % n))?;
    }
    stop.store(true, Ordering::Relaxed);
    let peak = sampler.join().map_err(|_| "sampler panicked")?;
    let settled = db.stats();
    let after = rss();
    let heap_after = (heap::live() as u64).saturating_sub(heap_before);
    let peak = Peak {
        heap: peak.heap.saturating_sub(heap_before),
        ..peak
    };
    report(
        n,
        secs,
        budget as u64,
        before,
        &peak,
        &settled,
        (after, heap_after),
    );
    Arc::try_unwrap(db)
        .map_err(|_| "db still shared")?
        .close()?;
    Ok(())
}

fn report(
    n: u64,
    secs: f64,
    budget: u64,
    before: Rss,
    peak: &Peak,
    settled: &quickcache::Stats,
    (after, heap_after): (Rss, u64),
) {
    let mib = |b: u64| b as f64 / MIB;
    // Signed: the memtables' accounting rounds node sizes up, so it may exceed the
    // heap they really hold, and then the rest reads negative.
    let rest = peak.heap as f64 - (peak.memtables + peak.tables) as f64;
    let tables = settled.levels.iter().map(|l| l.files).sum::<usize>();
    let on_disk = settled.levels.iter().map(|l| l.bytes).sum();
    println!(
        "filled {n} random keys in {secs:.1} s, then read a tenth of them ({:.0} puts/s)",
        n as f64 / secs
    );
    println!("peak heap held by the engine {:8.1} MiB", mib(peak.heap));
    println!(
        "  memtables                  {:8.1} MiB  (budget {:.1} MiB)",
        mib(peak.memtables),
        mib(budget)
    );
    println!(
        "  table readers              {:8.1} MiB  (indexes {:.1}, block summaries {:.1})",
        mib(peak.tables),
        mib(peak.tables.saturating_sub(peak.summaries)),
        mib(peak.summaries)
    );
    println!(
        "  rest                       {:8.1} MiB  (heap minus the two above)",
        rest / MIB
    );
    println!(
        "peak anonymous RSS           {:8.1} MiB  (process before open {:.1} MiB)",
        mib(peak.rss.anon),
        mib(before.anon)
    );
    println!(
        "  file-backed RSS then       {:8.1} MiB  (mapped tables, binary)",
        mib(peak.rss.file)
    );
    println!(
        "after the reads: heap {:.1} MiB (memtables {:.1} MiB, readers {:.1} MiB of which summaries {:.1} MiB, budget {:.1} MiB), anon RSS {:.1} MiB, file-backed {:.1} MiB; {tables} tables, {:.1} MiB on disk",
        mib(heap_after),
        mib(settled.memtable_bytes),
        mib(settled.table_reader_bytes),
        mib(settled.table_summary_bytes),
        mib(settled.table_summary_budget),
        mib(after.anon),
        mib(after.file),
        mib(on_disk),
    );
}
