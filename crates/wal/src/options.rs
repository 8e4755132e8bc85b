//! What callers choose: durability per append, the recovery mode, and writer settings.

use std::time::Duration;

/// How durable a record is when [`crate::Wal::append`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Durability {
    /// Kept in the process's buffer; handed to the OS by the flush timer, by
    /// [`crate::Wal::flush`], by a later non-buffered append, or when the buffer passes
    /// [`WalOptions::buffer_limit`]. A process crash may lose the last few
    /// milliseconds of buffered records.
    Buffered,
    /// Handed to the OS (written) before `append` returns: survives a process crash,
    /// not a power loss.
    #[default]
    Os,
    /// Made durable with `fdatasync` before `append` returns: survives a power loss.
    /// Concurrent synced appends share one write and one sync (group commit).
    Synced,
}

/// What recovery does when a segment's bytes are damaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RecoveryMode {
    /// Damage at the end of the last segment, with no intact record after it, is the
    /// torn tail a power loss leaves: it is cut off and reported. So is damage in the
    /// last segment (of version 4 on) that no later sync mark shows was made durable:
    /// pages written after the last sync reach the disk in any order, so a power loss
    /// can leave a hole before records that landed. Any other damage is
    /// [`crate::Error::Corruption`].
    #[default]
    TolerateCorruptTail,
    /// Any damage, even a torn tail, is [`crate::Error::Corruption`].
    AbsoluteConsistency,
    /// Damage is skipped: reading resumes at the next intact record, and the skipped
    /// ranges are reported. Salvages what it can; records may be missing in between.
    SkipCorrupt,
}

/// Settings of a [`crate::Wal`] writer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalOptions {
    /// A new segment starts once the current one has reached this many bytes.
    /// A segment holds at least one record, so one can exceed it. Default 64 MiB.
    ///
    /// Each new segment file is also preallocated to this size (zeros the records
    /// then overwrite), so that synced appends do not change the file's size and each
    /// `fdatasync` commits only data; the writer cuts the unused space off when it
    /// finishes the segment, recovery after a crash. Every open log reserves this much.
    pub wal_segment_size: u64,
    /// How often the background thread hands buffered records to the OS; `None`
    /// starts no thread (buffered records then wait for `flush` or the next
    /// non-buffered append). Default 5 ms.
    pub flush_interval: Option<Duration>,
    /// Buffered appends hand the buffer to the OS themselves once it holds this many
    /// bytes, bounding the memory and the loss window. Default 1 MiB.
    pub buffer_limit: usize,
    /// How recovery treats damage. Default [`RecoveryMode::TolerateCorruptTail`].
    pub recovery_mode: RecoveryMode,
    /// Whether the previous run ended with every segment synced and nothing written
    /// since (an engine knows it from a marker its clean close leaves). Recovery then
    /// skips the syncs that make a crashed run's unsynced tail durable before anything
    /// is built on it, unless it finds a torn or preallocated tail. A wrong `true` can
    /// let a later power loss leave a hole in the log. Default false.
    pub previous_run_synced: bool,
}

impl Default for WalOptions {
    fn default() -> Self {
        WalOptions {
            wal_segment_size: 64 << 20,
            flush_interval: Some(Duration::from_millis(5)),
            buffer_limit: 1 << 20,
            recovery_mode: RecoveryMode::default(),
            previous_run_synced: false,
        }
    }
}
