//! Fuzzes the manifest: arbitrary bytes as a `VersionEdit` encoding (never a panic; a
//! decoded edit round-trips) and as a manifest file recovered by `VersionSet` (never a
//! panic). See `quickcache_compaction::fuzzing::manifest`. Seeds: `corpus/manifest/`,
//! replayed by `cargo test -p quickcache-compaction --test fuzz_corpus`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(bug) = quickcache_compaction::fuzzing::manifest(data) {
        panic!("{bug}");
    }
});
