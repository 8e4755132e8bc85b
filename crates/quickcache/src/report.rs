//! `RecoveryReport`: what opening the database found and replayed.

/// What [`crate::Db::open`] recovered: the WAL segments read, the records and bytes
/// replayed into the memtable, and any torn tail cut off.
///
/// # Examples
/// ```
/// use quickcache::{Db, Options};
///
/// let dir = tempfile::tempdir()?;
/// // Keep the write in the WAL on close, so that the next open replays it.
/// let options = || Options { flush_on_close: false, ..Options::default() };
/// let db = Db::open_with(dir.path(), options())?;
/// db.put("k", "v")?;
/// db.close()?;
/// let db = Db::open_with(dir.path(), options())?;
/// let report = db.recovery_report();
/// assert_eq!(report.records(), 1);
/// assert!(report.cut_tail().is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct RecoveryReport {
    /// Whether the database was created by this open.
    pub created: bool,
    /// The WAL's own report: segments read, records, the torn tail, skipped ranges.
    pub wal: quickcache_wal::RecoveryReport,
    /// WAL payload bytes replayed.
    pub bytes: u64,
    /// Entries (puts and deletes) replayed into the memtable.
    pub entries: u64,
    /// The manifest's log number: segments below it were already in tables and were
    /// not replayed (`docs/crash-safety.md` rule 8).
    pub log_number: u64,
    /// The highest sequence number after recovery.
    pub last_seqno: u64,
    /// Memtables flushed while replaying (a log larger than the memtable budget).
    pub flushes: usize,
    /// WAL segments below the log number removed at open (left by a crash after a
    /// flush was installed).
    pub obsolete_segments_removed: usize,
    /// Ingests the WAL logged whose manifest edit was lost (a damaged last edit),
    /// redone from their tables (`docs/durability.md`, "Corruption").
    pub ingests_redone: usize,
}

impl RecoveryReport {
    /// The WAL segments read.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// assert!(db.recovery_report().segments().is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn segments(&self) -> &[quickcache_wal::SegmentId] {
        &self.wal.segments
    }

    /// WAL records (write batches) replayed.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// assert_eq!(db.recovery_report().records(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn records(&self) -> u64 {
        self.wal.records
    }

    /// The torn tail cut off the last segment, if a crash left one.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// assert!(db.recovery_report().cut_tail().is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn cut_tail(&self) -> Option<&quickcache_wal::DamagedRange> {
        self.wal.torn_tail.as_ref()
    }
}
