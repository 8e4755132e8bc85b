//! Fuzzes the sstable properties decoder: see `quickcache_sstable::fuzzing::properties` for the
//! property checked. Seeds: `corpus/properties/`, replayed by `cargo test -p quickcache-sstable`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(bug) = quickcache_sstable::fuzzing::properties(data) {
        panic!("{bug}");
    }
});
