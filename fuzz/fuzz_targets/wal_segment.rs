//! Fuzzes the WAL reader and recovery with arbitrary bytes as a segment file: see
//! `quickcache_wal::fuzzing::wal_segment` for the properties checked. Seeds:
//! `corpus/wal_segment/`, replayed by `cargo test -p quickcache-wal`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(bug) = quickcache_wal::fuzzing::wal_segment(data) {
        panic!("{bug}");
    }
});
