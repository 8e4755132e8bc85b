//! Running one workload on one engine: threads, progress, and the measured outcome.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use super::engine::{Engine, EngineError, EngineResult, KEYSPACES};
use super::histogram::Histogram;
use super::keys::Values;
use super::workers::{self, Share, Tally};
use super::workload::Workload;

/// The parameters every workload shares.
#[derive(Debug, Clone)]
pub struct Config {
    /// Keys in the key space and operations per workload (see [`Workload`]).
    pub num: u64,
    /// Bytes per key.
    pub key_size: usize,
    /// Bytes per value.
    pub value_size: usize,
    /// Worker threads (fillsync4 always uses four, readseq and readreverse one).
    pub threads: usize,
    /// Entries per batch in fillbatch.
    pub batch_size: usize,
    /// Whether to draw progress bars.
    pub progress: bool,
    /// Stop a workload after this long (db_bench's `--duration`); rates are then
    /// over the operations done.
    pub max_duration: Option<Duration>,
    /// The fraction of each value that is random, the rest repeating it (db_bench's
    /// `--compression_ratio`): 1.0 (the default) makes incompressible values, 0.5
    /// values that compress about 2:1 (db_bench's default).
    pub compression_ratio: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            num: 1_000_000,
            key_size: 16,
            value_size: 100,
            threads: 1,
            batch_size: 1000,
            progress: false,
            max_duration: None,
            compression_ratio: 1.0,
        }
    }
}

/// What one workload measured.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The workload.
    pub workload: Workload,
    /// Threads that did the measured operations.
    pub threads: usize,
    /// Operations done (entries for scans and batches).
    pub ops: u64,
    /// Wall-clock time from the first thread's start to the last one's end.
    pub elapsed: Duration,
    /// Key and value bytes written or read.
    pub bytes: u64,
    /// Gets that found their key, entries a scan visited.
    pub found: u64,
    /// Transaction attempts that aborted on a conflict and were retried (0 outside
    /// the transactional workloads); `ops` counts the commits. A field, not only the
    /// note, so the comparison can tabulate each engine's abort rate.
    pub aborts: u64,
    /// Latency of each operation (per entry for batches and scans).
    pub latency: Histogram,
    /// Anything a reader of the result must know (sizes, background writer rate).
    pub note: String,
}

impl Outcome {
    /// The share of transaction attempts that aborted, in percent (0 when none ran).
    pub fn abort_percent(&self) -> f64 {
        let attempts = self.ops + self.aborts;
        if attempts == 0 {
            0.0
        } else {
            self.aborts as f64 * 100.0 / attempts as f64
        }
    }

    /// Operations per second.
    pub fn ops_per_sec(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Wall-clock microseconds per operation (all threads together).
    pub fn micros_per_op(&self) -> f64 {
        self.elapsed.as_secs_f64() * 1e6 / (self.ops.max(1) as f64)
    }

    /// Megabytes (10^6 bytes) per second of keys and values.
    pub fn mb_per_sec(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// The operations a workload does in all, and on how many threads.
pub fn plan(workload: Workload, config: &Config) -> (u64, usize) {
    let threads = config.threads.max(1);
    match workload {
        Workload::FillSync => (Workload::sync_ops(config.num), 1),
        Workload::FillSync4 => (Workload::sync_ops(config.num), 4),
        Workload::TxnIncrement | Workload::TxnTransfer => (config.num, 4),
        Workload::ReadSeq
        | Workload::ReadReverse
        | Workload::ReadSeqRef
        | Workload::ReadReverseRef
        | Workload::BulkLoad => (config.num, 1),
        // A tenth of the seeks, so that it visits about as many entries as seekrandom.
        Workload::SeekRandom100 | Workload::SeekRandom100Ref => ((config.num / 10).max(1), threads),
        _ => (config.num, threads),
    }
}

fn progress_bar(workload: Workload, ops: u64, shown: bool) -> ProgressBar {
    if !shown {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(ops);
    if let Ok(style) =
        ProgressStyle::with_template("{prefix:>16} [{bar:40}] {pos}/{len} {elapsed} eta {eta}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(workload.name());
    bar
}

/// Runs `workload` on `engine`.
///
/// # Errors
/// The first error an engine operation returned, or a worker thread's panic.
pub fn run(engine: &dyn Engine, workload: Workload, config: &Config) -> EngineResult<Outcome> {
    let (ops, threads) = plan(workload, config);
    let values = Values::compressible(config.value_size, config.compression_ratio);
    let bar = progress_bar(workload, ops, config.progress);
    let stop = AtomicBool::new(false);
    let start = Instant::now();
    let ctx = workers::Ctx {
        deadline: config.max_duration.map(|d| start + d),
        engine,
        config,
        values: &values,
        bar: &bar,
        stop: &stop,
    };
    let (tallies, writer) = std::thread::scope(|s| {
        let writer = (workload == Workload::ReadWhileWriting)
            .then(|| s.spawn(|| workers::background_writer(&ctx)));
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let share = Share::of(ops, threads, t);
                let ctx = &ctx;
                s.spawn(move || workers::work(ctx, workload, share, t as u64))
            })
            .collect();
        let tallies: Vec<_> = handles.into_iter().map(join).collect();
        stop.store(true, Ordering::Relaxed);
        (tallies, writer.map(join))
    });
    let elapsed = start.elapsed();
    bar.finish_and_clear();
    let mut total = Tally::default();
    for tally in tallies {
        total.merge(&tally?);
    }
    let mut note = note(workload, config, writer.transpose()?, elapsed);
    if workload.is_transactional() {
        let commits = total.latency.count();
        let attempts = (commits + total.aborts).max(1);
        note = format!(
            "abort rate {:.2}% ({} aborts, {commits} commits)",
            total.aborts as f64 * 100.0 / attempts as f64,
            total.aborts
        );
    }
    let note = match cut_short(&total, ops) {
        Some(why) => format!("{note} ({why})").trim().to_string(),
        None => note,
    };
    Ok(Outcome {
        workload,
        threads,
        ops: total.latency.count(),
        elapsed,
        bytes: total.bytes,
        found: total.found,
        aborts: total.aborts,
        latency: total.latency,
        note,
    })
}

/// Why fewer than `ops` operations were done, if they were: a scan that met the
/// end of the keys, or the time limit.
fn cut_short(total: &Tally, ops: u64) -> Option<String> {
    let done = total.latency.count();
    if done >= ops {
        None
    } else if total.ran_out_of_keys {
        Some(format!("ran out of keys after {done} of {ops} entries"))
    } else {
        Some(format!("time limit: {done} of {ops} ops"))
    }
}

fn join<T>(handle: std::thread::ScopedJoinHandle<'_, EngineResult<T>>) -> EngineResult<T> {
    handle
        .join()
        .map_err(|_| EngineError::from("a benchmark thread panicked"))?
}

fn note(workload: Workload, config: &Config, writer: Option<Tally>, elapsed: Duration) -> String {
    match workload {
        Workload::FillSync | Workload::FillSync4 => {
            format!("num/1000 = {} synced puts", Workload::sync_ops(config.num))
        }
        Workload::FillBatch => format!("batches of {}", config.batch_size),
        Workload::FillKeyspaces => format!("round-robin over {KEYSPACES} keyspaces"),
        Workload::BatchKeyspaces => {
            format!(
                "batches of {} over {KEYSPACES} keyspaces",
                config.batch_size
            )
        }
        Workload::SeekRandom | Workload::SeekRandomRef => "seek + 10 nexts per op".to_string(),
        Workload::SeekRandom100 | Workload::SeekRandom100Ref => {
            "seek + 100 nexts per op; num/10 ops".to_string()
        }
        Workload::BulkLoad => "scrambled keys; time includes sort, tables and ingest".into(),
        Workload::ReadSeq
        | Workload::ReadReverse
        | Workload::ReadSeqRef
        | Workload::ReadReverseRef => "latency per 1024 entries / 1024".into(),
        _ => match writer {
            Some(w) => format!(
                "writer: {:.0} puts/s",
                w.latency.count() as f64 / elapsed.as_secs_f64().max(1e-9)
            ),
            None => String::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_workloads_are_a_thousandth_and_scans_single_threaded() {
        let config = Config {
            num: 1_000_000,
            threads: 2,
            ..Config::default()
        };
        assert_eq!(plan(Workload::FillSync, &config), (1000, 1));
        assert_eq!(plan(Workload::FillSync4, &config), (1000, 4));
        assert_eq!(plan(Workload::ReadSeq, &config), (1_000_000, 1));
        assert_eq!(plan(Workload::ReadRandom, &config), (1_000_000, 2));
    }

    #[test]
    fn a_short_run_says_why() {
        let mut t = Tally::default();
        t.latency.record_n(10, 5);
        assert_eq!(cut_short(&t, 5), None);
        assert_eq!(cut_short(&t, 8).as_deref(), Some("time limit: 5 of 8 ops"));
        t.ran_out_of_keys = true;
        let why = cut_short(&t, 8);
        assert_eq!(why.as_deref(), Some("ran out of keys after 5 of 8 entries"));
    }

    #[test]
    fn rates_follow_from_ops_and_time() {
        let mut latency = Histogram::new();
        latency.record_n(10, 1000);
        let outcome = Outcome {
            workload: Workload::ReadRandom,
            threads: 1,
            ops: 1000,
            elapsed: Duration::from_millis(10),
            bytes: 116_000,
            found: 1000,
            aborts: 0,
            latency,
            note: String::new(),
        };
        assert!((outcome.ops_per_sec() - 100_000.0).abs() < 1.0);
        assert!((outcome.micros_per_op() - 10.0).abs() < 1e-6);
        assert!((outcome.mb_per_sec() - 11.6).abs() < 1e-6);
    }
}
