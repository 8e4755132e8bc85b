//! The shape of a quickcache tree: which tables form it, how that is recorded durably,
//! and the background merging that keeps reads fast and space bounded.

#![forbid(unsafe_code)]

mod background;
mod current;
mod edit;
mod error;
mod executor;
mod flush;
mod framing;
mod handle;
mod level;
mod manifest;
mod merge;
mod meta;
mod options;
mod output;
mod picker;
mod recovery;
mod retention;
mod stats;
#[cfg(test)]
mod testing;
mod version;
mod version_set;

pub use background::{Compactor, SnapshotSource};
pub use current::{CURRENT, manifest_name, parse_manifest_name};
pub use edit::codec::DecodeError;
pub use edit::{InvalidEdit, VersionEdit};
pub use error::{Error, Result};
pub use handle::TableHandle;
pub use level::{LevelCursor, LevelTable};
pub use merge::MergingCursor;
pub use meta::{LEVELS, Level, TableId, TableInfo};
pub use options::{CompactionOptions, LevelTargets};
pub use picker::{Busy, CompactionPlan, pending_compaction_bytes, pick, scores};
pub use retention::{Decision, Retention};
pub use stats::{Stats, StatsSnapshot};
pub use version::{BoxCursor, Version};
pub use version_set::VersionSet;
