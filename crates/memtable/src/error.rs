//! The memtable crate's error type.

use quickcache_sstable::SeqNo;
use snafu::Snafu;

/// Errors of the memtable crate: damaged write-batch bytes, limits of the batch
/// format, and misuse of sequence numbers.
#[derive(Debug, Clone, Snafu)]
#[snafu(visibility(pub(crate)))]
#[non_exhaustive]
pub enum Error {
    /// Encoded write-batch bytes are damaged or not a write batch.
    #[snafu(display("write batch corrupt at offset {offset} ({field}): {reason}"))]
    Corruption {
        /// Byte offset of the damaged field within the encoded batch.
        offset: u64,
        /// The field being read.
        field: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// A key, value or entry count exceeds what the batch format can carry.
    #[snafu(display("write batch {what} of {len} exceeds the limit of {max}"))]
    TooLarge {
        /// What overflowed: "key", "value" or "entry count".
        what: &'static str,
        /// The offending length or count.
        len: u64,
        /// The largest allowed.
        max: u64,
    },
    /// Sequence numbers would run past [`SeqNo::MAX`].
    #[snafu(display("{count} sequence numbers from {first} run past the maximum"))]
    SeqNoExhausted {
        /// The first sequence number asked for.
        first: u64,
        /// How many were asked for.
        count: u64,
    },
    /// A range delete without an end: a range tombstone is `[start, end)` with a
    /// real key as its end, and no key sorts after every other.
    #[snafu(display("a range delete needs an end key (`start..end` or `start..=end`)"))]
    UnboundedRange,
    /// A batch was applied before it was given sequence numbers.
    #[snafu(display("write batch applied without a base sequence number"))]
    Unsequenced,
    /// A reservation of sequence numbers was dropped without being published, so
    /// visibility can never advance past it.
    #[snafu(display("sequence numbers from {seqno} were reserved but never published"))]
    Stalled {
        /// The first sequence number of the abandoned reservation.
        seqno: SeqNo,
    },
}

impl Error {
    /// Whether the error reports damaged bytes (rather than misuse or a limit).
    pub fn is_corruption(&self) -> bool {
        matches!(self, Error::Corruption { .. })
    }
}

/// Result alias of the memtable crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
