//! Synced-append throughput of 1 thread against 8 threads, measured back to back in
//! rounds on the real file system (so the ratio is not skewed by the machine's load
//! drifting between two separate benchmarks), with the number of `fdatasync` calls
//! the log made, their mean latency, and so the mean group size.
//!
//! Run: `cargo run --release -p quickcache-wal --example group_commit [DIR] [ROUNDS]`
//! (DIR defaults to a temporary directory; it should be on the disk you care about).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use quickcache_fs::{
    FileLock, FileSystem, Mapping, ReadableFile, RealFs, Result as FsResult, WritableFile,
};
use quickcache_wal::{Durability, Wal, WalOptions};

/// `fdatasync` calls and the nanoseconds they took.
#[derive(Debug, Default)]
struct SyncStats {
    calls: AtomicU64,
    nanos: AtomicU64,
}

/// The real file system, counting and timing the `sync_data` of written files.
#[derive(Debug, Default)]
struct CountingFs {
    real: RealFs,
    stats: Arc<SyncStats>,
}

#[derive(Debug)]
struct CountingFile {
    inner: Box<dyn WritableFile>,
    stats: Arc<SyncStats>,
}

impl WritableFile for CountingFile {
    fn append(&mut self, buf: &[u8]) -> FsResult<()> {
        self.inner.append(buf)
    }
    fn preallocate(&mut self, size: u64) -> FsResult<()> {
        self.inner.preallocate(size)
    }
    fn sync_data(&mut self) -> FsResult<()> {
        let start = Instant::now();
        let result = self.inner.sync_data();
        let nanos = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.stats.nanos.fetch_add(nanos, Ordering::Relaxed);
        self.stats.calls.fetch_add(1, Ordering::Relaxed);
        result
    }
    fn sync_all(&mut self) -> FsResult<()> {
        self.inner.sync_all()
    }
    fn len(&self) -> u64 {
        self.inner.len()
    }
    fn close(self: Box<Self>) -> FsResult<()> {
        self.inner.close()
    }
}

impl CountingFs {
    fn counted(&self, inner: Box<dyn WritableFile>) -> Box<dyn WritableFile> {
        let stats = Arc::clone(&self.stats);
        Box::new(CountingFile { inner, stats })
    }
}

impl FileSystem for CountingFs {
    fn create(&self, path: &Path) -> FsResult<Box<dyn WritableFile>> {
        self.real.create(path).map(|f| self.counted(f))
    }
    fn open_append(&self, path: &Path) -> FsResult<Box<dyn WritableFile>> {
        self.real.open_append(path).map(|f| self.counted(f))
    }
    fn open(&self, path: &Path) -> FsResult<Box<dyn ReadableFile>> {
        self.real.open(path)
    }
    fn map(&self, path: &Path) -> FsResult<Mapping> {
        self.real.map(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> FsResult<()> {
        self.real.rename(from, to)
    }
    fn remove(&self, path: &Path) -> FsResult<()> {
        self.real.remove(path)
    }
    fn list(&self, dir: &Path) -> FsResult<Vec<String>> {
        self.real.list(dir)
    }
    fn create_dir_all(&self, dir: &Path) -> FsResult<()> {
        self.real.create_dir_all(dir)
    }
    fn sync_dir(&self, dir: &Path) -> FsResult<()> {
        self.real.sync_dir(dir)
    }
    fn lock(&self, path: &Path) -> FsResult<Box<dyn FileLock>> {
        self.real.lock(path)
    }
    fn exists(&self, path: &Path) -> FsResult<bool> {
        self.real.exists(path)
    }
    fn size(&self, path: &Path) -> FsResult<u64> {
        self.real.size(path)
    }
    fn truncate(&self, path: &Path, len: u64) -> FsResult<()> {
        self.real.truncate(path, len)
    }
}

/// What one measurement saw.
struct Run {
    records_per_sec: f64,
    records: u64,
    syncs: u64,
    mean_sync: Duration,
}

/// Appends 100-byte synced records from `threads` threads for `run`.
fn synced_run(dir: &Path, threads: usize, run: Duration) -> Result<Run, quickcache_wal::Error> {
    let fs = Arc::new(CountingFs::default());
    let (wal, _) = Wal::open(fs.clone(), dir, WalOptions::default())?;
    let (calls_before, nanos_before) = (
        fs.stats.calls.load(Ordering::Relaxed),
        fs.stats.nanos.load(Ordering::Relaxed),
    );
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
    let syncs = fs.stats.calls.load(Ordering::Relaxed) - calls_before;
    let nanos = fs.stats.nanos.load(Ordering::Relaxed) - nanos_before;
    wal.close()?;
    let records = counts.into_iter().sum::<Result<u64, _>>()?;
    Ok(Run {
        records_per_sec: records as f64 / elapsed,
        records,
        syncs,
        mean_sync: Duration::from_nanos(nanos / syncs.max(1)),
    })
}

fn describe(threads: usize, run: &Run) -> String {
    format!(
        "{threads} thread(s) {:.0} records/s ({} fdatasync, mean {:?}, {:.1} records per sync)",
        run.records_per_sec,
        run.syncs,
        run.mean_sync,
        run.records as f64 / run.syncs.max(1) as f64
    )
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
        let one = synced_run(&round_dir.join("1"), 1, Duration::from_millis(1500))?;
        let eight = synced_run(&round_dir.join("8"), 8, Duration::from_millis(1500))?;
        println!("round {round}: {}", describe(1, &one));
        println!("round {round}: {}", describe(8, &eight));
        println!(
            "round {round}: ratio {:.1}",
            eight.records_per_sec / one.records_per_sec
        );
        std::fs::remove_dir_all(&round_dir)?;
    }
    Ok(())
}
