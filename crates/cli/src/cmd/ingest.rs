//! `ingest`: imports tables written with the sstable crate's `TableBuilder` into a
//! database, atomically and without the WAL (`Db::ingest_with`).

use std::io::Write;

use quickcache::{IngestOptions, IngestReport};

use super::kv::existing;
use super::open::{db_error, open_existing};
use super::spinner::with_spinner;
use crate::CliError;
use crate::args::IngestArgs;
use crate::error::output;
use crate::json::{Object, array};

/// The report as one JSON object on one line.
fn report_json(report: &IngestReport) -> String {
    Object::new()
        .num("files", report.levels.len())
        .raw("levels", &array(report.levels.iter().map(usize::to_string)))
        .num("seqno", report.seqno)
        .finish()
}

/// Ingests the files named in `args` into the database in `--db` (a keyspace of it
/// with `--keyspace`, which must exist).
///
/// # Errors
/// No database or keyspace, a refused or damaged file (nothing is ingested), a
/// database error (locked, I/O).
pub(crate) fn ingest(args: &IngestArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let db_path = &args.db.db;
    let db = open_existing(db_path)?;
    let options = IngestOptions {
        move_files: args.move_files,
    };
    let files = args.files.len();
    let report = match &args.keyspace {
        Some(name) => {
            let ks = existing(&db, name)?;
            with_spinner("ingesting", String::new, || {
                ks.ingest_with(&args.files, &options)
            })?
        }
        None => with_spinner("ingesting", String::new, || {
            db.ingest_with(&args.files, &options)
        })?,
    };
    let report = report.map_err(db_error(db_path))?;
    db.close().map_err(db_error(db_path))?;
    if args.json {
        return writeln!(out, "{}", report_json(&report)).map_err(output);
    }
    let levels: Vec<String> = report.levels.iter().map(|l| format!("L{l}")).collect();
    writeln!(
        out,
        "ingested {files} tables at sequence number {} into levels {}",
        report.seqno,
        levels.join(", ")
    )
    .map_err(output)
}
