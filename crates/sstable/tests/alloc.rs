//! Adding an entry to a `TableBuilder` does not allocate in the steady state: buffers
//! are reused across blocks; only the filter's key hashes and the index grow, by
//! doubling, so a long run of adds allocates a handful of times at most.

#![allow(clippy::unwrap_used, reason = "test helpers fail the test loudly")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use quickcache_fs::{FileSystem, SimFs};
use quickcache_sstable::{TableBuilder, TableOptions};

/// The system allocator, counting allocations made by the thread that asked.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static COUNTING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

#[expect(
    unsafe_code,
    reason = "a global allocator can only be written with unsafe"
)]
// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so
// `System`'s guarantees hold; the counter has no effect on the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(std::cell::Cell::get) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout` (see `alloc`).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.with(std::cell::Cell::get) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: forwarded unchanged; `ptr` and `layout` come from `System`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn key(i: u64) -> [u8; 16] {
    let mut k = *b"key0000000000000";
    let digits = format!("{i:013}");
    k[3..].copy_from_slice(digits.as_bytes());
    k
}

#[test]
fn adds_do_not_allocate_in_the_steady_state() {
    let fs = SimFs::new(1);
    fs.create_dir_all(Path::new("/a")).unwrap();
    let mut b = TableBuilder::new(&fs, Path::new("/a/t.sst"), TableOptions::default()).unwrap();
    let keys: Vec<[u8; 16]> = (0..200_000).map(key).collect();
    let value = [7u8; 100];
    for k in &keys[..100_000] {
        b.add_plain(k, &value).unwrap();
    }
    COUNTING.with(|c| c.set(true));
    for k in &keys[100_000..] {
        b.add_plain(k, &value).unwrap();
    }
    COUNTING.with(|c| c.set(false));
    let allocations = ALLOCATIONS.load(Ordering::Relaxed);
    eprintln!("{allocations} allocations during 100000 adds");
    // 100,000 adds: the hash and index vectors may double once or twice, and appends
    // to the simulated file grow its buffer; nothing per entry.
    assert!(
        allocations < 100,
        "{allocations} allocations for 100000 adds"
    );
    b.finish().unwrap();
}
