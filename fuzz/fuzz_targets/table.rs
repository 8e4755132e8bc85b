//! Fuzzes the sstable table decoder: see `quickcache_sstable::fuzzing::table` for the
//! property checked. Seeds: `corpus/table/`, replayed by `cargo test -p quickcache-sstable`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(bug) = quickcache_sstable::fuzzing::table(data) {
        panic!("{bug}");
    }
});
