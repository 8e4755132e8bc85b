//! What an engine costs besides time: the disk its directory takes and the memory the
//! process holds while it runs, both read from the OS.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the memory sampler reads /proc/self/status.
const SAMPLE_EVERY: Duration = Duration::from_millis(10);

/// Bytes allocated on disk for everything under `dir`: blocks, not lengths, so that
/// preallocated (fallocated) WAL space counts and sparse holes do not.
///
/// # Errors
/// A directory that cannot be listed or a file whose metadata cannot be read.
pub(crate) fn disk_bytes(dir: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() {
            disk_bytes(&entry.path())?
        } else {
            meta.blocks() * 512
        };
    }
    Ok(total)
}

/// Lists every file under `dir` on stderr (allocated and apparent bytes) and copies it
/// into `to`: where an engine's disk goes at the moment it is measured, kept for the
/// engine's own tools (`quickcache stats`, RocksDB's `LOG`).
///
/// # Errors
/// A directory that cannot be listed or a file that cannot be read or copied.
pub(crate) fn snapshot_files(dir: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let meta = entry.metadata()?;
        let target = to.join(entry.file_name());
        if meta.is_dir() {
            snapshot_files(&entry.path(), &target)?;
            continue;
        }
        eprintln!(
            "disk {:>12} allocated {:>12} long  {}",
            meta.blocks() * 512,
            meta.len(),
            entry.path().display()
        );
        std::fs::copy(entry.path(), target)?;
    }
    Ok(())
}

/// Resident memory of this process in kB: (anonymous, file-backed), or zeros where
/// /proc is not readable.
fn rss_kb() -> (u64, u64) {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return (0, 0);
    };
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (field("RssAnon:"), field("RssFile:"))
}

/// Peak resident memory while one engine runs, sampled by a thread every
/// [`SAMPLE_EVERY`]. All engines share the process, so the peaks are counted above
/// what was resident when sampling began (the harness and whatever the allocator kept
/// from earlier engines), not from zero; a spike shorter than the interval is missed.
pub(crate) struct RssSampler {
    stop: Arc<AtomicBool>,
    start: (u64, u64),
    handle: JoinHandle<(u64, u64)>,
}

impl RssSampler {
    /// Starts sampling.
    pub(crate) fn start() -> RssSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let start = rss_kb();
        let flag = Arc::clone(&stop);
        let handle = std::thread::spawn(move || {
            let mut peak = start;
            while !flag.load(Ordering::Relaxed) {
                let (anon, file) = rss_kb();
                peak = (peak.0.max(anon), peak.1.max(file));
                std::thread::sleep(SAMPLE_EVERY);
            }
            peak
        });
        RssSampler {
            stop,
            start,
            handle,
        }
    }

    /// Stops sampling; returns the peaks above the start in MB (10^6 bytes):
    /// (anonymous, file-backed, that is mapped files).
    pub(crate) fn finish(self) -> (f64, f64) {
        self.stop.store(true, Ordering::Relaxed);
        let peak = self.handle.join().unwrap_or(self.start);
        let mb = |peak: u64, start: u64| peak.saturating_sub(start) as f64 * 1024.0 / 1e6;
        (mb(peak.0, self.start.0), mb(peak.1, self.start.1))
    }
}
