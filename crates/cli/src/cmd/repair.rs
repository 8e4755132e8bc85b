//! `repair`: rebuilds a database that no longer opens from what can still be read,
//! and prints what was kept, salvaged, set aside and lost.

use std::io::Write;
use std::ops::Bound;

use quickcache::{LostRange, RepairReport};

use super::spinner::with_spinner;
use crate::CliError;
use crate::args::ReportArgs;
use crate::error::output;
use crate::json::{Object, array, string};

fn bound_json(b: &Bound<Vec<u8>>) -> String {
    let key = |k: &[u8]| string(&k.escape_ascii().to_string());
    match b {
        Bound::Included(k) => Object::new().raw("included", &key(k)).finish(),
        Bound::Excluded(k) => Object::new().raw("excluded", &key(k)).finish(),
        Bound::Unbounded => "null".to_owned(),
    }
}

fn lost_json(l: &LostRange) -> String {
    let keys = match &l.keys {
        Some((lo, hi)) => Object::new()
            .raw("from", &bound_json(lo))
            .raw("to", &bound_json(hi))
            .finish(),
        None => "null".to_owned(),
    };
    Object::new()
        .str("file", &l.file.display().to_string())
        .num("offset", l.offset)
        .num("len", l.len)
        .str("reason", &l.reason)
        .raw("keys", &keys)
        .finish()
}

/// The report as one JSON object on one line.
fn report_json(r: &RepairReport) -> String {
    let moved = r.moved.iter().map(|m| {
        Object::new()
            .str("from", &m.from.display().to_string())
            .str("to", &m.to.display().to_string())
            .str("why", &m.why)
            .finish()
    });
    let keyspaces = r
        .keyspaces
        .iter()
        .map(|(id, name)| Object::new().num("id", id).str("name", name).finish());
    let damage = r.manifest_damage.iter().map(|d| string(d));
    Object::new()
        .bool("lost_nothing", r.lost_nothing())
        .str("manifest", &r.manifest.display().to_string())
        .num("tables_kept", r.tables_kept)
        .num("tables_salvaged", r.tables_salvaged)
        .num("entries_salvaged", r.entries_salvaged)
        .num("tables_written", r.tables_written)
        .num("wal_segments", r.wal_segments)
        .num("wal_records", r.wal_records)
        .num("last_seqno", r.last_seqno)
        .raw("keyspaces", &array(keyspaces))
        .raw("manifest_damage", &array(damage))
        .raw("moved", &array(moved))
        .raw("lost", &array(r.lost.iter().map(lost_json)))
        .finish()
}

/// Repairs the database in `--db` (it must not be open elsewhere).
///
/// # Errors
/// No such directory, the database is locked, or writing the repaired files failed.
pub(crate) fn repair(args: &ReportArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let path = &args.db.db;
    if !path.is_dir() {
        return Err(CliError::NoDatabase {
            path: path.clone(),
            why: "the directory does not exist",
        });
    }
    let report = with_spinner("repairing", String::new, || quickcache::repair(path))?;
    let report = report.map_err(super::open::db_error(path))?;
    let text = if args.json {
        report_json(&report)
    } else {
        report.to_string()
    };
    writeln!(out, "{}", text.trim_end()).map_err(output)
}
