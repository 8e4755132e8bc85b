//! `bench`: the workloads on quickcache, in a fresh temporary directory by default.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use quickcache_compaction::CURRENT;

use crate::CliError;
use crate::args::BenchArgs;
use crate::bench::{Config, QuickcacheFactory, Session, Workload, json, table};
use crate::error::output;

/// A directory removed when dropped (the default benchmark directory).
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<TempDir, CliError> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!("quickcache-bench-{}-{nanos}", std::process::id());
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&path).map_err(|source| CliError::Io {
            path: path.clone(),
            source,
        })?;
        Ok(TempDir(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether `dir` may be emptied by the fill workloads in `list`, and whether it
/// holds a database already. A database is deleted only with `force`; a directory
/// holding anything else, never.
fn check_bench_dir(dir: &Path, list: &[Workload], force: bool) -> Result<bool, CliError> {
    if dir.join(CURRENT).is_file() {
        let wipers: Vec<&str> = list
            .iter()
            .filter(|w| w.starts_empty())
            .map(|w| w.name())
            .collect();
        if wipers.is_empty() || force {
            return Ok(true);
        }
        return Err(CliError::Usage(format!(
            "{} holds a quickcache database, which the workloads {} would delete; pass \
             --force to let them, or run only workloads that read",
            dir.display(),
            wipers.join(", ")
        )));
    }
    let empty = match std::fs::read_dir(dir) {
        Ok(mut entries) => entries.next().is_none(),
        Err(_) => !dir.exists(),
    };
    if empty {
        return Ok(false);
    }
    Err(CliError::Usage(format!(
        "{}: not empty and not a quickcache database; bench refuses to empty it",
        dir.display()
    )))
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn workloads(args: &BenchArgs) -> Result<Vec<Workload>, CliError> {
    match &args.benchmarks {
        None => Ok(Workload::ALL.to_vec()),
        Some(list) => Workload::parse_list(list).map_err(|name| {
            CliError::Usage(format!("unknown benchmark {name:?}; known: {}", known()))
        }),
    }
}

fn known() -> String {
    Workload::ALL.map(Workload::name).join(", ")
}

/// Runs the benchmarks and prints the table (or JSON lines).
///
/// # Errors
/// Bad arguments, an unusable directory, an engine error.
pub(crate) fn bench(args: &BenchArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let list = workloads(args)?;
    if args.num == 0 || args.threads == 0 {
        return Err(CliError::Usage(
            "--num and --threads must be at least 1".into(),
        ));
    }
    let temp = if args.db.is_none() {
        Some(TempDir::new()?)
    } else {
        None
    };
    let dir = args
        .db
        .clone()
        .or_else(|| temp.as_ref().map(|t| t.0.clone()))
        .unwrap_or_default();
    let loaded = check_bench_dir(&dir, &list, args.force)?;
    let config = Config {
        num: args.num,
        value_size: args.value_size,
        threads: args.threads,
        progress: !args.json && std::io::stderr().is_terminal(),
        max_duration: args
            .duration
            .filter(|s| *s > 0.0)
            .map(std::time::Duration::from_secs_f64),
        compression_ratio: args.compression_ratio,
        ..Config::default()
    };
    let mut factory = QuickcacheFactory::default();
    if let Some(kind) = args.compression {
        factory.options.compression = [kind; quickcache_compaction::LEVELS];
    }
    if let Some(mib) = args.block_cache_mb {
        factory.options.block_cache_size = mib.saturating_mul(1 << 20);
    }
    if !args.json {
        writeln!(
            out,
            "quickcache bench: {} keys of {} B, values of {} B ({} random), {} threads, compression {} (block cache {} MiB), fillsync/fillsync4: num/1000 = {} synced puts\ndirectory {}{}; load average {}",
            config.num, config.key_size, config.value_size, config.compression_ratio, config.threads,
            args.compression.map_or("per level (default)", |c| c.name()),
            factory.options.block_cache_size >> 20, Workload::sync_ops(config.num),
            dir.display(), if temp.is_some() { " (removed afterwards)" } else { "" }, load_average()
        )
        .map_err(output)?;
        out.flush().map_err(output)?;
    }
    let mut session = Session::new(&factory, &dir, config, loaded);
    let mut outcomes = Vec::new();
    for w in list.iter().copied() {
        let outcome = session.run(w).map_err(CliError::Bench)?;
        if args.json {
            writeln!(out, "{}", json(&outcome)).map_err(output)?;
        }
        outcomes.push(outcome);
    }
    session.close();
    if !args.json {
        write!(out, "\n{}", table(&outcomes)).map_err(output)?;
    }
    Ok(())
}
