//! One fillbench workload at a time, for profiling: `load` builds a database that
//! the read workloads then open, so a profile of a read holds only reads.
//!
//! Run with `cargo run -p quickcache --release --example phase -- <workload> <keys> <dir>`;
//! workloads: fillseq, fillrandom, overwrite, fillbatch, fillsync4, load, readrandom,
//! readmissing, readrandom2 (two threads), readseq, seekrandom, seekmem (seeks served by the memtable).

use std::time::Instant;

use quickcache::{Db, WriteBatch, WriteOptions};

mod support;

use support::{Rng, key, report};

fn stalls(db: &Db) {
    let s = db.stats();
    println!(
        "             levels {:?}; {} slowdowns, {} stops, {:.2?} stalled",
        s.levels.iter().map(|l| l.files).collect::<Vec<_>>(),
        s.slowdowns,
        s.stops,
        s.stall_time
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let workload = args.first().map_or("fillrandom", String::as_str);
    let n: u64 = args
        .get(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let tmp = tempfile::tempdir()?;
    let dir = args
        .get(2)
        .map_or_else(|| tmp.path().to_path_buf(), Into::into);
    let value = [0x5au8; 100];
    let mut rng = Rng::new(0x1234_5678_9abc_def1);
    let db = Db::open(&dir)?;
    let start = Instant::now();
    match workload {
        "fillseq" => (0..n).try_for_each(|i| db.put(key(i), value))?,
        "fillrandom" | "load" => (0..n).try_for_each(|_| db.put(key(rng.next_u64() % n), value))?,
        "overwrite" => {
            (0..n).try_for_each(|_| db.put(key(rng.next_u64() % n), value))?;
            stalls(&db);
            let start = Instant::now();
            (0..n).try_for_each(|_| db.put(key(rng.next_u64() % n), value))?;
            report("overwrite", n, start);
        }
        "fillbatch" => {
            for b in 0..n / 1000 {
                let mut batch = WriteBatch::new();
                for i in 0..1000 {
                    batch.put(key(b * 1000 + i), value);
                }
                db.write(batch)?;
            }
        }
        "fillsync4" => {
            std::thread::scope(|s| {
                for t in 0..4u64 {
                    let db = &db;
                    s.spawn(move || {
                        for i in 0..n / 4 {
                            db.put_with(key(t * n + i), value, &WriteOptions::synced())?;
                        }
                        Ok::<(), quickcache::Error>(())
                    });
                }
            });
        }
        "readrandom" | "readmissing" => {
            let missing = u64::from(workload == "readmissing") * n;
            let mut found = 0u64;
            for _ in 0..n {
                found += u64::from(db.get(key(missing + rng.next_u64() % n))?.is_some());
            }
            println!("             ({found} of {n} found)");
        }
        "readrandom2" => {
            // Two reader threads sharing the tables (the machine has two cores).
            std::thread::scope(|s| {
                for t in 0..2u64 {
                    let db = &db;
                    s.spawn(move || {
                        let mut rng = Rng::new(0x1234_5678_9abc_def1 + t);
                        for _ in 0..n / 2 {
                            db.get(key(rng.next_u64() % n))?;
                        }
                        Ok::<(), quickcache::Error>(())
                    });
                }
            });
        }
        "readseq" => {
            let mut count = 0u64;
            for kv in db.iter() {
                kv?;
                count += 1;
            }
            report("readseq", count, start);
        }
        "seekrandom" => {
            for _ in 0..n / 10 {
                for kv in db.range(key(rng.next_u64() % n)..).take(10) {
                    kv?;
                }
            }
            report("seekrandom", n / 10, start);
        }
        "seekmem" => {
            // Seeks while the data is still in the memtable (n must fit in it).
            (0..n).try_for_each(|_| db.put(key(rng.next_u64() % n), value))?;
            let start = Instant::now();
            for _ in 0..n / 10 {
                for kv in db.range(key(rng.next_u64() % n)..).take(10) {
                    kv?;
                }
            }
            report("seekmem", n / 10, start);
        }
        other => return Err(format!("unknown workload {other}").into()),
    }
    if !matches!(workload, "readseq" | "seekrandom" | "overwrite" | "seekmem") {
        report(workload, n, start);
    }
    if workload == "load" {
        db.flush()?;
    }
    stalls(&db);
    db.close()?;
    Ok(())
}
