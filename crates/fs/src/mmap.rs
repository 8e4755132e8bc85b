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

/// Copies `src` into `dst` (of the same length) strictly front to back, at most 8
/// bytes at a time, so that a process killed during the copy leaves a prefix of `src` in `dst`,
/// up to the 8 bytes being stored. Appends through a writable map rely on it: a kill -9
/// must leave the file as a `write(2)` would, its last append cut short but nothing
/// missing before bytes that landed. `copy_from_slice` (memcpy) promises no order, and
/// glibc's stores the first 32 bytes of a copy over 256 bytes last: a WAL segment
/// killed mid-copy held zeros before an intact record (kill loop seed 14001), which
/// recovery rightly calls corruption. Volatile stores are emitted in program order, and
/// a kill lands between instructions.
///
/// The words are aligned `u64` stores, with at most a 1-, 2- and 4-byte store before
/// them to reach alignment and after them for the rest: the WAL copies every record
/// this way, and an unaligned `[u8; 8]` volatile store goes through the stack, which
/// with a byte loop for the rest cost about 230 instructions per 130-byte put.
pub(crate) fn copy_in_order(dst: &mut [u8], src: &[u8]) {
    debug_assert_eq!(dst.len(), src.len(), "copy_in_order: lengths differ");
    let len = dst.len().min(src.len());
    let (to, from) = (dst.as_mut_ptr(), src.as_ptr());
    let mut at = 0;
    // The bytes before `dst`'s first 8-byte boundary, if the copy reaches past it.
    let head = to.align_offset(8);
    if head >= 8 || len < head + 8 {
        while at < len {
            store::<u8>(to, from, at, len);
            at += 1;
        }
        return;
    }
    if head & 1 != 0 {
        store::<u8>(to, from, at, len);
        at += 1;
    }
    if head & 2 != 0 {
        store::<u16>(to, from, at, len);
        at += 2;
    }
    if head & 4 != 0 {
        store::<u32>(to, from, at, len);
        at += 4;
    }
    // Four words a step: the loop's own instructions would otherwise match the copy's.
    while at + 32 <= len {
        for word in 0..4 {
            store::<u64>(to, from, at + 8 * word, len);
        }
        at += 32;
    }
    while at + 8 <= len {
        store::<u64>(to, from, at, len);
        at += 8;
    }
    let rest = len - at;
    if rest & 4 != 0 {
        store::<u32>(to, from, at, len);
        at += 4;
    }
    if rest & 2 != 0 {
        store::<u16>(to, from, at, len);
        at += 2;
    }
    if rest & 1 != 0 {
        store::<u8>(to, from, at, len);
    }
}

/// Copies the `T` at byte `at` of `from` to the same place of `to` with one volatile
/// store. Callers keep `at + size_of::<T>() <= len`, where `to` and `from` point at
/// `len` bytes (exclusively borrowed, and shared), and `to + at` aligned for `T`.
#[inline(always)]
fn store<T: Copy>(to: *mut u8, from: *const u8, at: usize, len: usize) {
    debug_assert!(at + size_of::<T>() <= len, "store past the end");
    debug_assert!(
        to.wrapping_add(at).cast::<T>().is_aligned(),
        "unaligned store"
    );
    #[expect(unsafe_code, reason = "a volatile store keeps the stores in order")]
    // SAFETY: the caller keeps both `size_of::<T>()`-byte ranges inside the `len`
    // bytes `to` and `from` point at, and `to + at` aligned for `T`; the load is
    // unaligned. `to`'s bytes are exclusively borrowed, so nothing else sees them.
    unsafe {
        let value = from.add(at).cast::<T>().read_unaligned();
        to.add(at).cast::<T>().write_volatile(value);
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
