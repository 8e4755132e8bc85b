//! Damage that must not go unnoticed (`docs/durability.md`): checks an open makes so
//! that a lost file never opens silently as an older state. Each failure names what is
//! missing and points to `quickcache repair`.
//!
//! - `CURRENT` missing while tables, WAL segments or the clean-close marker are there.
//! - The newest WAL segment the manifest records as created is gone (segments between
//!   the oldest live one and the newest found are checked by the WAL reader, the
//!   oldest by `open::check_log_start`).
//! - After a clean close, the WAL's records end before where that close left them.

use std::path::Path;

use quickcache_compaction::{CURRENT, TableId};
use quickcache_fs::FileSystem;
use quickcache_wal::{Position, SEGMENT_HEADER_LEN, SegmentId};

use crate::error::{Error, Result};
use crate::open::WAL_DIR;

/// Refuses a directory without `CURRENT` that holds what only a database that had
/// one leaves: a table, a WAL segment (the first is created after `CURRENT`), or the
/// clean-close marker. An interrupted creation leaves none of them, so `CURRENT` was
/// lost, and creating a fresh database here would hide the data as an empty one.
pub(crate) fn check_lost_current(fs: &dyn FileSystem, dir: &Path, names: &[String]) -> Result<()> {
    let table = names
        .iter()
        .find(|n| TableId::from_file_name(n).is_some() || n.as_str() == crate::CLOSED_FILE);
    let found = match table {
        Some(name) => Some(name.clone()),
        None => {
            let wal_dir = dir.join(WAL_DIR);
            let segments = quickcache_wal::list_segments(fs, &wal_dir).unwrap_or_default();
            segments
                .first()
                .map(|s| format!("{WAL_DIR}/{}", s.file_name()))
        }
    };
    match found {
        Some(found) => Err(Error::MissingCurrent {
            current: dir.join(CURRENT),
            dir: dir.to_path_buf(),
            found,
        }),
        None => Ok(()),
    }
}

/// The newest segment in the WAL directory, if any (a listing failure is left for
/// recovery to report).
fn newest_segment(fs: &dyn FileSystem, wal_dir: &Path) -> Option<SegmentId> {
    let segments = quickcache_wal::list_segments(fs, wal_dir).ok()?;
    segments.into_iter().max()
}

/// Refuses a WAL whose newest segment is older than the newest one the manifest
/// records as durably created: that one, and the writes it held, were lost. A
/// recorded segment below `min_log_number` (every keyspace's oldest live segment)
/// holds nothing the tables lack, so it need not exist: a checkpoint whose tables
/// cover every write has no segment at all.
pub(crate) fn check_newest_segment(
    fs: &dyn FileSystem,
    dir: &Path,
    recorded: u64,
    min_log_number: u64,
) -> Result<()> {
    let wal_dir = dir.join(WAL_DIR);
    let newest = newest_segment(fs, &wal_dir);
    if recorded == 0 || recorded < min_log_number || newest.is_some_and(|n| n.0 >= recorded) {
        return Ok(());
    }
    let missing = newest.map_or(recorded, |n| n.0.saturating_add(1));
    Err(Error::MissingWalSegment {
        path: SegmentId(missing).path_in(&wal_dir),
        recorded,
        newest: newest.map(|n| n.0),
        dir: dir.to_path_buf(),
    })
}

/// After a clean close that left the WAL's records ending at `clean`, refuses a WAL
/// whose last segment is older, or whose intact records in that segment end earlier
/// (`read_end`: where the intact frames of the last segment end). Ending later is fine: a later run
/// may have appended before a power loss undid its removal of the marker.
pub(crate) fn check_clean_end(
    fs: &dyn FileSystem,
    dir: &Path,
    clean: Position,
    read_end: Option<Position>,
) -> Result<()> {
    let wal_dir = dir.join(WAL_DIR);
    let newest = newest_segment(fs, &wal_dir);
    if newest.is_some_and(|n| n > clean.segment) {
        return Ok(());
    }
    if newest != Some(clean.segment) {
        return Err(Error::MissingWalSegment {
            path: clean.segment.path_in(&wal_dir),
            recorded: clean.segment.0,
            newest: newest.map(|n| n.0),
            dir: dir.to_path_buf(),
        });
    }
    let found = read_end
        .filter(|end| end.segment == clean.segment)
        .map_or(SEGMENT_HEADER_LEN as u64, |end| end.offset);
    if found < clean.offset {
        return Err(Error::DamagedAfterCleanClose {
            path: clean.segment.path_in(&wal_dir),
            found,
            expected: clean.offset,
            dir: dir.to_path_buf(),
        });
    }
    Ok(())
}
