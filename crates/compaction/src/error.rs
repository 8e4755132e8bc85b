//! The compaction crate's error type: what failed, on which table or file.
//!
//! [`crate::DecodeError`] and [`crate::InvalidEdit`] stay separate on purpose: they are
//! what the pure functions [`crate::VersionEdit::decode`] and edit application return,
//! with no file to name. Whatever reads a manifest or logs an edit wraps their text
//! with the manifest's path and record offset ([`Error::ManifestCorrupt`]) or as
//! [`Error::EditRefused`]; no file operation returns them bare.

use std::path::PathBuf;

use snafu::Snafu;

use crate::TableId;

/// Errors of versions, the manifest, flushes and compactions.
#[derive(Debug, Snafu)]
#[snafu(visibility(pub(crate)))]
#[non_exhaustive]
pub enum Error {
    /// A file-system operation on a manifest, `CURRENT` or the directory failed.
    #[snafu(display("{}: {source}", path.display()))]
    Fs {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: quickcache_fs::Error,
    },
    /// Reading or writing a table failed.
    #[snafu(display("{id} ({}): {source}", path.display()))]
    Table {
        /// The table.
        id: TableId,
        /// Its file.
        path: PathBuf,
        /// The underlying error.
        source: quickcache_sstable::Error,
    },
    /// Reading a flush or compaction input failed (the source error names the table
    /// file, or the memtable).
    #[snafu(display("reading a flush or compaction input: {source}"))]
    Input {
        /// The underlying error.
        source: quickcache_sstable::Error,
    },
    /// The manifest is damaged: a record failed its checksum, or an edit does not
    /// decode or does not fit the tree built so far.
    #[snafu(display("manifest {} damaged at offset {offset}: {reason}", path.display()))]
    ManifestCorrupt {
        /// The manifest file.
        path: PathBuf,
        /// Byte offset of the damaged record.
        offset: u64,
        /// What was wrong.
        reason: String,
    },
    /// An edit handed to [`crate::VersionSet::log_and_apply`] does not fit the current
    /// version, or cannot be framed; nothing was written and nothing is damaged.
    #[snafu(display("edit refused, nothing written to manifest {}: {reason}", path.display()))]
    EditRefused {
        /// The manifest in use.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A WAL segment or table the tree needs is gone, and the open had dropped the
    /// manifest's damaged tail: that record was most likely a durable edit that
    /// rotted (the one that made them obsolete), not a torn append.
    #[snafu(display(
        "{missing}, after the {tail}: that record was most likely a durable edit that rotted"
    ))]
    LostManifestEdit {
        /// What is missing, as a clause naming it ("WAL segment 7 is missing").
        missing: String,
        /// The dropped tail.
        tail: crate::DroppedTail,
    },
    /// `CURRENT` does not name a manifest.
    #[snafu(display("{} is damaged: holds {contents:?}, not a manifest name", path.display()))]
    BadCurrent {
        /// The `CURRENT` file.
        path: PathBuf,
        /// Its first bytes, escaped.
        contents: String,
    },
    /// The manifest lists a table whose file does not exist.
    #[snafu(display(
        "{id} listed in the manifest is missing: {}{}",
        path.display(),
        after_drop(dropped_tail.as_ref())
    ))]
    MissingTable {
        /// The table.
        id: TableId,
        /// The file expected.
        path: PathBuf,
        /// The damaged manifest tail the open dropped, if it did: then the manifest
        /// probably lost the edit that removed the table, and is the file to examine.
        dropped_tail: Option<crate::DroppedTail>,
    },
    /// A table's file is not the size the manifest recorded.
    #[snafu(display("{id} ({}) has {actual} bytes, the manifest says {expected}", path.display()))]
    TableSizeMismatch {
        /// The table.
        id: TableId,
        /// Its file.
        path: PathBuf,
        /// The size the manifest recorded.
        expected: u64,
        /// The file's size.
        actual: u64,
    },
    /// An earlier manifest write or sync failed, so what the manifest holds is
    /// unknown: nothing more is appended to it. If that failure was a full disk
    /// (`retryable`), the next edit first writes a fresh manifest (see
    /// `docs/crash-safety.md`); otherwise reopen the tree to recover.
    #[snafu(display("manifest {} failed earlier; {}", path.display(),
        if *retryable { "a fresh one is written once the disk has space" } else { "reopen the tree to recover" }))]
    Poisoned {
        /// The manifest.
        path: PathBuf,
        /// Whether the failure was ENOSPC from an append, after which a fresh
        /// manifest may replace this one.
        retryable: bool,
    },
    /// A flush or compaction was to change a keyspace that does not exist (dropped
    /// meanwhile): nothing was written to the manifest.
    #[snafu(display("{keyspace} does not exist (dropped?); nothing was written"))]
    NoSuchKeyspace {
        /// The keyspace.
        keyspace: quickcache_sstable::KeyspaceId,
    },
    /// The background compaction pool has stopped.
    #[snafu(display("the background compaction pool has stopped"))]
    Stopped,
    /// A compaction filter panicked; the compaction was abandoned
    /// ([`crate::CompactionFilter`], "Panics").
    #[snafu(display("the compaction filter of keyspace {keyspace:?} panicked: {message}"))]
    FilterPanicked {
        /// The keyspace being compacted.
        keyspace: String,
        /// The panic's message, if it had one.
        message: String,
    },
    /// No file number is left to hand out: the manifest records the number after the
    /// last one handed out, and `u64::MAX` cannot be recorded (recovery refuses it as
    /// leaving no number after it). Only a damaged or forged manifest starts this close
    /// to the end; nothing was created.
    #[snafu(display("{}: no file number left after {next}", dir.display()))]
    FileNumbersExhausted {
        /// The database directory.
        dir: PathBuf,
        /// The next number the counter holds.
        next: u64,
    },
}

impl Error {
    /// Whether the error reports damaged data (rather than an I/O failure).
    pub fn is_corruption(&self) -> bool {
        match self {
            Error::ManifestCorrupt { .. }
            | Error::BadCurrent { .. }
            | Error::LostManifestEdit { .. }
            | Error::MissingTable { .. }
            | Error::TableSizeMismatch { .. } => true,
            Error::Table { source, .. } | Error::Input { source } => source.is_corruption(),
            _ => false,
        }
    }
}

impl Error {
    /// Whether the error is a full disk met while writing (ENOSPC from a create, an
    /// append or a preallocation: [`quickcache_fs::Error::is_retryable_no_space`]),
    /// so that the job failed without losing anything durable and may be run again
    /// once space is free. ENOSPC from a sync, EIO, and damaged data are not.
    pub fn is_retryable_no_space(&self) -> bool {
        match self {
            Error::Fs { source, .. } => source.is_retryable_no_space(),
            Error::Table {
                source: quickcache_sstable::Error::Fs { source },
                ..
            } => source.is_retryable_no_space(),
            Error::Poisoned { retryable, .. } => *retryable,
            _ => false,
        }
    }
}

fn after_drop(tail: Option<&crate::DroppedTail>) -> String {
    tail.map_or_else(String::new, |t| {
        format!(" (the {t}; it probably was the edit that removed this table)")
    })
}

/// Result alias of the compaction crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
