//! `verify`: the read-only check of every file, reported file by file.

use std::io::Write;

use quickcache::FileProblem;

use super::open::check_database;
use crate::CliError;
use crate::args::DbArgs;
use crate::error::output;

fn line(kind: &str, p: &FileProblem) -> String {
    match p.offset {
        Some(at) => format!("{kind} {} at byte {at}: {}", p.path.display(), p.reason),
        None => format!("{kind} {}: {}", p.path.display(), p.reason),
    }
}

/// Checks the database in `--db` without locking or changing it.
///
/// # Errors
/// No database, the check could not run, or damage was found (listed first).
pub(crate) fn verify(args: &DbArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let path = &args.db;
    check_database(path)?;
    let report = quickcache::verify(path).map_err(super::open::db_error(path))?;
    let mut print = |text: String| writeln!(out, "{text}").map_err(output);
    print(format!(
        "checked {} tables, the manifest, {} WAL segments ({} records)",
        report.tables, report.wal_segments, report.wal_records
    ))?;
    for p in &report.damaged {
        print(line("DAMAGED", p))?;
    }
    for p in &report.warnings {
        print(line("warning:", p))?;
    }
    if report.is_ok() {
        return print("OK: no damage found".to_string());
    }
    Err(CliError::Damaged {
        path: path.clone(),
        what: format!("{} damaged files (listed above)", report.damaged.len()),
    })
}
