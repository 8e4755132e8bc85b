//! Fuzzes the sstable filter decoder: see `quickcache_sstable::fuzzing::filter` for the
//! property checked. Seeds: `corpus/filter/`, replayed by `cargo test -p quickcache-sstable`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(bug) = quickcache_sstable::fuzzing::filter(data) {
        panic!("{bug}");
    }
});
