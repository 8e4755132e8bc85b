//! The shape of a quickcache tree: which tables form it, how that is recorded durably,
//! and the background merging that keeps reads fast and space bounded.
//!
//! - [`VersionSet`] is the live tree: the current [`Version`] (tables per level, held by
//!   readers through an `Arc`), the manifest of [`VersionEdit`]s behind it, file
//!   numbers, and recovery ([`VersionSet::open_or_create`]).
//! - [`VersionSet::flush`] turns a frozen memtable's cursor into an L0 table;
//!   [`pick`] (a pure function) chooses a compaction, [`VersionSet::compact`] runs it,
//!   and [`Compactor`] does both on background threads.
//! - [`MergingCursor`] and [`LevelCursor`] give one sorted view over many sources.
//!
//! Formats: `docs/format/manifest.md`.
//!
//! # Example
//! ```
//! use std::collections::BTreeMap;
//! use std::path::Path;
//! use std::sync::Arc;
//! use quickcache_compaction::{CompactionOptions, MergingCursor, VersionSet};
//! use quickcache_fs::{DynFs, SimFs};
//! use quickcache_sstable::{Cursor, SeqNo};
//! # use quickcache_sstable::{InternalKey, KeyRef, ValueKind};
//! # struct Frozen(Vec<(InternalKey, Vec<u8>)>, Option<usize>);
//! # impl Cursor for Frozen {
//! #     fn seek(&mut self, t: KeyRef<'_>) -> quickcache_sstable::Result<()> {
//! #         let i = self.0.partition_point(|(k, _)| k.as_ref() < t);
//! #         self.1 = (i < self.0.len()).then_some(i); Ok(()) }
//! #     fn seek_to_first(&mut self) -> quickcache_sstable::Result<()> { self.1 = (!self.0.is_empty()).then_some(0); Ok(()) }
//! #     fn seek_to_last(&mut self) -> quickcache_sstable::Result<()> { self.1 = self.0.len().checked_sub(1); Ok(()) }
//! #     fn next(&mut self) -> quickcache_sstable::Result<()> { self.1 = self.1.map(|p| p + 1).filter(|&p| p < self.0.len()); Ok(()) }
//! #     fn prev(&mut self) -> quickcache_sstable::Result<()> { self.1 = self.1.and_then(|p| p.checked_sub(1)); Ok(()) }
//! #     fn key(&self) -> Option<KeyRef<'_>> { self.1.map(|p| self.0[p].0.as_ref()) }
//! #     fn value(&self) -> Option<&[u8]> { self.1.map(|p| self.0[p].1.as_slice()) }
//! # }
//! # let seq = |n| SeqNo::new(n).unwrap();
//! # let mut memtable = Frozen(vec![
//! #     (InternalKey::new(*b"apple", seq(1), ValueKind::Value), b"red".to_vec()),
//! # ], None);
//! let fs: DynFs = Arc::new(SimFs::new(1));
//! let dir = Path::new("/db");
//! let tree = VersionSet::open_or_create(fs.clone(), dir, CompactionOptions::default())?;
//!
//! // Flush a frozen memtable (any cursor); WAL segments below 2 become obsolete.
//! tree.flush(&mut memtable, 2, &[])?;
//! tree.compact_until_idle(&[])?;
//!
//! // Read through a version: point lookups, or a merged scan.
//! let version = tree.current();
//! let entry = version.get(b"apple", SeqNo::MAX)?.unwrap();
//! assert_eq!(entry.value.as_slice(), b"red");
//! let mut scan = MergingCursor::new(version.cursors());
//! scan.seek_to_first()?;
//! assert_eq!(scan.key().map(|k| k.user_key), Some(&b"apple"[..]));
//!
//! // Reopening (after a crash too) recovers the same tree.
//! drop((scan, version, tree));
//! let tree = VersionSet::open(fs, dir, CompactionOptions::default())?;
//! assert_eq!(tree.log_number(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]

mod background;
mod catalogue;
mod clock;
mod current;
mod edit;
mod error;
mod executor;
mod filter;
mod flush;
mod framing;
#[doc(hidden)]
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
mod handle;
mod ingest;
mod keyspace;
mod level;
mod manifest;
mod merge;
mod meta;
pub mod no_space;
mod options;
mod output;
mod picker;
mod precheck;
mod range_del;
mod recovery;
mod retention;
mod salvage;
mod stats;
mod sync_point;
mod tail;
#[cfg(test)]
mod testing;
mod version;
mod version_set;

pub use background::{
    Compactor, Idle, IdleWaiter, Interrupted, Listener, ManualCompaction, ManualPlan,
    OutputReservation, PoolState, SnapshotSource,
};
pub use catalogue::KeyspaceTree;
pub use clock::{Clock, DynClock, ManualClock, SystemClock};
pub use current::{CURRENT, manifest_name, parse_manifest_name};
pub use edit::codec::{DecodeError, EDIT_FORMAT, OLDEST_EDIT_FORMAT};
pub use edit::{InvalidEdit, VersionEdit};
pub use error::{Error, Result};
pub use filter::{CompactionFilter, FilterDecision, FilterEntry, Hooks, SharedFilter};
pub use handle::TableHandle;
pub use ingest::ingest_level;
pub use keyspace::{
    DEFAULT_KEYSPACE_NAME, KeyspaceDef, MAX_KEYSPACE_NAME_LEN, TreeOptions, check_keyspace_name,
};
pub use level::{LevelCursor, LevelTable};
pub use merge::MergingCursor;
pub use meta::{LEVELS, Level, TableId, TableInfo};
pub use no_space::{Backoff, NoSpaceState};
pub use options::{CompactionOptions, DEFAULT_COMPRESSION, LevelTargets};
pub use picker::{
    Busy, CompactionPlan, L0_BATCH, l0_output, pending_compaction_bytes, pick, scores,
};
pub use precheck::{ManifestCheck, check_current};
pub use recovery::TreeInspection;
pub use retention::{Decision, Retention};
pub use salvage::{ManifestSalvage, SkippedRecord, TableFate, install_manifest, salvage_manifests};
pub use stats::{Stats, StatsSnapshot};
pub use sync_point::SyncPoints;
pub use tail::DroppedTail;
pub use version::{BoxCursor, LevelTables, TreeCursor, Version};
pub use version_set::{FrozenTree, VersionSet, file_number_after};
