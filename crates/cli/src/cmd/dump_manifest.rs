//! `dump-manifest`: the version edits of one manifest file, with no database around it.

use std::io::Write;
use std::path::Path;

use quickcache_compaction::parse_manifest_name;
use quickcache_wal::SegmentId;

use super::frames::{Expect, check_header, check_kind, number_in_header, walk};
use super::manifest_edit::describe;
use super::read_file;
use crate::CliError;
use crate::error::output;
use crate::escape::Format;

/// Dumps the manifest file `path`.
///
/// # Errors
/// The file cannot be read, or it is damaged (after printing what was readable).
pub(crate) fn dump_manifest(
    path: &Path,
    format: Format,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let bytes = read_file(path)?;
    check_kind(path, &bytes, Expect::Manifest)?;
    let name = path.file_name().and_then(|n| n.to_str());
    let number = name
        .and_then(parse_manifest_name)
        .or_else(|| number_in_header(&bytes))
        .unwrap_or(0);
    writeln!(
        out,
        "manifest {number} ({}, {} bytes)",
        path.display(),
        bytes.len()
    )
    .map_err(output)?;
    let id = SegmentId(number);
    check_header(path, &bytes, id)?;
    let mut bad_edits = 0u64;
    let mut edit = 0u64;
    let (records, damaged) = walk(out, &bytes, id, (false, false), &mut |out, at, payload| {
        writeln!(out, "@{at} edit {edit} ({} bytes)", payload.len())?;
        edit += 1;
        match describe(payload, format) {
            Ok(lines) => lines.iter().try_for_each(|l| writeln!(out, "    {l}")),
            Err(e) => {
                bad_edits += 1;
                writeln!(out, "    DAMAGE: {e}")
            }
        }
    })
    .map_err(output)?;
    writeln!(
        out,
        "{records} edits, {damaged} damaged ranges, {bad_edits} undecodable edits"
    )
    .map_err(output)?;
    if records == 0 || damaged + bad_edits > 0 {
        let what =
            format!("{records} edits, {damaged} damaged ranges, {bad_edits} undecodable edits");
        return Err(CliError::Damaged {
            path: path.to_path_buf(),
            what,
        });
    }
    Ok(())
}
