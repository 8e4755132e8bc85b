//! quickcache: an embeddable, crash-tolerant key-value store (an LSM tree).
//!
//! Open a [`Db`], then `put`, `get`, `delete`, apply [`WriteBatch`]es atomically,
//! scan with [`Db::range`] / [`Db::prefix`] (both directions), and read consistent
//! [`Snapshot`]s while writes go on. Each write chooses its [`Durability`]: handed to
//! the OS (the default, survives a process crash), synced (survives power loss,
//! shared by concurrent writers through group commit), or buffered (fastest).
//!
//! A database that no longer opens because a file was damaged or lost can be rebuilt
//! from what is still readable with [`repair`], which reports what was lost
//! ([`RepairReport`]); [`verify`] checks without changing anything.
//!
//! This crate is a thin facade: it wires the lower crates together and owns no byte
//! format. Of the lower crates only [`fs`] is re-exported (its `SimFs` crash-tests
//! applications); tools that read the other layers' files depend on
//! `quickcache-wal`, `quickcache-memtable`, `quickcache-sstable` or
//! `quickcache-compaction` directly. The architecture is described in `docs/design.md`,
//! the durability guarantees in `docs/durability.md`.
//!
//! # Example
//! ```
//! use quickcache::{Db, WriteBatch};
//!
//! let dir = tempfile::tempdir()?;
//! let db = Db::open(dir.path())?;
//! db.put("user:1", "ann")?;
//! db.put("user:2", "bob")?;
//!
//! let mut batch = WriteBatch::new();
//! batch.delete("user:1").put("user:3", "cid");
//! db.write(batch)?;
//!
//! let names: Vec<_> = db
//!     .prefix("user:")
//!     .map(|kv| kv.map(|(_, v)| String::from_utf8_lossy(&v).into_owned()))
//!     .collect::<Result<_, _>>()?;
//! assert_eq!(names, ["bob", "cid"]);
//! db.close()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]

mod background;
mod batch;
mod bulk;
mod checkpoint;
mod clean;
mod compact;
mod db;
mod diagnostics;
mod error;
mod ingest;
mod inner;
mod iter;
mod key_range;
mod keyspace;
mod lifecycle;
mod lost;
mod memcursor;
mod no_space;
mod open;
mod options;
mod read;
mod read_only;
mod repair;
mod report;
mod snapshot;
mod state;
mod stats;
mod tx;
mod value;
mod verify;
mod write;

pub use batch::WriteBatch;
pub use bulk::{BULK_DIR, BulkLoader, DEFAULT_BULK_MEMORY};
pub use checkpoint::CheckpointReport;
pub use clean::CLOSED_FILE;
pub use db::Db;
pub use diagnostics::BackgroundReporter;
pub use error::{Error, Result};
pub use ingest::record::{IngestRecord, IngestRecordError, LoggedTable, is_ingest_record};
pub use ingest::{IngestOptions, IngestReport};
pub use iter::Iter;
pub use key_range::KeyRange;
pub use keyspace::{Keyspace, KeyspaceOptions};
pub use no_space::NoSpaceStats;
pub use open::{LOCK_FILE, WAL_DIR};
pub use options::{Options, WriteOptions};
/// One kind of background job's state after a full disk, in [`NoSpaceStats`].
pub use quickcache_compaction::NoSpaceState;
pub use repair::{KeyBounds, LOST_DIR, LostRange, MovedFile, RepairReport, repair, repair_with};
pub use report::RecoveryReport;
pub use snapshot::Snapshot;
pub use stats::{KeyspaceStats, LevelStats, Stats, TableStats};
pub use tx::{CompareAndSwapError, Transaction, TxIter, UPDATE_ATTEMPTS};
pub use value::{Key, Value};
pub use verify::{FileProblem, VerifyReport, verify, verify_with};

/// How durable a write is when it returns: set per database in
/// [`Options::durability`], per write in [`WriteOptions`].
///
/// ```
/// use quickcache::{Durability, Options};
/// let options = Options { durability: Durability::Synced, ..Options::default() };
/// ```
pub use quickcache_wal::Durability;
/// What opening does with damaged WAL bytes ([`Options::recovery_mode`]).
///
/// ```
/// use quickcache::{Options, RecoveryMode};
/// let strict = Options { recovery_mode: RecoveryMode::AbsoluteConsistency, ..Options::default() };
/// ```
pub use quickcache_wal::RecoveryMode;

/// How a level's table blocks are compressed ([`Options::compression`]).
///
/// ```
/// use quickcache::{Compression, Options};
/// let mut options = Options::default();
/// options.compression[6] = Compression::Lz4; // the bottom level: lz4, not zstd
/// ```
pub use quickcache_sstable::Compression;

/// The clock expiry is judged by ([`Options::clock`]): the system's, or a manual one
/// for tests.
pub use quickcache_compaction::{Clock, ManualClock, SystemClock};
/// Compaction filters ([`Options::compaction_filter`],
/// [`KeyspaceOptions::compaction_filter`]).
pub use quickcache_compaction::{CompactionFilter, FilterDecision, FilterEntry, SharedFilter};
/// A point in time, in milliseconds since the Unix epoch (what a [`Clock`] tells).
pub use quickcache_sstable::Timestamp;

/// The file-system layer (`quickcache-fs`): [`fs::RealFs`], and [`fs::SimFs`] for
/// tests, passed as [`Options::fs`]: `Options { fs: Arc::new(SimFs::new(seed)), .. }`.
/// It is part of this crate's API because applications crash-test themselves with
/// it (`docs/testing-your-app.md`). The other layers (`quickcache-wal`,
/// `quickcache-memtable`, `quickcache-sstable`, `quickcache-compaction`) are not
/// re-exported: tools that read their files depend on those crates directly, and
/// their APIs are not covered by this crate's semver promise.
pub use quickcache_fs as fs;

/// The README's examples, compiled and run by `cargo test`.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
