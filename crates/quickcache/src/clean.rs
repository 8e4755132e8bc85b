//! The clean-close marker: an empty file `CLOSED` that says "everything on disk was
//! synced and nothing has been written since".
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

use std::path::Path;

use quickcache_fs::FileSystem;

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

/// Whether the previous run closed cleanly; removes the marker. Call under the lock,
/// before anything is written.
pub(crate) fn take(fs: &dyn FileSystem, dir: &Path) -> Result<bool> {
    let path = dir.join(CLOSED_FILE);
    match fs.remove(&path) {
        Ok(()) => Ok(true),
        Err(e) if e.is_not_found() => Ok(false),
        Err(source) => Err(fs_error("removing the clean-close marker", &path)(source)),
    }
}

/// Leaves the marker. Call after a close's last sync, still under the lock. A failure
/// is ignored: without the marker the next open only does its syncs.
pub(crate) fn leave(fs: &dyn FileSystem, dir: &Path) {
    if let Ok(file) = fs.create(&dir.join(CLOSED_FILE)) {
        // An empty file: nothing to write, and a failed close loses nothing.
        let _closed = file.close();
    }
}
