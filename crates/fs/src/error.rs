//! The fs crate's error type: which operation failed, on which path, and why.

use std::fmt;
use std::io;
use std::path::PathBuf;

use snafu::Snafu;

/// The kind of file-system operation, carried in errors and matched by fault plans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Op {
    /// Creating (or truncating) a file for appending.
    Create,
    /// Opening an existing file for appending.
    OpenAppend,
    /// Opening a file for positional reads.
    Open,
    /// Appending bytes to a file.
    Append,
    /// `fdatasync`: the file's data (and the size needed to read it) is durable.
    SyncData,
    /// `fsync`: the file's data and all its metadata are durable.
    SyncAll,
    /// Reading at an offset.
    Read,
    /// Mapping a file read-only.
    Map,
    /// Renaming a file.
    Rename,
    /// Removing a file.
    Remove,
    /// Listing a directory.
    List,
    /// Creating a directory (and its parents).
    CreateDir,
    /// `fsync` of a directory: creates, renames and removals in it are durable.
    SyncDir,
    /// Taking the advisory lock on a file.
    Lock,
    /// Reading a file's metadata (existence, size).
    Stat,
    /// Cutting a file to a length (durable when the call returns).
    Truncate,
    /// Extending a file with zeros ahead of its appends.
    Preallocate,
    /// Closing a written file.
    Close,
    /// Giving a file a second name (a hard link).
    Link,
    /// Removing an empty directory.
    RemoveDir,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Op::Create => "create",
            Op::OpenAppend => "open for append",
            Op::Open => "open",
            Op::Append => "append",
            Op::SyncData => "sync data",
            Op::SyncAll => "sync",
            Op::Read => "read",
            Op::Map => "map",
            Op::Rename => "rename",
            Op::Remove => "remove",
            Op::List => "list",
            Op::CreateDir => "create directory",
            Op::SyncDir => "sync directory",
            Op::Lock => "lock",
            Op::Stat => "stat",
            Op::Truncate => "truncate",
            Op::Preallocate => "preallocate",
            Op::Close => "close",
            Op::Link => "link",
            Op::RemoveDir => "remove directory",
        };
        f.write_str(name)
    }
}

/// Errors of the file-system layer.
#[derive(Debug, Snafu)]
#[snafu(visibility(pub(crate)))]
#[non_exhaustive]
pub enum Error {
    /// The operating system (or an injected fault) refused an operation.
    #[snafu(display("{op} {}: {source}", path.display()))]
    Io {
        /// What was being done.
        op: Op,
        /// The file or directory it was done to.
        path: PathBuf,
        /// The underlying error; injected faults carry a real errno.
        source: io::Error,
    },
    /// Another opener, in this process or another, holds the lock.
    #[snafu(display("{} is locked by another opener", path.display()))]
    Locked {
        /// The lock file.
        path: PathBuf,
    },
}

impl Error {
    /// True if the error says the file or directory does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }

    /// True if the device is out of space (ENOSPC), real or injected.
    pub fn is_no_space(&self) -> bool {
        matches!(self, Error::Io { source, .. } if source.kind() == io::ErrorKind::StorageFull)
    }

    /// True if the device was out of space (ENOSPC) when a write, a create or a
    /// preallocation asked for more: nothing written before was lost, so the
    /// operation may be retried once space is free. ENOSPC from any other operation
    /// is not: from a sync it may mean buffered data was dropped, and from a rename,
    /// a removal or a directory sync the outcome is unknown.
    pub fn is_retryable_no_space(&self) -> bool {
        self.is_no_space() && matches!(self.op(), Some(Op::Create | Op::Append | Op::Preallocate))
    }

    /// The operation that failed, if the error came from one.
    pub fn op(&self) -> Option<Op> {
        match self {
            Error::Io { op, .. } => Some(*op),
            Error::Locked { .. } => Some(Op::Lock),
        }
    }
}

/// Result alias of the fs crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
