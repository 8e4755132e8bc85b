//! Fuzzes the sstable block decoder: see `quickcache_sstable::fuzzing::block` for the
//! property checked. Seeds: `corpus/block/`, replayed by `cargo test -p quickcache-sstable`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(bug) = quickcache_sstable::fuzzing::block(data) {
        panic!("{bug}");
    }
});
