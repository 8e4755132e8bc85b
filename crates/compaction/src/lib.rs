//! The shape of a quickcache tree: which tables form it, how that is recorded durably,
//! and the background merging that keeps reads fast and space bounded.

#![forbid(unsafe_code)]

mod level;
mod merge;
#[cfg(test)]
mod testing;

pub use level::{LevelCursor, LevelTable};
pub use merge::MergingCursor;
