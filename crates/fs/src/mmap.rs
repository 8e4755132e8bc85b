//! The one place in quickcache that uses `unsafe`: mapping a file read-only.
//!
//! # SIGBUS
//! An I/O error on a mapped page, or a file truncated underneath its map, arrives as
//! SIGBUS, not as an error value. The engine therefore maps only tables: files that are
//! complete, synced and never modified again, inside a directory that the engine's lock
//! file keeps other quickcache processes out of. A user who truncates a table by hand
//! while the database is open will crash the process; no safe API can prevent that.

use std::fs::File;
use std::path::Path;

use snafu::ResultExt;

use crate::error::IoSnafu;
use crate::{Mapping, Op, Result};

/// Maps `file` (opened from `path`) read-only for its whole length.
pub(crate) fn map_file(file: &File, path: &Path) -> Result<Mapping> {
    let len = file
        .metadata()
        .context(IoSnafu { op: Op::Map, path })?
        .len();
    if len == 0 {
        // Mapping zero bytes is an error on most platforms; there is nothing to share.
        return Ok(Mapping::new(Vec::new()));
    }
    #[expect(
        unsafe_code,
        reason = "memmap2 cannot prove that the file stays unchanged"
    )]
    // SAFETY: the mapped file is immutable for as long as any `Mapping` of it lives:
    // only tables are mapped, tables are never written after they are synced and
    // published, and they are deleted (unlinked, which keeps the pages valid) only when
    // no version references them. The engine's directory lock keeps other quickcache
    // processes from modifying the directory. Outside modification of the file is the
    // documented SIGBUS hazard above.
    let map = unsafe { memmap2::Mmap::map(file) }.context(IoSnafu { op: Op::Map, path })?;
    Ok(Mapping::new(map))
}
