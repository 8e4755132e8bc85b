//! Walking the record frames of a WAL segment or a manifest (which is one WAL
//! segment): each intact record, and each damaged range with where reading resumes.

use std::io::Write;
use std::path::Path;

use quickcache_compaction::parse_manifest_name;
use quickcache_wal::frame::{
    Frame, check_segment_header, decode_frame, next_intact_frame, zero_tail_start,
};
use quickcache_wal::{SEGMENT_HEADER_LEN, SEGMENT_MAGIC, SegmentId};

use crate::CliError;

/// Byte offset of the segment number in the segment header (after the 8-byte magic,
/// the u32 version and the u32 reserved word).
const HEADER_NUMBER_OFFSET: usize = 16;

/// The segment number written in a segment header, if the file is long enough.
pub(crate) fn number_in_header(bytes: &[u8]) -> Option<u64> {
    let field = bytes.get(HEADER_NUMBER_OFFSET..HEADER_NUMBER_OFFSET + 8)?;
    Some(u64::from_le_bytes(field.try_into().ok()?))
}

/// What a file given to a dump is meant to be; a WAL segment and a manifest share
/// the segment framing and its magic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expect {
    /// A WAL segment, `dump-wal`.
    Wal,
    /// A manifest, `dump-manifest`.
    Manifest,
}

impl Expect {
    fn what(self) -> &'static str {
        match self {
            Expect::Wal => "a WAL segment",
            Expect::Manifest => "a manifest",
        }
    }
}

/// What a database names a file called `name`, and the command that dumps it.
fn named_as(name: &str) -> Option<(&'static str, &'static str)> {
    if SegmentId::from_file_name(name).is_some() {
        Some((Expect::Wal.what(), "dump-wal"))
    } else if parse_manifest_name(name).is_some() {
        Some((Expect::Manifest.what(), "dump-manifest"))
    } else if name.ends_with(".sst") {
        Some(("a table", "dump-sst"))
    } else {
        None
    }
}

/// Refuses a file that is not `expect`, before anything about it is printed: one
/// whose name says it is another kind of file, or one that neither begins with the
/// segment magic nor is named as `expect` (a file so named is taken as a damaged
/// one, and [`check_header`] says what is wrong).
///
/// # Errors
/// [`CliError::Usage`] naming what the file is not, and the command for what its
/// name says it is.
pub(crate) fn check_kind(path: &Path, bytes: &[u8], expect: Expect) -> Result<(), CliError> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let refuse = |why: String| {
        CliError::Usage(format!(
            "{} is not {}: {why}",
            path.display(),
            expect.what()
        ))
    };
    match named_as(name) {
        Some((what, _)) if what == expect.what() => Ok(()),
        Some((what, command)) => Err(refuse(format!(
            "its name is that of {what}; try `quickcache {command}`"
        ))),
        None if bytes.starts_with(&SEGMENT_MAGIC) => Ok(()),
        None => Err(refuse(format!(
            "it does not begin with the segment magic {:?}",
            String::from_utf8_lossy(&SEGMENT_MAGIC)
        ))),
    }
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
/// unused space of a preallocated segment, not damage. With `marks` (WAL segments of
/// version 4 on), sync marks are frames, printed as such.
pub(crate) fn walk(
    out: &mut dyn Write,
    bytes: &[u8],
    id: SegmentId,
    (preallocated, marks): (bool, bool),
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
        match decode_frame(bytes, id, at, marks) {
            Ok(Frame::Record { payload, next }) => {
                record(out, at, payload)?;
                records += 1;
                at = next;
            }
            Ok(Frame::SyncMark {
                synced_through,
                next,
            }) => {
                writeln!(out, "@{at} sync mark: durable up to @{synced_through}")?;
                at = next;
            }
            Ok(Frame::End) => return Ok((records, damaged)),
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
                let Some(next) = next_intact_frame(bytes, id, at + 1, marks) else {
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

#[cfg(test)]
mod tests {
    use super::*;
    use quickcache_wal::frame::encode_segment_header;

    fn usage_text(result: Result<(), CliError>) -> String {
        match result {
            Err(CliError::Usage(text)) => text,
            other => format!("not a usage error: {other:?}"),
        }
    }

    #[test]
    fn a_file_is_taken_by_its_name_or_else_by_its_magic() {
        let segment = encode_segment_header(SegmentId(3));
        let wal = Path::new("000003.log");
        assert!(check_kind(wal, &segment, Expect::Wal).is_ok());
        // Named as a segment but garbled: left for check_header to call damaged.
        assert!(check_kind(wal, b"garbage", Expect::Wal).is_ok());
        assert!(check_kind(Path::new("copy"), &segment, Expect::Manifest).is_ok());
        let text = usage_text(check_kind(Path::new("copy"), b"garbage", Expect::Wal));
        assert!(text.contains("not a WAL segment"), "{text}");
        assert!(text.contains("QCWALSEG"), "{text}");
    }

    #[test]
    fn a_name_of_another_kind_points_at_its_command() {
        let segment = encode_segment_header(SegmentId(1));
        let cases = [
            ("000007.sst", Expect::Wal, "dump-sst"),
            ("MANIFEST-000001", Expect::Wal, "dump-manifest"),
            ("000001.log", Expect::Manifest, "dump-wal"),
        ];
        for (name, expect, command) in cases {
            let text = usage_text(check_kind(Path::new(name), &segment, expect));
            assert!(text.contains(&format!("`quickcache {command}`")), "{text}");
        }
    }
}
