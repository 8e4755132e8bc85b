//! Writers, readers, snapshot readers and compaction at once, for a set time.
//!
//! Each writer owns its keys and writes each key's versions in increasing order, as a
//! batch that sets the pair `a/<w>/<i>` and `b/<w>/<i>` to the same value
//! `<version>:<writer>`. After a write returns, the writer publishes the version as
//! acknowledged. Checks:
//!
//! - a read never returns an older version of a key than one acknowledged before the
//!   read began (readers load the acknowledged version first, then read);
//! - a snapshot or a scan never sees a pair half-applied (`a` and `b` differ);
//! - a snapshot does not move while writes go on;
//! - at the end, every key holds its last acknowledged version.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use quickcache::{Db, Options, WriteBatch};

use crate::check::Violation;
use crate::watchdog::Watchdog;

/// How a run is shaped.
#[derive(Debug, Clone, Copy)]
pub struct ConcurrencyConfig {
    /// How long writers write.
    pub duration: Duration,
    /// Writer threads.
    pub writers: usize,
    /// Point readers and snapshot readers (each).
    pub readers: usize,
    /// Keys per writer.
    pub keys_per_writer: usize,
}

/// What a run did.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConcurrencyStats {
    /// Batches acknowledged.
    pub writes: u64,
    /// Point reads checked.
    pub reads: u64,
    /// Snapshot scans checked.
    pub scans: u64,
    /// Manual compactions and flushes run alongside.
    pub compactions: u64,
}

/// Small memtables and tables and two compaction threads, so flushes and compactions
/// run all the time.
pub fn options() -> Options {
    Options {
        memtable_size: 64 << 10,
        l0_compaction_trigger: 2,
        table_size: 64 << 10,
        base_level_size: 256 << 10,
        background_threads: 2,
        ..Options::default()
    }
}

/// Key-value pairs of a scan, in order.
type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

struct Shared {
    db: Db,
    /// `acked[w * keys + i]`: the newest acknowledged version of writer w's key i.
    acked: Vec<AtomicU64>,
    stop: AtomicBool,
    cfg: ConcurrencyConfig,
}

fn keys(w: usize, i: usize) -> (String, String) {
    (format!("a/{w:02}/{i:04}"), format!("b/{w:02}/{i:04}"))
}

/// The version a value holds: `<version>:<writer>:<padding>`.
fn version_of(v: &[u8]) -> Result<u64, Violation> {
    let text = String::from_utf8_lossy(v);
    text.split(':')
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("unparsable value {text:?}"))
}

/// How long past its configured duration a run may take before the watchdog calls
/// it hung: the threads stop at the deadline, the final check takes seconds.
const HANG_MARGIN: Duration = Duration::from_secs(120);

/// Runs writers, readers, snapshot readers and compactions on `db` for the configured
/// time, then checks the final contents.
///
/// # Errors
/// The first violated guarantee, or a failed operation.
pub fn run(db: Db, cfg: ConcurrencyConfig) -> Result<ConcurrencyStats, Violation> {
    let total = cfg.writers * cfg.keys_per_writer;
    let shared = Arc::new(Shared {
        db,
        acked: (0..total).map(|_| AtomicU64::new(0)).collect(),
        stop: AtomicBool::new(false),
        cfg,
    });
    // A hang (a thread blocked on background work that never ends) fails the run
    // with a report of every waiting thread and the pool, instead of hanging it.
    let dog = Watchdog::start("the concurrency stress run", cfg.duration + HANG_MARGIN);
    dog.watch("db", shared.db.reporter());
    let mut handles = Vec::new();
    let mut spawn =
        |name: String, body: Box<dyn FnOnce() -> Result<ConcurrencyStats, Violation> + Send>| {
            let handle = thread::Builder::new()
                .name(name)
                .spawn(body)
                .map_err(|e| format!("spawning a stress thread: {e}"))?;
            handles.push(handle);
            Ok::<(), Violation>(())
        };
    for w in 0..cfg.writers {
        let s = Arc::clone(&shared);
        spawn(format!("writer-{w}"), Box::new(move || writer(&s, w)))?;
    }
    for r in 0..cfg.readers {
        let s = Arc::clone(&shared);
        spawn(
            format!("reader-{r}"),
            Box::new(move || point_reader(&s, r as u64)),
        )?;
        let s = Arc::clone(&shared);
        spawn(
            format!("snapshot-reader-{r}"),
            Box::new(move || snapshot_reader(&s)),
        )?;
    }
    let s = Arc::clone(&shared);
    spawn("compactor".into(), Box::new(move || compactor(&s)))?;
    let deadline = Instant::now() + cfg.duration;
    while Instant::now() < deadline && !shared.stop.load(Ordering::Relaxed) {
        thread::sleep(Duration::from_millis(20));
    }
    shared.stop.store(true, Ordering::Relaxed);
    let mut stats = ConcurrencyStats::default();
    crate::check::join_workers(handles, |s| {
        stats.writes += s.writes;
        stats.reads += s.reads;
        stats.scans += s.scans;
        stats.compactions += s.compactions;
    })?;
    dog.phase("the final check");
    final_check(&shared)?;
    dog.finish();
    Ok(stats)
}

fn fail(s: &Shared, e: String) -> Result<ConcurrencyStats, Violation> {
    s.stop.store(true, Ordering::Relaxed);
    Err(e)
}

fn writer(s: &Shared, w: usize) -> Result<ConcurrencyStats, Violation> {
    let mut stats = ConcurrencyStats::default();
    let n = s.cfg.keys_per_writer;
    let mut round = 0u64;
    while !s.stop.load(Ordering::Relaxed) {
        round += 1;
        let i = (round as usize * 7919) % n;
        let slot = &s.acked[w * n + i];
        let version = slot.load(Ordering::Acquire) + 1;
        let value = format!("{version}:{w}:{}", "x".repeat((round % 64) as usize));
        let (a, b) = keys(w, i);
        let mut batch = WriteBatch::new();
        batch.put(&a, &value).put(&b, &value);
        if let Err(e) = s.db.write(batch) {
            return fail(s, format!("writer {w}: {e}"));
        }
        slot.store(version, Ordering::Release);
        stats.writes += 1;
    }
    Ok(stats)
}

fn point_reader(s: &Shared, seed: u64) -> Result<ConcurrencyStats, Violation> {
    let mut stats = ConcurrencyStats::default();
    let mut rng = crate::rng::Rng::new(seed);
    while !s.stop.load(Ordering::Relaxed) {
        let w = rng.below(s.cfg.writers as u64) as usize;
        let i = rng.below(s.cfg.keys_per_writer as u64) as usize;
        let floor = s.acked[w * s.cfg.keys_per_writer + i].load(Ordering::Acquire);
        let (a, _) = keys(w, i);
        let got = match s.db.get(&a) {
            Ok(Some(v)) => version_of(&v)?,
            Ok(None) => 0,
            Err(e) => return fail(s, format!("get {a}: {e}")),
        };
        if got < floor {
            return fail(
                s,
                format!(
                    "get {a} returned version {got}, but {floor} was acknowledged before the read"
                ),
            );
        }
        stats.reads += 1;
    }
    Ok(stats)
}

fn snapshot_reader(s: &Shared) -> Result<ConcurrencyStats, Violation> {
    let mut stats = ConcurrencyStats::default();
    while !s.stop.load(Ordering::Relaxed) {
        let floors: Vec<u64> = s.acked.iter().map(|a| a.load(Ordering::Acquire)).collect();
        let snap = s.db.snapshot();
        let scan = |prefix: &str| -> Result<Pairs, Violation> {
            snap.prefix(prefix)
                .map(|kv| {
                    kv.map(|(k, v)| (k.to_vec(), v.to_vec()))
                        .map_err(|e| format!("scan: {e}"))
                })
                .collect()
        };
        let a = scan("a/")?;
        let b = scan("b/")?;
        if a.len() != b.len() {
            return fail(
                s,
                format!(
                    "snapshot holds {} a-keys but {} b-keys: a batch was half-applied",
                    a.len(),
                    b.len()
                ),
            );
        }
        for ((ka, va), (kb, vb)) in a.iter().zip(&b) {
            if ka[1..] != kb[1..] || va != vb {
                return fail(
                    s,
                    format!(
                        "a batch was seen half-applied at {}",
                        String::from_utf8_lossy(ka)
                    ),
                );
            }
            let text = String::from_utf8_lossy(&ka[2..]).into_owned();
            let (w, i) = text.split_once('/').unwrap_or_default();
            let (w, i): (usize, usize) = (w.parse().unwrap_or(0), i.parse().unwrap_or(0));
            let floor = floors[w * s.cfg.keys_per_writer + i];
            if version_of(va)? < floor {
                return fail(
                    s,
                    format!(
                        "a snapshot taken after version {floor} of {text} was acknowledged holds an older one"
                    ),
                );
            }
        }
        let again = scan("a/")?;
        if again != a {
            return fail(s, "a snapshot moved while writes went on".to_string());
        }
        let back: Vec<_> = snap
            .prefix("a/")
            .rev()
            .map(|kv| kv.map(|(k, _)| k.to_vec()))
            .collect::<Result<_, _>>()
            .map_err(|e| format!("reverse scan: {e}"))?;
        if back.len() != a.len() || back.iter().rev().ne(a.iter().map(|(k, _)| k)) {
            return fail(
                s,
                "reverse scan of a snapshot disagrees with its forward scan".to_string(),
            );
        }
        stats.scans += 1;
    }
    Ok(stats)
}

fn compactor(s: &Shared) -> Result<ConcurrencyStats, Violation> {
    let mut stats = ConcurrencyStats::default();
    while !s.stop.load(Ordering::Relaxed) {
        thread::sleep(Duration::from_millis(150));
        let result = if stats.compactions % 2 == 0 {
            s.db.compact_range(..)
        } else {
            s.db.flush()
        };
        if let Err(e) = result {
            return fail(s, format!("compaction: {e}"));
        }
        stats.compactions += 1;
    }
    Ok(stats)
}

fn final_check(s: &Shared) -> Result<(), Violation> {
    let n = s.cfg.keys_per_writer;
    for w in 0..s.cfg.writers {
        for i in 0..n {
            let want = s.acked[w * n + i].load(Ordering::Acquire);
            let (a, b) = keys(w, i);
            for k in [a, b] {
                let got = match s.db.get(&k).map_err(|e| format!("final get {k}: {e}"))? {
                    Some(v) => version_of(&v)?,
                    None => 0,
                };
                if got != want {
                    return Err(format!(
                        "{k} ends at version {got}, the last acknowledged is {want}"
                    ));
                }
            }
        }
    }
    Ok(())
}
