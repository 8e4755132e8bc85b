//! The clean-close marker: a file `CLOSED` that says "everything on disk was synced
//! and nothing has been written since", and where the WAL's records ended then.
//!
//! Why: opening syncs the manifest, the last WAL segment and their directories,
//! because a crashed run may have left writes in the page cache only, and what the
//! new run builds on them (segments deleted, records appended after them) must not
//! outlive them in a power loss. After a clean close those four syncs, most of an
//! open's time, make nothing durable that was not already.
//!
//! Protocol:
//! - A clean close creates the marker after its last sync and before it releases
//!   the lock. It is not synced: if a power loss drops it, the next open just syncs.
//! - An open, holding the lock, removes the marker before it writes anything, and
//!   fails if it cannot. A run that writes and then crashes therefore never leaves a
//!   marker visible to the next open on the same kernel.
//! - The removal is not synced either. It can only be undone by a power loss, and
//!   after one the page cache is the disk: nothing unsynced remains to protect, so an
//!   open that finds the resurrected marker is right to skip the syncs.
//!
//! Contents: one WAL record frame (`docs/format/wal.md`, seeded as segment 0 at
//! offset 0) whose payload is the last segment's number and the offset where its
//! records ended, both `u64` LE. A clean close synced that segment, so its records
//! must still end there or later (a later run whose removal of the marker a power
//! loss undid may have appended): ending earlier is damage, not a crash. An empty or
//! unreadable marker (an older build's, or one a power loss cut) still says "clean",
//! without the position.

use std::path::Path;

use quickcache_fs::FileSystem;
use quickcache_wal::frame::{Decoded, decode_at, encode};
use quickcache_wal::{Position, SegmentId};

use crate::error::Result;
use crate::open::fs_error;

/// The clean-close marker's name in the database directory: present only between a
/// close that returned `Ok` and the next open (`docs/durability.md`).
///
/// # Examples
/// ```
/// let dir = tempfile::tempdir()?;
/// let db = quickcache::Db::open(dir.path())?;
/// assert!(!dir.path().join(quickcache::CLOSED_FILE).exists());
/// db.close()?;
/// assert!(dir.path().join(quickcache::CLOSED_FILE).exists());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const CLOSED_FILE: &str = "CLOSED";

/// What the marker of a clean close says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CleanClose {
    /// Where the WAL's records ended at the close, if the marker says.
    pub(crate) wal_end: Option<Position>,
}

/// What the previous run's close left, if it was clean; removes the marker. Call
/// under the lock, before anything is written.
pub(crate) fn take(fs: &dyn FileSystem, dir: &Path) -> Result<Option<CleanClose>> {
    let path = dir.join(CLOSED_FILE);
    let contents = fs.read_file(&path);
    match fs.remove(&path) {
        Ok(()) => Ok(Some(CleanClose {
            wal_end: contents.ok().and_then(|bytes| decode(&bytes)),
        })),
        Err(e) if e.is_not_found() => Ok(None),
        Err(source) => Err(fs_error("removing the clean-close marker", &path)(source)),
    }
}

/// Leaves the marker, recording where the WAL's records end. Call after a close's
/// last sync, still under the lock. A failure is ignored: without the marker the next
/// open only does its syncs.
pub(crate) fn leave(fs: &dyn FileSystem, dir: &Path, wal_end: Option<Position>) {
    if let Ok(mut file) = fs.create(&dir.join(CLOSED_FILE)) {
        if let Some(end) = wal_end {
            // Not synced (see the module doc); a torn write is read as "no position".
            let _written = file.append(&encode_end(end));
        }
        let _closed = file.close();
    }
}

fn encode_end(end: Position) -> Vec<u8> {
    let mut payload = end.segment.0.to_le_bytes().to_vec();
    payload.extend_from_slice(&end.offset.to_le_bytes());
    let mut out = Vec::new();
    // Sixteen bytes never exceed the record limit.
    let _fits = encode(&mut out, SegmentId(0), 0, &payload);
    out
}

fn decode(bytes: &[u8]) -> Option<Position> {
    let Ok(Decoded::Record { payload, next }) = decode_at(bytes, SegmentId(0), 0) else {
        return None;
    };
    let segment = u64::from_le_bytes(payload.get(..8)?.try_into().ok()?);
    let offset = u64::from_le_bytes(payload.get(8..16)?.try_into().ok()?);
    (next == bytes.len() && payload.len() == 16).then_some(Position {
        segment: SegmentId(segment),
        offset,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_end_position_round_trips_and_damage_reads_as_unknown() {
        let end = Position {
            segment: SegmentId(7),
            offset: 4242,
        };
        let mut bytes = encode_end(end);
        assert_eq!(decode(&bytes), Some(end));
        assert_eq!(decode(&[]), None);
        bytes[20] ^= 1;
        assert_eq!(decode(&bytes), None);
        assert_eq!(decode(&bytes[..10]), None);
    }
}
