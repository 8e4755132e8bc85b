//! Fuzzes the sstable footer decoder: see `quickcache_sstable::fuzzing::footer` for the
//! property checked. Seeds: `corpus/footer/`, replayed by `cargo test -p quickcache-sstable`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(bug) = quickcache_sstable::fuzzing::footer(data) {
        panic!("{bug}");
    }
});
