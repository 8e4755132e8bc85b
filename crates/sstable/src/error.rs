//! The sstable crate's error type.

use std::path::PathBuf;

use snafu::Snafu;

/// Errors of the sstable crate.
#[derive(Debug, Snafu)]
#[snafu(visibility(pub(crate)))]
#[non_exhaustive]
pub enum Error {
    /// Bytes read from a table (or handed to a decoder) are damaged or not a table.
    #[snafu(display("corruption in {} at offset {offset}: {reason}", file.display()))]
    Corruption {
        /// The table file (empty when decoding bytes that came from no file).
        file: PathBuf,
        /// Byte offset of the damaged block or field within the file.
        offset: u64,
        /// What was wrong.
        reason: String,
    },
    /// The file-system layer failed.
    #[snafu(display("{source}"))]
    Fs {
        /// The underlying error.
        source: quickcache_fs::Error,
    },
}

impl Error {
    /// Whether the error reports damaged data (rather than an I/O failure).
    pub fn is_corruption(&self) -> bool {
        matches!(self, Error::Corruption { .. })
    }
}

/// Result alias of the sstable crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
