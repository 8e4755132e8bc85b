//! The one place in quickcache that uses `unsafe`: mapping a file, read-only for
//! tables, writable for the preallocated tail of a file being appended to (WAL segments).
//!
//! # SIGBUS
//! An I/O error on a mapped page, or a file truncated underneath its map, arrives as
//! SIGBUS, not as an error value. The engine therefore maps only tables (files that are
//! complete, synced and never modified again) and the allocated, not yet written part
//! of a file it alone appends to, inside a directory that the engine's lock file keeps
//! other quickcache processes out of. Writable maps cover only blocks reserved with
//! `fallocate`, so a full disk fails the reservation with an error instead of a write
//! fault with SIGBUS. A user who truncates a table or a WAL segment by hand while the
//! database is open will crash the process; no safe API can prevent that.

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
    Ok(Mapping::from_mmap(map))
}

/// Maps the first `len` bytes of `file` (opened read-write from `path`) writable and
/// shared: what is copied into the map is in the page cache at once, as after a
/// `write`. The caller has reserved those bytes' blocks (`fallocate`).
pub(crate) fn map_writable(file: &File, path: &Path, len: usize) -> Result<memmap2::MmapMut> {
    #[expect(
        unsafe_code,
        reason = "memmap2 cannot prove that nothing else changes or truncates the file"
    )]
    // SAFETY: the map is the file's only writer in this process: its owner appends
    // through the map, and past the map only with positional writes that never overlap
    // it, and it truncates the file only after dropping the map. The engine's directory
    // lock keeps other quickcache processes out. Reading the file meanwhile (recovery
    // tools, `log_bytes`) goes through the page cache, which the map shares, so readers
    // see the bytes or zeros, never undefined memory. Outside truncation of the file is
    // the documented SIGBUS hazard above.
    let map = unsafe { memmap2::MmapOptions::new().len(len).map_mut(file) }
        .context(IoSnafu { op: Op::Map, path })?;
    Ok(map)
}

/// Copies `src` into `dst` (of the same length) strictly front to back, 8 bytes at a
/// time, so that a process killed during the copy leaves a prefix of `src` in `dst`,
/// up to the 8 bytes being stored. Appends through a writable map rely on it: a kill -9
/// must leave the file as a `write(2)` would, its last append cut short but nothing
/// missing before bytes that landed. `copy_from_slice` (memcpy) promises no order, and
/// glibc's stores the first 32 bytes of a copy over 256 bytes last: a WAL segment
/// killed mid-copy held zeros before an intact record (kill loop seed 14001), which
/// recovery rightly calls corruption. Volatile stores are emitted in program order, and
/// a kill lands between instructions.
pub(crate) fn copy_in_order(dst: &mut [u8], src: &[u8]) {
    debug_assert_eq!(dst.len(), src.len(), "copy_in_order: lengths differ");
    let mut dst_words = dst.chunks_exact_mut(8);
    let mut src_words = src.chunks_exact(8);
    for (d, s) in (&mut dst_words).zip(&mut src_words) {
        let mut word = [0u8; 8];
        word.copy_from_slice(s);
        let target = d.as_mut_ptr().cast::<[u8; 8]>();
        #[expect(unsafe_code, reason = "a volatile store keeps the stores in order")]
        // SAFETY: `target` points at the 8 bytes of `d`, a live, exclusively borrowed
        // chunk of `dst`; `[u8; 8]` has alignment 1, so any address is aligned for it.
        unsafe {
            target.write_volatile(word);
        }
    }
    for (d, s) in dst_words
        .into_remainder()
        .iter_mut()
        .zip(src_words.remainder())
    {
        #[expect(unsafe_code, reason = "a volatile store keeps the stores in order")]
        // SAFETY: `d` is a live, exclusively borrowed byte of `dst`.
        unsafe {
            std::ptr::write_volatile(d, *s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::copy_in_order;

    #[test]
    fn copy_in_order_copies_every_length_and_alignment() {
        let src: Vec<u8> = (1..=200u8).collect();
        for start in 0..9 {
            for len in 0..(src.len() - start) {
                let mut dst = vec![0u8; 210];
                copy_in_order(&mut dst[start..start + len], &src[..len]);
                assert_eq!(
                    &dst[start..start + len],
                    &src[..len],
                    "start {start} len {len}"
                );
                assert!(dst[..start].iter().all(|&b| b == 0));
                assert!(dst[start + len..].iter().all(|&b| b == 0));
            }
        }
    }
}
