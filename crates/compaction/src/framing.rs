//! The manifest's byte framing, borrowed whole from the WAL: a manifest file is one
//! WAL segment (segment header, then checksummed record frames) whose segment number is
//! the manifest number. This module adapts the WAL's frame functions to manifest files.

use quickcache_wal::frame::{
    Decoded, check_segment_header, decode_at, encode, encode_segment_header, next_intact,
};
use quickcache_wal::{DamageKind, SEGMENT_HEADER_LEN, SegmentId};

/// The header that starts manifest `number`.
pub(crate) fn header(number: u64) -> Vec<u8> {
    encode_segment_header(SegmentId(number)).to_vec()
}

/// Appends the frame of `payload`, to be placed at `offset` of manifest `number`.
pub(crate) fn frame(
    out: &mut Vec<u8>,
    number: u64,
    offset: u64,
    payload: &[u8],
) -> Result<(), String> {
    encode(out, SegmentId(number), offset, payload).map_err(|e| e.to_string())
}

/// Damage found in a manifest: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Damage {
    pub(crate) offset: u64,
    pub(crate) reason: String,
}

/// The records of a manifest file, each with its offset, and the damaged tail dropped
/// after them, if any: the file ends cleanly (exactly where its last record ends)
/// when there is none.
#[derive(Debug)]
pub(crate) struct Records<'a> {
    pub(crate) records: Vec<(u64, &'a [u8])>,
    pub(crate) dropped: Option<Damage>,
    /// The format version in the file's header (the WAL segment format version).
    pub(crate) format: u32,
}

/// The records of manifest `number`, whose file holds `bytes`, each with its offset.
///
/// Damage with no intact record after it ends the log and is returned as `dropped`:
/// usually the torn tail of an append that was never acknowledged (the manifest is
/// synced on every edit), but the same bytes can be a synced edit that rotted, so the
/// caller keeps the evidence until the rest of the database agrees. Damage followed
/// by an intact record is corruption (`docs/crash-safety.md` rule 7).
pub(crate) fn records(bytes: &[u8], number: u64) -> Result<Records<'_>, Damage> {
    let id = SegmentId(number);
    let damage = |offset: usize, reason: String| Damage {
        offset: offset as u64,
        reason,
    };
    let format = match check_segment_header(bytes, id) {
        Ok(Ok(format)) => format,
        Ok(Err(kind)) => return Err(damage(0, kind.to_string())),
        Err(e) => return Err(damage(0, e.to_string())),
    };
    let mut out = Vec::new();
    let mut at = SEGMENT_HEADER_LEN;
    loop {
        match decode_at(bytes, id, at) {
            Ok(Decoded::Record { payload, next }) => {
                out.push((at as u64, payload));
                at = next;
            }
            // `decode_at` reports the end only at the file's last byte.
            Ok(Decoded::End) => {
                return Ok(Records {
                    records: out,
                    dropped: None,
                    format,
                });
            }
            Err(kind) => {
                return torn_tail_or_corrupt(bytes, id, at, kind).map(|tail| Records {
                    records: out,
                    dropped: Some(tail),
                    format,
                });
            }
        }
    }
}

/// The tail dropped at `at`, or the corruption it is when an intact record follows.
fn torn_tail_or_corrupt(
    bytes: &[u8],
    id: SegmentId,
    at: usize,
    kind: DamageKind,
) -> Result<Damage, Damage> {
    match next_intact(bytes, id, at + 1) {
        None => Ok(Damage {
            offset: at as u64,
            reason: kind.to_string(),
        }),
        Some(next) => Err(Damage {
            offset: at as u64,
            reason: format!("{kind}, followed by an intact record at offset {next}"),
        }),
    }
}
