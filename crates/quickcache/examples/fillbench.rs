//! A db_bench-style measurement: fillseq, fillrandom, readrandom, readseq,
//! seekrandom, on the real file system with default options.
//!
//! Run with `cargo run -p quickcache --release --example fillbench -- [keys] [dir]`.

use std::time::Instant;

use quickcache::Db;

mod support;

use support::{Rng, key, report};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (n, dir) = support::keys_and_dir(1_000_000)?;
    let tmp = tempfile::tempdir()?;
    let dir = dir.unwrap_or_else(|| tmp.path().to_path_buf());
    let value = [0x5au8; 100];
    let mut rng = Rng::new(0x1234_5678_9abc_def1);
    {
        let db = Db::open(dir.join("seq"))?;
        let start = Instant::now();
        for i in 0..n {
            db.put(key(i), value)?;
        }
        report("fillseq", n, start);
        db.close()?;
    }
    let db = Db::open(dir.join("random"))?;
    let start = Instant::now();
    for _ in 0..n {
        db.put(key(rng.next_u64() % n), value)?;
    }
    report("fillrandom", n, start);
    db.flush()?;
    let start = Instant::now();
    let mut found = 0u64;
    for _ in 0..n {
        if db.get(key(rng.next_u64() % n))?.is_some() {
            found += 1;
        }
    }
    report("readrandom", n, start);
    println!("             ({found} of {n} found)");
    let start = Instant::now();
    let mut count = 0u64;
    for kv in db.iter() {
        kv?;
        count += 1;
    }
    report("readseq", count, start);
    let seeks = n / 10;
    let start = Instant::now();
    for _ in 0..seeks {
        let from = key(rng.next_u64() % n);
        for kv in db.range(from..).take(10) {
            kv?;
        }
    }
    report("seekrandom", seeks, start);
    let stats = db.stats();
    println!(
        "levels: {:?}; write amp {:.2}, space amp {:.2}, stalls: {} slowdowns, {} stops, {:.2?}",
        stats.levels.iter().map(|l| l.files).collect::<Vec<_>>(),
        stats.write_amplification,
        stats.space_amplification,
        stats.slowdowns,
        stats.stops,
        stats.stall_time
    );
    db.close()?;
    Ok(())
}
