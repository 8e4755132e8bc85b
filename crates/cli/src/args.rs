//! The command line, as clap parses it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::escape::Format;

/// quickcache: benchmark, query, inspect and check quickcache databases.
#[derive(Debug, Parser)]
#[command(name = "quickcache", version, about, long_about = None, after_help = crate::exit::help())]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs db_bench-style workloads and prints a results table.
    #[command(after_help = crate::help::BENCH)]
    Bench(BenchArgs),
    /// Prints the value of a key (exit code 3 if it is absent).
    #[command(after_help = crate::help::GET)]
    Get(KeyArgs),
    /// Writes a key and value.
    #[command(after_help = crate::help::PUT)]
    Put(PutArgs),
    /// Deletes a key.
    #[command(after_help = crate::help::DELETE)]
    Delete(KeyArgs),
    /// Prints keys and values in order, one pair per line, tab-separated (or JSON).
    #[command(after_help = crate::help::SCAN)]
    Scan(ScanArgs),
    /// Shows the tree's shape: levels, files, sizes and key ranges.
    #[command(after_help = crate::help::STATS)]
    Stats(StatsArgs),
    /// Checks every checksum (tables, manifest, WAL) and the key order, read-only.
    #[command(after_help = crate::help::VERIFY)]
    Verify(ReportArgs),
    /// Compacts the whole database down to the bottom level.
    #[command(after_help = crate::help::COMPACT)]
    Compact(DbArgs),
    /// Writes a consistent copy of the database to a new directory (a backup).
    #[command(after_help = crate::help::CHECKPOINT)]
    Checkpoint(CheckpointArgs),
    /// Imports tables written with the sstable crate's TableBuilder, without the WAL.
    #[command(after_help = crate::help::INGEST)]
    Ingest(IngestArgs),
    /// Rebuilds a damaged database from the files that can still be read.
    #[command(after_help = crate::help::REPAIR)]
    Repair(ReportArgs),
    /// Prints the records of one WAL segment file.
    #[command(after_help = crate::help::DUMP_WAL)]
    DumpWal(FileArgs),
    /// Prints the properties and entries of one table file.
    #[command(after_help = crate::help::DUMP_SST)]
    DumpSst(FileArgs),
    /// Prints the version edits of one manifest file.
    #[command(after_help = crate::help::DUMP_MANIFEST)]
    DumpManifest(FileArgs),
}

/// The database a command works on.
#[derive(Debug, Args)]
pub struct DbArgs {
    /// The database directory.
    #[arg(
        long,
        value_name = "PATH",
        env = "QUICKCACHE_DB",
        hide_env_values = true
    )]
    pub db: PathBuf,
}

/// `checkpoint`'s arguments.
#[derive(Debug, Args)]
pub struct CheckpointArgs {
    /// The database.
    #[command(flatten)]
    pub db: DbArgs,
    /// The new directory to write the copy to; it must not exist.
    #[arg(value_name = "DEST")]
    pub dest: PathBuf,
    /// One JSON object on stdout instead of the text.
    #[arg(long)]
    pub json: bool,
}

/// `ingest`'s arguments.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// The database.
    #[command(flatten)]
    pub db: DbArgs,
    /// The table files to import (keys may not overlap between them).
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// The keyspace to import into instead of the default one (must exist).
    #[arg(long, value_name = "NAME")]
    pub keyspace: Option<String>,
    /// Remove the files once the import is durable (the database keeps a copy).
    #[arg(long = "move")]
    pub move_files: bool,
    /// One JSON object on stdout instead of the text.
    #[arg(long)]
    pub json: bool,
}

/// `stats`, `verify` and `repair`: a database, and how to report on it.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The database.
    #[command(flatten)]
    pub db: DbArgs,
    /// One JSON object on stdout instead of the text (keys as escaped text).
    #[arg(long)]
    pub json: bool,
}

/// `stats`' arguments.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// The database and `--json`.
    #[command(flatten)]
    pub report: ReportArgs,
    /// Also write the tree's picture as an SVG image to this file, for reports.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<std::path::PathBuf>,
}

/// How keys and values are typed and shown (default: escaped text; see
/// [`crate::escape`]).
#[derive(Debug, Args)]
pub struct FormatArgs {
    /// Keys and values as hex, in arguments and output.
    #[arg(long, conflicts_with = "raw")]
    pub hex: bool,
    /// No escapes: arguments are taken exactly as typed, output is the bytes exactly
    /// as stored (`get` adds no newline).
    #[arg(long)]
    pub raw: bool,
}

impl FormatArgs {
    /// The chosen format.
    pub fn format(&self) -> Format {
        Format::from_flags(self.hex, self.raw)
    }
}

/// How the dumps show keys and values (default: escaped text).
#[derive(Debug, Args)]
pub struct HexArgs {
    /// Keys and values as hex.
    #[arg(long)]
    pub hex: bool,
}

impl HexArgs {
    /// The chosen format.
    pub fn format(&self) -> Format {
        Format::from_flags(self.hex, false)
    }
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
    /// One JSON object per pair and line, `{"key":…,"value":…}`, the strings as
    /// without --json (escaped text, or hex with --hex).
    #[arg(long, conflicts_with = "raw")]
    pub json: bool,
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
    pub format: HexArgs,
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
    /// removed afterwards). It must be empty, missing or a quickcache database; the
    /// fill workloads delete a database there only with --force. QUICKCACHE_DB is
    /// not read here: a benchmark never lands in your database by default.
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Let the fill workloads delete the database in --db (never a directory that
    /// holds anything else).
    #[arg(long, requires = "db")]
    pub force: bool,
    /// Stop each workload after this many seconds (rates are over the operations
    /// done; the fill workloads then leave fewer keys).
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<f64>,
    /// One JSON object per workload on stdout instead of the table; no progress bars.
    #[arg(long)]
    pub json: bool,
    /// Compression of the tables of every level: none, lz4 or zstd (default: the
    /// engine's, none on L0 and L1, lz4 below, zstd on the bottom level).
    #[arg(long, value_name = "KIND")]
    pub compression: Option<quickcache::Compression>,
    /// Fraction of each value that is random, the rest repeats it (as db_bench's
    /// --compression_ratio; its default is 0.5). 1.0 makes incompressible values.
    #[arg(long, value_name = "FRACTION", default_value_t = 1.0)]
    pub compression_ratio: f64,
    /// Size of the cache of decompressed blocks, in MiB (default: the engine's,
    /// 32 MiB). Only compressed blocks use it.
    #[arg(long, value_name = "MIB")]
    pub block_cache_mb: Option<usize>,
}
