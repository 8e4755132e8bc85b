//! `checkpoint`: a consistent copy of a database in a new directory, with tables
//! hard-linked where possible (`Db::checkpoint`).

use std::io::Write;

use quickcache::CheckpointReport;

use super::open::{db_error, open_existing};
use super::spinner::with_spinner;
use super::stats::human_bytes;
use crate::CliError;
use crate::args::CheckpointArgs;
use crate::error::output;
use crate::json::Object;

/// The report as one JSON object on one line.
fn report_json(report: &CheckpointReport) -> String {
    Object::new()
        .str("path", &report.path.display().to_string())
        .num("tables_linked", report.tables_linked)
        .num("tables_copied", report.tables_copied)
        .num("wal_segments", report.wal_segments)
        .num("bytes_copied", report.bytes_copied)
        .finish()
}

/// Writes a checkpoint of the database in `--db` to `DEST`, which must not exist.
///
/// # Errors
/// `DEST` exists (a usage error: nothing is written), no database, a database error
/// (locked, I/O).
pub(crate) fn checkpoint(args: &CheckpointArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let (db_path, dest) = (&args.db.db, &args.dest);
    // Refused before the database is even opened: a checkpoint never overwrites.
    if dest.exists() {
        return Err(CliError::Usage(format!(
            "{} exists: a checkpoint goes to a new directory",
            dest.display()
        )));
    }
    let db = open_existing(db_path)?;
    let report = with_spinner("checkpointing", String::new, || db.checkpoint(dest))?;
    let report = report.map_err(db_error(db_path))?;
    db.close().map_err(db_error(db_path))?;
    if args.json {
        return writeln!(out, "{}", report_json(&report)).map_err(output);
    }
    writeln!(
        out,
        "checkpoint written to {}: {} tables linked, {} copied, {} WAL segments, {} copied",
        report.path.display(),
        report.tables_linked,
        report.tables_copied,
        report.wal_segments,
        human_bytes(report.bytes_copied),
    )
    .map_err(output)
}
