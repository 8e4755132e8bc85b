//! The crate's errors, and their translation into openraft's `StorageError`.

use openraft::{AnyError, ErrorSubject, ErrorVerb, StorageError, StorageIOError};
use snafu::Snafu;

use crate::NodeId;

/// An error of the adapter outside openraft's traits (opening, identity, snapshots).
#[derive(Debug, Snafu)]
#[snafu(visibility(pub(crate)))]
#[non_exhaustive]
pub enum Error {
    /// The database failed.
    #[snafu(display("{operation}: {source}"))]
    Db {
        /// What the adapter was doing.
        operation: &'static str,
        /// The database's error.
        source: quickcache::Error,
    },
    /// A stored record could not be decoded.
    #[snafu(display("decoding {what}: {source}"))]
    Decode {
        /// Which record.
        what: &'static str,
        /// The decoder's error.
        source: serde_json::Error,
    },
    /// A record could not be encoded.
    #[snafu(display("encoding {what}: {source}"))]
    Encode {
        /// Which record.
        what: &'static str,
        /// The encoder's error.
        source: serde_json::Error,
    },
    /// A log entry is stored under another index than its own: the log is damaged.
    #[snafu(display("log entry under index {key_index} holds index {entry_index}"))]
    LogMismatch {
        /// The index in the key.
        key_index: u64,
        /// The index in the entry.
        entry_index: u64,
    },
    /// A snapshot's bytes are damaged or of an unknown format.
    #[snafu(display("snapshot data: {reason}"))]
    SnapshotFormat {
        /// What is wrong, naming the field.
        reason: String,
    },
    /// The stored current snapshot's chunks disagree with their record: the
    /// directory is damaged.
    #[snafu(display("stored snapshot data: {reason}"))]
    StoredSnapshot {
        /// What is wrong, naming the generation and chunk.
        reason: String,
    },
    /// The record of the live state keyspace names one the database does not hold:
    /// the directory is damaged (an install creates the keyspace, durably, before it
    /// records it as live).
    #[snafu(display("the live state keyspace {name:?} is missing from the database"))]
    MissingStateKeyspace {
        /// The name recorded as live.
        name: String,
    },
    /// Every state keyspace number is taken: an install has no fresh keyspace to
    /// stage into.
    #[snafu(display("no state keyspace name is left to install into"))]
    StateKeyspaceNames,
    /// The data directory belongs to another node or another cluster.
    #[snafu(display(
        "data directory belongs to node {found_node} of cluster {found_cluster:?}, \
         not node {node} of cluster {cluster:?}; refusing to start"
    ))]
    WrongIdentity {
        /// The node id asked for.
        node: NodeId,
        /// The cluster asked for.
        cluster: String,
        /// The node id recorded in the directory.
        found_node: NodeId,
        /// The cluster recorded in the directory.
        found_cluster: String,
    },
    /// The database's default keyspace holds keys, which the adapter never writes:
    /// the directory is another quickcache database, or was written by the
    /// unreleased prefix layout of this crate.
    #[snafu(display(
        "the database's default keyspace holds key {key:?}: not a quickcache-raft \
         data directory (or one of the unreleased one-keyspace layout); refusing to start"
    ))]
    ForeignLayout {
        /// The first key found there, lossily as text.
        key: String,
    },
    /// The directory was written by a later layout of this crate (its layout marker
    /// names a version this build does not know).
    #[snafu(display(
        "the data directory is of quickcache-raft layout {version:?}; this build reads \
         layouts 1 and 2; refusing to start"
    ))]
    UnknownLayout {
        /// The version the marker names, lossily as text.
        version: String,
    },
    /// A blocking task was lost (its thread panicked or the runtime shut down).
    #[snafu(display("blocking storage task: {source}"))]
    Task {
        /// The join error.
        source: tokio::task::JoinError,
    },
}

impl Error {
    /// Whether this is the refusal of a data directory of another node or cluster.
    pub fn is_wrong_identity(&self) -> bool {
        matches!(self, Error::WrongIdentity { .. })
    }
}

/// The `Result` of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// openraft's storage error for `error`, which happened to `subject` while doing `verb`.
pub(crate) fn storage(
    subject: ErrorSubject<NodeId>,
    verb: ErrorVerb,
    error: &Error,
) -> StorageError<NodeId> {
    StorageIOError::new(subject, verb, AnyError::new(error)).into()
}
