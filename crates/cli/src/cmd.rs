//! The subcommands, one file each; [`run`] dispatches.

mod bench;
mod checkpoint;
mod compact;
mod dump_manifest;
mod dump_sst;
mod dump_wal;
mod frames;
mod ingest;
mod kv;
mod manifest_edit;
mod open;
mod repair;
mod scan;
mod spinner;
mod stats;
mod stats_svg;
mod verify;

use std::io::Write;
use std::path::Path;

pub use open::{check_database, open_existing, open_for_reading};
pub use stats::{L0Limits, human_bytes, picture, shape_table, stats_json};
pub use stats_svg::svg;

use crate::CliError;
use crate::args::{Cli, Command};

/// Reads a whole file for a dump.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|source| CliError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Runs the parsed command, printing to `out`.
///
/// # Errors
/// Whatever the command met; see [`CliError`].
pub fn run(cli: &Cli, out: &mut dyn Write) -> Result<(), CliError> {
    match &cli.command {
        Command::Bench(a) => bench::bench(a, out),
        Command::Get(a) => kv::get(a, out),
        Command::Put(a) => kv::put(a),
        Command::Delete(a) => kv::delete(a),
        Command::Scan(a) => scan::scan(a, out),
        Command::Stats(a) => stats::stats(a, out),
        Command::Verify(a) => verify::verify(a, out),
        Command::Compact(a) => compact::compact(a, out),
        Command::Checkpoint(a) => checkpoint::checkpoint(a, out),
        Command::Ingest(a) => ingest::ingest(a, out),
        Command::Repair(a) => repair::repair(a, out),
        Command::DumpWal(a) => dump_wal::dump_wal(&a.file, a.format.format(), out),
        Command::DumpSst(a) => dump_sst::dump_sst(&a.file, a.format.format(), out),
        Command::DumpManifest(a) => dump_manifest::dump_manifest(&a.file, a.format.format(), out),
    }
}
