//! The command line, as clap parses it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// quickcache: benchmark, query, inspect and check quickcache databases.
#[derive(Debug, Parser)]
#[command(name = "quickcache", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs db_bench-style workloads and prints a results table.
    Bench(BenchArgs),
    /// Prints the value of a key (exit code 2 if it is absent).
    Get(KeyArgs),
    /// Writes a key and value.
    Put(PutArgs),
    /// Deletes a key.
    Delete(KeyArgs),
    /// Prints keys and values in order, one pair per line, tab-separated.
    Scan(ScanArgs),
    /// Shows the tree's shape: levels, files, sizes and key ranges.
    Stats(DbArgs),
    /// Checks every checksum (tables, manifest, WAL) and the key order, read-only.
    Verify(DbArgs),
    /// Compacts the whole database down to the bottom level.
    Compact(DbArgs),
    /// Prints the records of one WAL segment file.
    DumpWal(FileArgs),
    /// Prints the properties and entries of one table file.
    DumpSst(FileArgs),
    /// Prints the version edits of one manifest file.
    DumpManifest(FileArgs),
}

/// The database a command works on.
#[derive(Debug, Args)]
pub struct DbArgs {
    /// The database directory.
    #[arg(long, value_name = "PATH")]
    pub db: PathBuf,
}

/// How keys and values are typed and shown.
#[derive(Debug, Args)]
pub struct FormatArgs {
    /// Keys and values as hex, in arguments and output (default: text with `\xNN`
    /// escapes for bytes that are not printable ASCII).
    #[arg(long)]
    pub hex: bool,
}

/// `get` and `delete`.
#[derive(Debug, Args)]
pub struct KeyArgs {
    /// The database.
    #[command(flatten)]
    pub db: DbArgs,
    /// The key.
    pub key: String,
    /// The keyspace to use instead of the default one.
    #[arg(long, value_name = "NAME")]
    pub keyspace: Option<String>,
    /// Format of keys and values.
    #[command(flatten)]
    pub format: FormatArgs,
}

/// `put`.
#[derive(Debug, Args)]
pub struct PutArgs {
    /// The database.
    #[command(flatten)]
    pub db: DbArgs,
    /// The key.
    pub key: String,
    /// The value.
    pub value: String,
    /// Create the database if the directory is missing or empty.
    #[arg(long)]
    pub create: bool,
    /// Fsync before returning (survives power loss).
    #[arg(long)]
    pub sync: bool,
    /// The keyspace to write to instead of the default one (created if missing).
    #[arg(long, value_name = "NAME")]
    pub keyspace: Option<String>,
    /// Format of keys and values.
    #[command(flatten)]
    pub format: FormatArgs,
}

/// `scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// The database.
    #[command(flatten)]
    pub db: DbArgs,
    /// First key (inclusive).
    #[arg(long)]
    pub from: Option<String>,
    /// Last key (exclusive).
    #[arg(long)]
    pub to: Option<String>,
    /// Only keys starting with this (combined with --from/--to).
    #[arg(long)]
    pub prefix: Option<String>,
    /// Descending order.
    #[arg(long)]
    pub reverse: bool,
    /// At most this many pairs.
    #[arg(long)]
    pub limit: Option<u64>,
    /// The keyspace to use instead of the default one.
    #[arg(long, value_name = "NAME")]
    pub keyspace: Option<String>,
    /// Format of keys and values.
    #[command(flatten)]
    pub format: FormatArgs,
}

/// The dump commands.
#[derive(Debug, Args)]
pub struct FileArgs {
    /// The file.
    pub file: PathBuf,
    /// Keys and values as hex.
    #[command(flatten)]
    pub format: FormatArgs,
}

/// `bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Keys in the key space, and operations per workload (fillsync: num/1000).
    #[arg(long, default_value_t = 1_000_000)]
    pub num: u64,
    /// Bytes per value.
    #[arg(long, default_value_t = 100)]
    pub value_size: usize,
    /// Worker threads per workload (fillsync4 always 4, readseq/readreverse 1).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Comma-separated workloads, in order (default: all). Known: fillseq, fillrandom,
    /// fillbatch, overwrite, readrandom, readmissing, seekrandom, readseq, readreverse,
    /// readwhilewriting, deleterandom, fillsync, fillsync4.
    #[arg(long)]
    pub benchmarks: Option<String>,
    /// Database directory, kept afterwards (default: a fresh temporary directory,
    /// removed afterwards). The fill workloads empty it; it must be empty, missing or
    /// a quickcache database.
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Stop each workload after this many seconds (rates are over the operations
    /// done; the fill workloads then leave fewer keys).
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<f64>,
    /// One JSON object per workload on stdout instead of the table; no progress bars.
    #[arg(long)]
    pub json: bool,
}
