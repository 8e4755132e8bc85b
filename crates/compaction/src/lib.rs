//! The shape of a quickcache tree: which tables form it, how that is recorded durably,
//! and the background merging that keeps reads fast and space bounded.

#![forbid(unsafe_code)]

mod edit;
mod handle;
mod level;
mod merge;
mod meta;
mod options;
mod picker;
#[cfg(test)]
mod testing;
mod version;

pub use edit::codec::DecodeError;
pub use edit::{InvalidEdit, VersionEdit};
pub use handle::TableHandle;
pub use level::{LevelCursor, LevelTable};
pub use merge::MergingCursor;
pub use meta::{LEVELS, Level, TableId, TableInfo};
pub use options::{CompactionOptions, LevelTargets};
pub use picker::{Busy, CompactionPlan, pending_compaction_bytes, pick, scores};
pub use version::Version;
