//! The file-system layer of quickcache: every byte the engine reads or writes goes
//! through the [`FileSystem`] trait.
//!
//! Two implementations ship: [`RealFs`] on disk, and [`SimFs`], an in-memory twin that
//! knows which bytes and names are durable.
//!
//! # Example
//! ```
//! use quickcache_fs::{FileSystem, RealFs};
//! let dir = std::env::temp_dir();
//! assert!(RealFs::new().exists(&dir)?);
//! # Ok::<(), quickcache_fs::Error>(())
//! ```

mod error;
mod filesystem;
mod mapping;
mod mmap;
mod real;

pub use error::{Error, Op, Result};
pub use filesystem::{DynFs, FileLock, FileSystem, ReadableFile, WritableFile, write_atomic};
pub use mapping::Mapping;
pub use real::RealFs;
