//! The facade's error type: every lower crate's error, wrapped with what the database
//! was doing and where, plus the facade's own refusals.

use std::path::PathBuf;
use std::sync::Arc;

use snafu::Snafu;

/// Errors of a quickcache database.
///
/// Lower crates' errors are kept whole as the `source` (so their structured fields and
/// messages survive), wrapped with the operation and path. Ask [`Error::is_corruption`],
/// [`Error::is_locked`], [`Error::is_io`] and friends rather than matching variants.
///
/// # Examples
/// ```
/// let dir = tempfile::tempdir()?;
/// let db = quickcache::Db::open(dir.path())?;
/// let second = quickcache::Db::open(dir.path()).unwrap_err();
/// assert!(second.is_locked());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Snafu)]
#[snafu(visibility(pub(crate)))]
#[non_exhaustive]
pub enum Error {
    /// A file-system operation of the facade itself (directory, lock, listing) failed.
    #[snafu(display("{operation} {}: {source}", path.display()))]
    Fs {
        /// What the database was doing.
        operation: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: quickcache_fs::Error,
    },
    /// Another opener, in this process or another, holds the database's lock.
    #[snafu(display("database {} is already open (locked by another opener)", path.display()))]
    Locked {
        /// The database directory.
        path: PathBuf,
        /// The lock error.
        source: quickcache_fs::Error,
    },
    /// The directory is not empty and holds no quickcache database (no `CURRENT`, or
    /// one naming another program's manifest); nothing was changed.
    #[snafu(display(
        "{} is not a quickcache database (found {found:?}); nothing was changed",
        path.display()
    ))]
    NotADatabase {
        /// The directory.
        path: PathBuf,
        /// The first entry that does not belong to a database, or the manifest in
        /// another format that `CURRENT` names.
        found: String,
    },
    /// The directory holds no database and [`crate::Options::create_if_missing`] is
    /// off; nothing was created.
    #[snafu(display(
        "{} holds no quickcache database (and create_if_missing is off); nothing was created",
        path.display()
    ))]
    NoDatabase {
        /// The directory.
        path: PathBuf,
    },
    /// An [`crate::Options`] value makes no sense (see [`crate::Options::validate`]);
    /// nothing was opened or changed.
    #[snafu(display("invalid options: {reason}; nothing was changed"))]
    InvalidOptions {
        /// Which option, and why.
        reason: String,
    },
    /// `CURRENT` names a manifest that does not exist: the database lost a file.
    /// Corruption; nothing was changed.
    #[snafu(display(
        "{} names the manifest {}, which does not exist: the database lost a file; nothing was changed",
        current.display(),
        manifest.display()
    ))]
    MissingManifest {
        /// The `CURRENT` file.
        current: PathBuf,
        /// The manifest it names.
        manifest: PathBuf,
    },
    /// `CURRENT` is missing while the rest of a database (tables, WAL segments) is
    /// there: the database lost a file. Corruption; nothing was changed.
    #[snafu(display(
        "{} is missing, but the directory holds a database ({found}): the database lost a file; nothing was changed; run `quickcache repair --db {}` to rebuild it from what can be read",
        current.display(),
        dir.display()
    ))]
    MissingCurrent {
        /// The missing `CURRENT` file.
        current: PathBuf,
        /// The database directory.
        dir: PathBuf,
        /// A file showing that a database was there.
        found: String,
    },
    /// A WAL segment the manifest records as created is gone (deleted, or lost by
    /// the file system): opening would serve an older state. Corruption.
    #[snafu(display(
        "WAL segment {} is missing: the manifest records that segment {recorded} was created, but the newest segment found is {}; the writes it held are lost; run `quickcache repair --db {}` to open what remains",
        path.display(),
        newest.map_or_else(|| "none".to_owned(), |n| n.to_string()),
        dir.display()
    ))]
    MissingWalSegment {
        /// The missing segment's path.
        path: PathBuf,
        /// The newest segment number the manifest records.
        recorded: u64,
        /// The newest segment number found, if any.
        newest: Option<u64>,
        /// The database directory.
        dir: PathBuf,
    },
    /// The WAL ends before where the last clean close left it (`docs/durability.md`):
    /// a clean close synced everything, so a short or torn tail is damage, not a
    /// crash. Corruption.
    #[snafu(display(
        "WAL segment {} ends its intact records at offset {found}, but the last clean close left them ending at {expected}: the file was damaged after it was synced; run `quickcache repair --db {}` to open what remains",
        path.display(),
        dir.display()
    ))]
    DamagedAfterCleanClose {
        /// The segment.
        path: PathBuf,
        /// Where its intact records end now.
        found: u64,
        /// Where they ended at the clean close.
        expected: u64,
        /// The database directory.
        dir: PathBuf,
    },
    /// The database was written by a newer version of quickcache; nothing was changed.
    #[snafu(display(
        "{} was written in format version {found} of {what}; this build reads up to {supported}; nothing was changed",
        path.display()
    ))]
    NewerFormat {
        /// The file with the newer format.
        path: PathBuf,
        /// Which format ("manifest edits", "WAL segment").
        what: &'static str,
        /// The version found.
        found: u32,
        /// The newest version this build reads.
        supported: u32,
    },
    /// The write-ahead log failed (I/O, corruption during recovery, poisoning).
    #[snafu(display("WAL in {} ({operation}): {source}", path.display()))]
    Wal {
        /// What the database was doing.
        operation: &'static str,
        /// The WAL directory.
        path: PathBuf,
        /// The underlying error.
        #[snafu(source(from(quickcache_wal::Error, Box::new)))]
        source: Box<quickcache_wal::Error>,
    },
    /// The version set, manifest, a flush or a compaction failed.
    #[snafu(display("tree in {} ({operation}): {source}", path.display()))]
    Tree {
        /// What the database was doing.
        operation: &'static str,
        /// The database directory.
        path: PathBuf,
        /// The underlying error.
        #[snafu(source(from(quickcache_compaction::Error, Box::new)))]
        source: Box<quickcache_compaction::Error>,
    },
    /// A table could not be read.
    #[snafu(display("table {} ({operation}): {source}", path.display()))]
    Table {
        /// What the database was doing.
        operation: &'static str,
        /// The table file (or the database directory when a merged read failed).
        path: PathBuf,
        /// The underlying error.
        #[snafu(source(from(quickcache_sstable::Error, Box::new)))]
        source: Box<quickcache_sstable::Error>,
    },
    /// A write batch was refused (too large, damaged WAL payload during recovery,
    /// sequence numbers exhausted).
    #[snafu(display("write batch ({operation}): {source}"))]
    Batch {
        /// What the database was doing.
        operation: &'static str,
        /// The underlying error.
        #[snafu(source(from(quickcache_memtable::Error, Box::new)))]
        source: Box<quickcache_memtable::Error>,
    },
    /// A keyspace name is refused: empty, over 255 bytes, the default keyspace's
    /// where a named one is needed, or naming no keyspace.
    #[snafu(display("keyspace name {name:?} {reason}"))]
    InvalidKeyspaceName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The keyspace was dropped; its handle no longer reads or writes.
    #[snafu(display("keyspace {name:?} was dropped"))]
    KeyspaceDropped {
        /// The keyspace's name.
        name: String,
    },
    /// [`crate::Db::keyspace_with`] was given options that differ from those stored
    /// when the keyspace was created; nothing was changed.
    #[snafu(display(
        "keyspace {name:?} exists with other options than those given; open it with Db::keyspace to use its stored options"
    ))]
    KeyspaceOptionsConflict {
        /// The keyspace's name.
        name: String,
    },
    /// A write names a keyspace the database does not have; nothing was written.
    #[snafu(display(
        "the write names keyspace {keyspace}, which this database does not have; nothing was written"
    ))]
    NoSuchKeyspace {
        /// The keyspace id the write names.
        keyspace: u32,
    },
    /// The WAL logs an ingest whose manifest edit is lost (a damaged last edit,
    /// dropped as a torn tail), and a table it names cannot be restored: missing, of
    /// another size or checksum, or damaged. Corruption; the ingest's keys would
    /// otherwise read as absent.
    #[snafu(display(
        "WAL segment {} logs at offset {offset} an ingest (sequence number {seqno}) whose manifest edit is lost, and it cannot be redone: {reason}; `quickcache repair` opens what remains",
        path.display()
    ))]
    LostIngest {
        /// The WAL segment.
        path: PathBuf,
        /// The ingest record's offset in it.
        offset: u64,
        /// The ingest's global sequence number.
        seqno: u64,
        /// Which table cannot be restored (its path in the database directory) and
        /// why.
        reason: String,
    },
    /// An intact WAL record (its frame checksum passed) starts as an ingest record
    /// but does not decode as one. Corruption.
    #[snafu(display(
        "WAL segment {} has an ingest record at offset {offset} that does not decode: {reason}",
        path.display()
    ))]
    BadIngestRecord {
        /// The WAL segment.
        path: PathBuf,
        /// The record's offset in it.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// A WAL record writes to a keyspace the manifest never created: the record or
    /// the manifest is damaged.
    #[snafu(display(
        "WAL segment {} has a record at offset {offset} writing to keyspace {keyspace}, which the manifest never created (the last id it handed out is {last})",
        path.display()
    ))]
    UnknownKeyspace {
        /// The WAL segment.
        path: PathBuf,
        /// The record's offset in it.
        offset: u64,
        /// The keyspace id the record names.
        keyspace: u32,
        /// The largest keyspace id the manifest handed out.
        last: u32,
    },
    /// A flush or compaction failed earlier; the database accepts no more writes
    /// until it is reopened. Reads keep working, and [`crate::Db::close`] reports it.
    #[snafu(display("database is read-only after a background error: {source}"))]
    Background {
        /// The first background error.
        source: Arc<Error>,
    },
    /// A background compaction failed.
    #[snafu(display("background compaction: {source}"))]
    Compaction {
        /// The compaction pool's sticky error.
        source: Arc<quickcache_compaction::Error>,
    },
    /// Flushes wait for space after a full disk (ENOSPC while writing a table or a
    /// manifest edit): nothing is lost, they resume by themselves once the disk has
    /// room, and writes go on meanwhile within the memtable budget. Returned by calls
    /// that wait for a flush ([`crate::Db::flush`], a close that flushes).
    #[snafu(display("flushes wait for space on the disk (they resume by themselves): {source}"))]
    NoSpace {
        /// The last full-disk error of a flush.
        source: Arc<quickcache_compaction::Error>,
    },
    /// A background thread could not be started.
    #[snafu(display("starting the {what} thread: {source}"))]
    Spawn {
        /// Which thread.
        what: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// The database is closing; the operation was not carried out.
    #[snafu(display("the database is closed"))]
    Closed,
    /// The database was opened read-only ([`crate::Db::open_read_only`]): it takes
    /// no write, flush, compaction or keyspace creation.
    #[snafu(display(
        "database {} was opened read-only: it takes no writes (open it normally to write)",
        path.display()
    ))]
    ReadOnly {
        /// The database directory.
        path: PathBuf,
    },
    /// [`crate::Db::checkpoint`] was given a destination that exists (or none that
    /// can hold one); nothing was written.
    #[snafu(display(
        "checkpoint destination {} exists (or names no directory); nothing was written",
        path.display()
    ))]
    CheckpointExists {
        /// The destination.
        path: PathBuf,
    },
    /// A single write (one `put`, one [`crate::WriteBatch`], one transaction's
    /// commit) is larger than one WAL record may be
    /// ([`quickcache_wal::MAX_RECORD_LEN`], 64 MiB): nothing was written. Split it, or
    /// load bulk data with [`crate::Db::ingest`] or [`crate::BulkLoader`], which bypass
    /// the WAL.
    #[snafu(display(
        "a write of {len} bytes exceeds the WAL record limit of {max} bytes (64 MiB); nothing was written: split it into smaller batches, or load bulk data with Db::ingest or BulkLoader, which bypass the WAL"
    ))]
    WriteTooLarge {
        /// The encoded size of the write.
        len: usize,
        /// The limit, [`quickcache_wal::MAX_RECORD_LEN`].
        max: u32,
    },
    /// [`crate::Db::ingest`] refused a file; nothing was ingested.
    #[snafu(display("cannot ingest {}: {reason}; nothing was ingested", path.display()))]
    IngestRefused {
        /// The file refused.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A transaction could not commit because a key it read or wrote, or a key in a
    /// range it scanned, was written by another writer after it began (or it stayed
    /// open longer than the conflict history reaches). Nothing was written: retry it
    /// ([`Error::is_conflict`], [`crate::Db::update`]).
    #[snafu(display(
        "transaction conflict{}: {reason}; nothing was written, retry the transaction",
        conflict_subject(keyspace, key.as_deref())
    ))]
    Conflict {
        /// The keyspace of the conflicting key (`"default"` for the default one;
        /// empty when no key is to blame).
        keyspace: String,
        /// The conflicting key, if one is to blame.
        key: Option<Vec<u8>>,
        /// What happened to it.
        reason: String,
    },
}

/// " on key \"k\" in keyspace \"ks\"", or nothing without a key.
fn conflict_subject(keyspace: &str, key: Option<&[u8]>) -> String {
    match key {
        Some(key) => format!(
            " on key \"{}\" in keyspace {keyspace:?}",
            key.escape_ascii()
        ),
        None => String::new(),
    }
}

impl Error {
    /// Whether a transaction failed to commit because of a concurrent write: nothing
    /// was written and running it again may succeed ([`crate::Db::update`] does).
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// let mut tx = db.transaction();
    /// tx.get("balance")?;
    /// db.put("balance", "10")?; // another writer
    /// tx.put("balance", "20");
    /// let err = tx.commit().unwrap_err();
    /// assert!(err.is_conflict());
    /// assert!(err.to_string().contains("\"balance\""), "{err}");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_conflict(&self) -> bool {
        matches!(self, Error::Conflict { .. })
    }

    /// Whether stored bytes are damaged (a checksum, a torn manifest, a missing table).
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// quickcache::Db::open(dir.path())?.close()?;
    /// // Lose the manifest that CURRENT names.
    /// let current = std::fs::read_to_string(dir.path().join("CURRENT"))?;
    /// std::fs::remove_file(dir.path().join(current.trim_end()))?;
    /// let err = quickcache::Db::open(dir.path()).unwrap_err();
    /// assert!(err.is_corruption(), "{err}");
    /// assert!(!err.is_io());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_corruption(&self) -> bool {
        match self {
            Error::Wal { source, .. } => source.is_corruption(),
            Error::Tree { source, .. } => source.is_corruption(),
            Error::Table { source, .. } => source.is_corruption(),
            Error::Batch { source, .. } => source.is_corruption(),
            Error::Background { source } => source.is_corruption(),
            Error::Compaction { source } => source.is_corruption(),
            Error::MissingManifest { .. }
            | Error::UnknownKeyspace { .. }
            | Error::LostIngest { .. }
            | Error::BadIngestRecord { .. }
            | Error::MissingCurrent { .. }
            | Error::MissingWalSegment { .. }
            | Error::DamagedAfterCleanClose { .. } => true,
            _ => false,
        }
    }

    /// Whether the database is locked by another opener.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let _db = quickcache::Db::open(dir.path())?;
    /// assert!(quickcache::Db::open(dir.path()).unwrap_err().is_locked());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_locked(&self) -> bool {
        matches!(self, Error::Locked { .. })
    }

    /// Whether an I/O operation failed (including injected faults and a full disk),
    /// as opposed to damaged data or a refusal.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// use quickcache::fs::{Fault, FaultPlan, Op, SimFs};
    /// use quickcache::{Db, Options};
    ///
    /// let fs = SimFs::new(1);
    /// let db = Db::open_with("/db", Options { fs: Arc::new(fs.clone()), ..Options::default() })?;
    /// fs.set_faults(FaultPlan::new().fail_matching(|op, _| op == Op::Append, Fault::Io));
    /// let err = db.put("k", "v").unwrap_err(); // the WAL append fails with EIO
    /// assert!(err.is_io(), "{err}");
    /// assert!(!err.is_corruption() && !err.is_no_space());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_io(&self) -> bool {
        !self.is_corruption()
            && matches!(
                self,
                Error::Fs { .. }
                    | Error::Wal { .. }
                    | Error::Tree { .. }
                    | Error::Table { .. }
                    | Error::Compaction { .. }
                    | Error::NoSpace { .. }
            )
            || matches!(self, Error::Background { source } if source.is_io())
    }

    /// Whether the database refuses writes: it was opened read-only
    /// ([`crate::Db::open_read_only`]), or is in the read-only state a background
    /// error leaves.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// use quickcache::fs::{Fault, FaultPlan, Op, SimFs};
    /// use quickcache::{Db, Options};
    ///
    /// let fs = SimFs::new(1);
    /// let db = Db::open_with("/db", Options { fs: Arc::new(fs.clone()), ..Options::default() })?;
    /// db.put("k", "v")?;
    /// // A flush cannot create its table: the database turns read-only.
    /// fs.set_faults(FaultPlan::new().fail_matching(|op, _| op == Op::Create, Fault::Io));
    /// assert!(db.flush().unwrap_err().is_read_only());
    /// fs.clear_faults();
    /// let err = db.put("k2", "v").unwrap_err(); // though the disk works again
    /// assert!(err.is_read_only(), "{err}");
    /// assert_eq!(db.get("k")?.unwrap(), b"v"); // reads keep working
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_read_only(&self) -> bool {
        matches!(self, Error::Background { .. } | Error::ReadOnly { .. })
    }

    /// Whether the directory was refused as not a quickcache database.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// std::fs::write(dir.path().join("notes.txt"), "mine")?;
    /// assert!(quickcache::Db::open(dir.path()).unwrap_err().is_not_a_database());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_not_a_database(&self) -> bool {
        matches!(self, Error::NotADatabase { .. })
    }

    /// Whether the open found no database where [`crate::Options::create_if_missing`]
    /// forbade creating one.
    pub fn is_no_database(&self) -> bool {
        matches!(self, Error::NoDatabase { .. })
    }

    /// Whether the database was refused for being of a newer format version.
    ///
    /// # Examples
    /// ```
    /// use quickcache_compaction::{EDIT_FORMAT, parse_manifest_name};
    /// use quickcache_wal::SegmentId;
    /// use quickcache_wal::frame::{encode, encode_segment_header};
    ///
    /// let dir = tempfile::tempdir()?;
    /// quickcache::Db::open(dir.path())?.close()?;
    /// // Rewrite the manifest as a newer build would: its first edit in the next format.
    /// let current = std::fs::read_to_string(dir.path().join("CURRENT"))?;
    /// let id = SegmentId(parse_manifest_name(current.trim_end()).unwrap());
    /// let mut manifest = encode_segment_header(id).to_vec();
    /// let offset = manifest.len() as u64;
    /// encode(&mut manifest, id, offset, &[EDIT_FORMAT + 1])?;
    /// std::fs::write(dir.path().join(current.trim_end()), &manifest)?;
    ///
    /// let err = quickcache::Db::open(dir.path()).unwrap_err();
    /// assert!(err.is_newer_format(), "{err}");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_newer_format(&self) -> bool {
        matches!(self, Error::NewerFormat { .. })
    }

    /// Whether the device is full (ENOSPC), real or injected, anywhere in the chain.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// use quickcache::fs::{Fault, FaultPlan, Op, SimFs};
    /// use quickcache::{Db, Options};
    ///
    /// let fs = SimFs::new(1);
    /// let db = Db::open_with("/db", Options { fs: Arc::new(fs.clone()), ..Options::default() })?;
    /// fs.set_faults(FaultPlan::new().fail_matching(|op, _| op == Op::Append, Fault::NoSpace));
    /// let err = db.put("k", "v").unwrap_err();
    /// assert!(err.is_no_space(), "{err}");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_no_space(&self) -> bool {
        let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(self);
        while let Some(e) = cur {
            if let Some(fs) = e.downcast_ref::<quickcache_fs::Error>()
                && fs.is_no_space()
            {
                return true;
            }
            cur = e.source();
        }
        false
    }
}

/// Result alias of quickcache: `E` defaults to [`Error`].
///
/// # Examples
/// ```
/// fn first_value(db: &quickcache::Db) -> quickcache::Result<Option<Vec<u8>>> {
///     Ok(db.iter().next().transpose()?.map(|(_, v)| v.to_vec()))
/// }
/// let dir = tempfile::tempdir()?;
/// let db = quickcache::Db::open(dir.path())?;
/// db.put("k", "v")?;
/// assert_eq!(first_value(&db)?, Some(b"v".to_vec()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type Result<T, E = Error> = std::result::Result<T, E>;
