//! `verify`: the read-only check of every file, reported file by file.

use std::io::Write;
use std::path::Path;

use quickcache::{FileProblem, VerifyReport};

use super::open::check_database;
use super::spinner::with_spinner;
use crate::CliError;
use crate::args::ReportArgs;
use crate::error::output;
use crate::json::{Object, array};

fn line(kind: &str, p: &FileProblem) -> String {
    match p.offset {
        Some(at) => format!("{kind} {} at byte {at}: {}", p.path.display(), p.reason),
        None => format!("{kind} {}: {}", p.path.display(), p.reason),
    }
}

fn problem_json(p: &FileProblem) -> String {
    let offset = p
        .offset
        .map_or_else(|| "null".to_string(), |at| at.to_string());
    Object::new()
        .str("path", &p.path.display().to_string())
        .raw("offset", &offset)
        .str("reason", &p.reason)
        .finish()
}

/// The report as one JSON object on one line.
fn report_json(report: &VerifyReport) -> String {
    Object::new()
        .bool("ok", report.is_ok())
        .num("tables", report.tables)
        .num("wal_segments", report.wal_segments)
        .num("wal_records", report.wal_records)
        .raw("damaged", &array(report.damaged.iter().map(problem_json)))
        .raw("warnings", &array(report.warnings.iter().map(problem_json)))
        .finish()
}

/// The error for a report that found damage, saying where the files are listed.
fn damaged(path: &Path, report: &VerifyReport, listed: &str) -> CliError {
    CliError::Damaged {
        path: path.to_path_buf(),
        what: format!("{} damaged files ({listed})", report.damaged.len()),
    }
}

/// Checks the database in `--db` without locking or changing it.
///
/// # Errors
/// No database, the check could not run, or damage was found (listed first).
pub(crate) fn verify(args: &ReportArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let path = &args.db.db;
    check_database(path)?;
    let report = with_spinner("verifying", String::new, || quickcache::verify(path))?;
    let report = report.map_err(super::open::db_error(path))?;
    if args.json {
        writeln!(out, "{}", report_json(&report)).map_err(output)?;
        return if report.is_ok() {
            Ok(())
        } else {
            Err(damaged(path, &report, "listed in the JSON report"))
        };
    }
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
    Err(damaged(path, &report, "listed above"))
}
