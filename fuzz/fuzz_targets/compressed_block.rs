//! Fuzzes the decompression of compressed data blocks: see
//! `quickcache_sstable::fuzzing::compressed_block` for the properties checked. Seeds:
//! `corpus/compressed_block/`, replayed by `cargo test -p quickcache-sstable`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(bug) = quickcache_sstable::fuzzing::compressed_block(data) {
        panic!("{bug}");
    }
});
