//! The sstable crate's error type.

use std::path::PathBuf;

use snafu::Snafu;

use crate::InternalKey;

/// Errors of the sstable crate.
#[derive(Debug, Snafu)]
#[snafu(visibility(pub(crate)))]
#[non_exhaustive]
pub enum Error {
    /// Bytes read from a table (or handed to a decoder) are damaged or not a table.
    /// `reason` starts with the block it was found in ("data block 3", "index block",
    /// "footer", ...).
    #[snafu(display("corruption in {} at offset {offset}: {reason}", file.display()))]
    Corruption {
        /// The table file (empty when decoding bytes that came from no file).
        file: PathBuf,
        /// Byte offset of the damaged block or field within the file.
        offset: u64,
        /// What was wrong.
        reason: String,
    },
    /// A block or the footer does not match its checksum.
    #[snafu(display(
        "checksum mismatch in {} at offset {offset} ({block}): stored {expected:#018x}, computed {actual:#018x}",
        file.display()
    ))]
    ChecksumMismatch {
        /// The table file.
        file: PathBuf,
        /// Which block ("data block 3", "index block", "footer", ...).
        block: String,
        /// Byte offset of the block within the file.
        offset: u64,
        /// The checksum stored in the file.
        expected: u64,
        /// The checksum of the bytes as read.
        actual: u64,
    },
    /// The builder was given a key that does not sort strictly after the previous one.
    #[snafu(display("key {key:?} added after {previous:?}: keys must be strictly increasing"))]
    OutOfOrder {
        /// The last key accepted.
        previous: InternalKey,
        /// The key refused.
        key: InternalKey,
    },
    /// A key or value is too long for the format (lengths are 32-bit).
    #[snafu(display("{what} of {len} bytes is too long for a table entry"))]
    EntryTooLarge {
        /// "key" or "value".
        what: &'static str,
        /// Its length.
        len: usize,
    },
    /// The builder was given an expiring entry whose value cannot hold its 8-byte
    /// expiry ([`crate::split_expiring`]).
    #[snafu(display("an expiring value of {len} bytes has no room for its 8-byte expiry"))]
    MissingExpiry {
        /// The value's length.
        len: usize,
    },
    /// A builder option is out of range.
    #[snafu(display("invalid table option {option}: {reason}"))]
    InvalidOption {
        /// The option's name.
        option: &'static str,
        /// Why it was refused.
        reason: &'static str,
    },
    /// An earlier write of this builder failed; the file's contents are unknown.
    #[snafu(display("table builder for {} failed earlier and accepts no more calls", file.display()))]
    Poisoned {
        /// The table being written.
        file: PathBuf,
    },
    /// The file-system layer failed.
    #[snafu(display("{source}"))]
    Fs {
        /// The underlying error.
        source: quickcache_fs::Error,
    },
}

impl Error {
    /// Whether the error reports damaged data (rather than an I/O failure or misuse).
    pub fn is_corruption(&self) -> bool {
        matches!(
            self,
            Error::Corruption { .. } | Error::ChecksumMismatch { .. }
        )
    }
}

/// Result alias of the sstable crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
