//! `write_amp`: write amplification and space amplification of quickcache and
//! (feature `rocksdb`) RocksDB on the workload of issue #5, defined the same way for
//! both. Results and definitions: `docs/write-amplification.md`.
//!
//! ```sh
//! CARGO_TARGET_DIR=/work/targets/rocks \
//!   cargo run --release -p quickcache-benches --features rocksdb --bin write_amp -- --memtable-mib 64
//! ```

#![forbid(unsafe_code)]

#[path = "../../machine.rs"]
mod machine;
mod paced;
mod qc;
#[cfg(feature = "rocksdb")]
mod rocks;
#[cfg(feature = "rocksdb")]
mod rocks_log;
mod workload;

use std::error::Error;
use std::path::PathBuf;

use clap::Parser;

use workload::Workload;

pub(crate) type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

pub(crate) const MIB: u64 = 1 << 20;

/// Fills each engine with the same random writes and reports WA and SA.
#[derive(Debug, Parser)]
#[command(name = "write_amp")]
struct Args {
    /// Base-level target (RocksDB `max_bytes_for_level_base`), MiB. The stream writes
    /// ten times this many key + value bytes.
    #[arg(long, default_value_t = 64)]
    base_mib: u64,
    /// Table size (RocksDB `target_file_size_base`), MiB.
    #[arg(long, default_value_t = 8)]
    table_mib: u64,
    /// Memtable size (RocksDB `write_buffer_size`), MiB.
    #[arg(long, default_value_t = 64)]
    memtable_mib: u64,
    /// Comma-separated engines: quickcache, rocksdb (default: every one built).
    #[arg(long)]
    engines: Option<String>,
    /// Where the stores are created (default: the system temp directory).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Flush every `--memtable-mib` of key + value bytes and wait until compaction is
    /// idle before writing on: figures independent of timing and load.
    #[arg(long)]
    paced: bool,
    /// Keep the stores afterwards (RocksDB's LOG, quickcache's manifest).
    #[arg(long)]
    keep: bool,
}

/// One engine's settings, shared by all engines.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shape {
    pub(crate) base: u64,
    pub(crate) table: u64,
    pub(crate) memtable: u64,
    pub(crate) paced: bool,
}

/// What one engine reports, in bytes.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    /// Table bytes written by flushes.
    pub(crate) flush: u64,
    /// Table bytes written by compactions (trivial moves write nothing).
    pub(crate) compaction: u64,
    /// Flushes (L0 tables written).
    pub(crate) flushes: u64,
    /// Compaction table bytes written per output level, L1 first; empty if unknown.
    pub(crate) per_level: Vec<u64>,
    /// Table bytes per level once compaction settled, L0 first.
    pub(crate) levels: Vec<u64>,
    /// Table bytes after a full manual compaction: the live entries as tables.
    pub(crate) compacted: u64,
    /// Extra lines for the report.
    pub(crate) notes: Vec<String>,
}

impl Outcome {
    fn live(&self) -> u64 {
        self.levels.iter().sum()
    }
}

fn report(name: &str, out: &Outcome, w: &Workload) {
    let user = w.user_bytes() as f64;
    let mib = |b: u64| b as f64 / MIB as f64;
    println!("## {name}");
    println!(
        "flushes {}, {:.1} MiB each; flush {:.1} MiB, compaction {:.1} MiB",
        out.flushes,
        mib(out.flush) / out.flushes.max(1) as f64,
        mib(out.flush),
        mib(out.compaction)
    );
    if !out.per_level.is_empty() {
        let cells: Vec<String> = std::iter::once(format!("L0 {:.1}", mib(out.flush)))
            .chain(
                (out.per_level.iter().enumerate())
                    .filter(|(_, b)| **b > 0)
                    .map(|(i, b)| format!("L{} {:.1}", i + 1, mib(*b))),
            )
            .collect();
        println!("written per output level (MiB): {}", cells.join(", "));
    }
    let levels: Vec<String> = (out.levels.iter().enumerate())
        .filter(|(_, b)| **b > 0)
        .map(|(i, b)| format!("L{i} {:.1}", mib(*b)))
        .collect();
    println!("settled tree (MiB): {}", levels.join(", "));
    let bottom = out
        .levels
        .iter()
        .rev()
        .find(|b| **b > 0)
        .copied()
        .unwrap_or(1);
    println!(
        "WA {:.3} | SA {:.3} (vs full compaction {:.1} MiB) | SA tree/last level {:.3} | SA vs logical {:.3} | full-compaction bytes per logical byte {:.3}",
        (out.flush + out.compaction) as f64 / user,
        out.live() as f64 / out.compacted.max(1) as f64,
        mib(out.compacted),
        out.live() as f64 / bottom as f64,
        out.live() as f64 / w.logical_live_bytes() as f64,
        out.compacted as f64 / w.logical_live_bytes() as f64,
    );
    for note in &out.notes {
        println!("  {note}");
    }
    println!();
}

fn run(args: &Args) -> Result<()> {
    let shape = Shape {
        base: args.base_mib * MIB,
        table: args.table_mib * MIB,
        memtable: args.memtable_mib * MIB,
        paced: args.paced,
    };
    let built: &[&str] = &[
        "quickcache",
        #[cfg(feature = "rocksdb")]
        "rocksdb",
    ];
    let wanted: Vec<String> = match &args.engines {
        Some(list) => list.split(',').map(|s| s.trim().to_string()).collect(),
        None => built.iter().map(|s| s.to_string()).collect(),
    };
    if let Some(unknown) = wanted.iter().find(|w| !built.contains(&w.as_str())) {
        return Err(format!("unknown or not built engine {unknown:?}").into());
    }
    let w = Workload::new(shape.base);
    println!(
        "# write_amp: {} puts of 16 + 100 bytes over {} keys ({} distinct), {:.1} MiB user, {:.1} MiB live logical",
        w.total,
        w.total,
        w.distinct(),
        w.user_bytes() as f64 / MIB as f64,
        w.logical_live_bytes() as f64 / MIB as f64
    );
    println!(
        "base level {} MiB, tables {} MiB, memtable {} MiB{}; load before {}\n",
        args.base_mib,
        args.table_mib,
        args.memtable_mib,
        if args.paced { ", paced" } else { "" },
        machine::load_average()
    );
    print!("{}", machine::describe());
    println!();
    let root = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    for name in &wanted {
        let dir = tempfile::Builder::new()
            .prefix(&format!("write-amp-{name}-"))
            .tempdir_in(&root)?;
        let out = match name.as_str() {
            #[cfg(feature = "rocksdb")]
            "rocksdb" => rocks::run(dir.path(), shape, &w)?,
            _ if shape.paced => paced::run(dir.path(), shape, &w)?,
            _ => qc::run(dir.path(), shape, &w)?,
        };
        report(name, &out, &w);
        if args.keep {
            println!("kept {}\n", dir.keep().display());
        }
    }
    println!("load after {}", machine::load_average());
    Ok(())
}

fn main() -> std::process::ExitCode {
    match run(&Args::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
