//! `quickcache-benches`: runs the `quickcache bench` workloads over quickcache, fjall,
//! sled, redb and (feature `rocksdb`) RocksDB, rounds interleaved, and writes the
//! medians to `docs/benchmarks.md` with a ratio chart in `docs/benchmarks.svg`.
//!
//! ```sh
//! cargo run --release -p quickcache-benches -- --num 1000000 --rounds 3
//! ```

#![forbid(unsafe_code)]

mod compare;
mod doc;
mod engines;
mod machine;
mod results;
mod svg;
mod usage;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use quickcache::Compression;
use quickcache_cli::bench::{Config, EngineFactory, EngineResult, Workload};

/// Compares quickcache with other embedded key-value stores on the same workloads.
#[derive(Debug, Parser)]
#[command(name = "quickcache-benches")]
struct Args {
    /// Keys per store and operations per workload.
    #[arg(long, default_value_t = 1_000_000)]
    num: u64,
    /// Rounds per engine (the report shows medians).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Worker threads per workload.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Comma-separated engines (default: every engine this build has).
    #[arg(long)]
    engines: Option<String>,
    /// Comma-separated workloads (default: all).
    #[arg(long)]
    benchmarks: Option<String>,
    /// Stop each workload after this many seconds (db_bench's --duration), so that
    /// a slow engine does not hold the run for many minutes; 0: no limit.
    #[arg(long, default_value_t = 15.0)]
    max_seconds: f64,
    /// Table compression on every level of every engine that has it: none, lz4 or
    /// zstd (fjall has no zstd and takes lz4 for it; sled and redb compress nothing).
    #[arg(long, default_value = "none")]
    compression: Compression,
    /// Fraction of each value that is random, the rest repeating it (db_bench's
    /// --compression_ratio): 1.0 makes incompressible values, 0.5 values that
    /// compress about 2:1, so that a compressed run measures something.
    #[arg(long, default_value_t = 1.0)]
    compression_ratio: f64,
    /// Where the stores are created (default: the system temp directory).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Lists each store's files on stderr when its disk is measured (after
    /// readwhilewriting) and copies them under this directory, to break the figure down.
    #[arg(long)]
    disk_snapshot: Option<PathBuf>,
    /// The report.
    #[arg(long, default_value = "docs/benchmarks.md")]
    out: PathBuf,
}

fn select(
    list: Option<&str>,
    compression: Compression,
) -> Result<Vec<Box<dyn EngineFactory>>, String> {
    let all = engines::all(compression);
    let Some(list) = list else {
        return Ok((all.into_iter())
            .filter(|e| !engines::OPT_IN.contains(&e.name()))
            .collect());
    };
    let wanted: Vec<&str> = list.split(',').map(str::trim).collect();
    if let Some(unknown) = wanted.iter().find(|w| !all.iter().any(|e| e.name() == **w)) {
        return Err(format!("unknown or not built engine {unknown:?}"));
    }
    Ok(all
        .into_iter()
        .filter(|e| wanted.contains(&e.name()))
        .collect())
}

/// The other `benchmarks*.md` reports in `out`'s directory, by file name, so that
/// each report links the runs made with other settings (`--out docs/benchmarks-lz4.md`).
fn sibling_reports(out: &std::path::Path) -> Vec<String> {
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    };
    let me = out.file_name();
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| Some(e.file_name().as_os_str()) != me)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with("benchmarks") && n.ends_with(".md"))
        .collect();
    names.sort();
    names
}

fn run(args: &Args) -> EngineResult<()> {
    let engines = select(args.engines.as_deref(), args.compression)?;
    let workloads = match &args.benchmarks {
        Some(list) => Workload::parse_list(list).map_err(|w| format!("unknown benchmark {w:?}"))?,
        None => Workload::ALL.to_vec(),
    };
    let config = Config {
        num: args.num,
        threads: args.threads,
        max_duration: (args.max_seconds > 0.0)
            .then(|| std::time::Duration::from_secs_f64(args.max_seconds)),
        compression_ratio: args.compression_ratio,
        ..Config::default()
    };
    let base = args
        .dir
        .clone()
        .unwrap_or_else(std::env::temp_dir)
        .join(format!("quickcache-compare-{}", std::process::id()));
    std::fs::create_dir_all(&base)?;
    let load_before = machine::load_average();
    let start = Instant::now();
    let results = compare::compare(
        &engines,
        &workloads,
        &config,
        args.rounds.max(1),
        &base,
        args.disk_snapshot.as_deref(),
    );
    let _ = std::fs::remove_dir_all(&base);
    let results = results?;
    let chart = args.out.with_extension("svg");
    let others = sibling_reports(&args.out);
    let ctx = doc::Context {
        command: format!(
            "cargo run --release -p quickcache-benches{} -- {}",
            if engines.iter().any(|e| e.name().starts_with("rocksdb")) {
                " --features rocksdb"
            } else {
                ""
            },
            std::env::args().skip(1).collect::<Vec<_>>().join(" ")
        ),
        num: args.num,
        rounds: args.rounds.max(1),
        workloads,
        engines: engines.iter().map(|e| e.name().to_string()).collect(),
        load: (load_before, machine::load_average()),
        minutes: start.elapsed().as_secs_f64() / 60.0,
        machine: machine::describe(),
        max_seconds: args.max_seconds,
        compression: args.compression,
        compression_ratio: args.compression_ratio,
        chart: chart
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        others,
    };
    std::fs::write(
        &chart,
        svg::chart(&doc::chart_rows(&results, &ctx), &ctx.engines[1..]),
    )?;
    let previous = std::fs::read_to_string(&args.out).unwrap_or_default();
    let mut report = doc::render(&results, &ctx);
    report.push_str(doc::hand_written(&previous));
    std::fs::write(&args.out, report)?;
    eprintln!("wrote {} and {}", args.out.display(), chart.display());
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
