//! Fuzzes the range-deletion block decoder: see
//! `quickcache_sstable::fuzzing::range_del_block` for the property checked. Seeds:
//! `corpus/range_del_block/`, replayed by `cargo test -p quickcache-sstable`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(bug) = quickcache_sstable::fuzzing::range_del_block(data) {
        panic!("{bug}");
    }
});
