//! The file-system layer of quickcache: every byte the engine reads or writes goes
//! through the [`FileSystem`] trait.
//!
//! Two implementations ship: [`RealFs`] on disk, and [`SimFs`], an in-memory twin that
//! knows which bytes and names are durable, can show the disk a power loss would leave
//! behind, and fails chosen operations on request ([`FaultPlan`]).
//!
//! # Example
//! ```
//! use std::path::Path;
//! use quickcache_fs::{FileSystem, SimFs};
//!
//! let fs = SimFs::new(7);
//! fs.create_dir_all(Path::new("/db"))?;
//! let mut log = fs.create(Path::new("/db/log"))?;
//! log.append(b"synced")?;
//! log.sync_data()?;
//! log.append(b" but not this")?;
//! fs.sync_dir(Path::new("/db"))?;
//!
//! // A power loss keeps synced data; the unsynced tail may be gone or torn.
//! let after = fs.crash();
//! let bytes = after.read_file(Path::new("/db/log"))?;
//! assert!(bytes.starts_with(b"synced"));
//! # Ok::<(), quickcache_fs::Error>(())
//! ```

mod crash_test;
mod error;
mod fault;
mod filesystem;
mod mapping;
mod mmap;
mod real;
mod rng;
mod sim;

pub use crash_test::{CrashFailure, CrashPoint, CrashReport, CrashTest};
pub use error::{Error, Op, Result};
pub use fault::{Fault, FaultPlan};
pub use filesystem::{DynFs, FileLock, FileSystem, ReadableFile, WritableFile, write_atomic};
pub use mapping::Mapping;
pub use real::RealFs;
pub use rng::Rng;
pub use sim::{CrashMode, SimFs};
