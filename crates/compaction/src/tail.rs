//! `DroppedTail`: the damaged end of a manifest that an open took for a torn append.
//!
//! A torn append (never acknowledged) and a synced edit that rotted look the same on
//! disk. The open drops both, so it keeps this record of what it dropped: when the
//! rest of the database shows the tree is older than it should be (a WAL segment or
//! a table it needs is gone), errors point at the manifest rather than at the victim.

use std::fmt;
use std::path::PathBuf;

use crate::{Error, VersionSet};

/// The damaged tail of the manifest that an open dropped as a torn append.
///
/// # Example
/// ```
/// use std::path::PathBuf;
/// use quickcache_compaction::DroppedTail;
///
/// let tail = DroppedTail {
///     path: PathBuf::from("/db/MANIFEST-000003"),
///     offset: 120,
///     bytes: 64,
///     reason: "checksum mismatch".to_owned(),
/// };
/// assert!(tail.to_string().contains("MANIFEST-000003"));
/// assert!(tail.lost_edit("WAL segment 4 is missing".to_owned()).is_corruption());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DroppedTail {
    /// The manifest file.
    pub path: PathBuf,
    /// Where the damaged record starts.
    pub offset: u64,
    /// How many bytes were dropped (to the end of the file).
    pub bytes: u64,
    /// What was wrong with the record.
    pub reason: String,
}

impl DroppedTail {
    /// The error for `missing` (a clause naming a WAL segment or table the tree
    /// needs: "WAL segment 7 is missing") after the open dropped this tail: the
    /// dropped record was most likely a durable edit that rotted, not a torn append.
    pub fn lost_edit(&self, missing: String) -> Error {
        Error::LostManifestEdit {
            missing,
            tail: self.clone(),
        }
    }
}

impl fmt::Display for DroppedTail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "manifest {} ended in {} damaged bytes at offset {} ({}), dropped as a torn append",
            self.path.display(),
            self.bytes,
            self.offset,
            self.reason
        )
    }
}

impl VersionSet {
    /// The damaged tail the open dropped from the manifest it replayed, if any.
    /// Check the rest of the database against the tree before
    /// [`VersionSet::remove_unreferenced`] when this is set: the old manifest and
    /// the tables its lost edit named are still on disk until then (see
    /// [`VersionSet::open_deferring_cleanup`]).
    pub fn dropped_tail(&self) -> Option<&DroppedTail> {
        self.dropped_tail.as_ref()
    }
}
