//! Fuzzes the write-batch decoder: see `quickcache_memtable::fuzzing::write_batch` for
//! the properties checked. Seeds: `corpus/write_batch/`, replayed by
//! `cargo test -p quickcache-memtable`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(bug) = quickcache_memtable::fuzzing::write_batch(data) {
        panic!("{bug}");
    }
});
