//! Walking the record frames of a WAL segment or a manifest (which is one WAL
//! segment): each intact record, and each damaged range with where reading resumes.

use std::io::Write;
use std::path::Path;

use quickcache::wal::frame::{
    Decoded, check_segment_header, decode_at, next_intact, zero_tail_start,
};
use quickcache::wal::{SEGMENT_HEADER_LEN, SegmentId};

use crate::CliError;

/// Byte offset of the segment number in the segment header (after the 8-byte magic,
/// the u32 version and the u32 reserved word).
const HEADER_NUMBER_OFFSET: usize = 16;

/// The segment number written in a segment header, if the file is long enough.
pub(crate) fn number_in_header(bytes: &[u8]) -> Option<u64> {
    let field = bytes.get(HEADER_NUMBER_OFFSET..HEADER_NUMBER_OFFSET + 8)?;
    Some(u64::from_le_bytes(field.try_into().ok()?))
}

/// Checks the segment header of `bytes` as segment `id`.
///
/// # Errors
/// [`CliError::Damaged`] naming what is wrong.
/// Returns the segment's format version.
pub(crate) fn check_header(path: &Path, bytes: &[u8], id: SegmentId) -> Result<u32, CliError> {
    let damaged = |what: String| CliError::Damaged {
        path: path.to_path_buf(),
        what,
    };
    match check_segment_header(bytes, id) {
        Ok(Ok(version)) => Ok(version),
        Ok(Err(kind)) => Err(damaged(format!("segment header: {kind}"))),
        Err(e) => Err(damaged(format!("segment header: {e}"))),
    }
}

/// What [`walk`] calls for each intact record: output, offset, payload.
pub(crate) type OnRecord<'a> = dyn FnMut(&mut dyn Write, usize, &[u8]) -> std::io::Result<()> + 'a;

/// Calls `record(offset, payload)` for every intact record after the header and
/// prints each damaged range; returns (records, damaged ranges). With `preallocated`
/// (WAL segments), zeros from a record boundary to the end of the file are the
/// unused space of a preallocated segment, not damage.
pub(crate) fn walk(
    out: &mut dyn Write,
    bytes: &[u8],
    id: SegmentId,
    preallocated: bool,
    record: &mut OnRecord<'_>,
) -> std::io::Result<(u64, u64)> {
    let (mut at, mut records, mut damaged) = (SEGMENT_HEADER_LEN, 0u64, 0u64);
    // Where the trailing zeros begin: found once, since damaged records may be many.
    let zeros_from = if preallocated {
        zero_tail_start(bytes)
    } else {
        usize::MAX
    };
    loop {
        match decode_at(bytes, id, at) {
            Ok(Decoded::Record { payload, next }) => {
                record(out, at, payload)?;
                records += 1;
                at = next;
            }
            Ok(Decoded::End) => return Ok((records, damaged)),
            Err(_) if zeros_from <= at => {
                writeln!(
                    out,
                    "@{at}..{}: unused preallocated space (zeros; the log's clean end if this is its last segment)",
                    bytes.len()
                )?;
                return Ok((records, damaged));
            }
            Err(kind) => {
                damaged += 1;
                let Some(next) = next_intact(bytes, id, at + 1) else {
                    writeln!(
                        out,
                        "DAMAGE @{at}..{}: {kind}; no intact record after it (torn tail)",
                        bytes.len()
                    )?;
                    return Ok((records, damaged));
                };
                writeln!(
                    out,
                    "DAMAGE @{at}..{next}: {kind}; resuming at the next intact record"
                )?;
                at = next;
            }
        }
    }
}
