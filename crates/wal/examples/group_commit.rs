//! Synced-append throughput of 1 thread against 8 threads, measured back to back in
//! rounds on the real file system, so that the ratio is not skewed by the machine's
//! load drifting between two separate benchmarks.
//!
//! Run: `cargo run --release -p quickcache-wal --example group_commit [DIR] [ROUNDS]`
//! (DIR defaults to a temporary directory; it should be on the disk you care about).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use quickcache_fs::RealFs;
use quickcache_wal::{Durability, Wal, WalOptions};

/// Appends 100-byte synced records from `threads` threads for `run`; records per second.
fn synced_rate(dir: &Path, threads: usize, run: Duration) -> Result<f64, quickcache_wal::Error> {
    let (wal, _) = Wal::open(Arc::new(RealFs::new()), dir, WalOptions::default())?;
    let start = Instant::now();
    let stop = start + run;
    let counts: Vec<Result<u64, quickcache_wal::Error>> = thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let wal = &wal;
                s.spawn(move || {
                    let mut n = 0u64;
                    while Instant::now() < stop {
                        wal.append(&[0x5A; 100], Durability::Synced)?;
                        n += 1;
                    }
                    Ok(n)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or(Ok(0)))
            .collect()
    });
    let elapsed = start.elapsed().as_secs_f64();
    wal.close()?;
    let total = counts.into_iter().sum::<Result<u64, _>>()?;
    Ok(total as f64 / elapsed)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let temp = tempfile::tempdir()?;
    let dir = args
        .next()
        .map_or_else(|| temp.path().to_path_buf(), PathBuf::from);
    let rounds: usize = args.next().map_or(Ok(3), |r| r.parse())?;
    for round in 0..rounds {
        let round_dir = dir.join(format!("round-{round}"));
        let one = synced_rate(&round_dir.join("1"), 1, Duration::from_millis(1500))?;
        let eight = synced_rate(&round_dir.join("8"), 8, Duration::from_millis(1500))?;
        println!(
            "round {round}: 1 thread {one:.0} records/s, 8 threads {eight:.0} records/s, ratio {:.1}",
            eight / one
        );
        std::fs::remove_dir_all(&round_dir)?;
    }
    Ok(())
}
