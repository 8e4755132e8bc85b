//! Drives the whole engine on the simulated file system from fuzzer bytes against a
//! `BTreeMap` model, with clean reopens and power losses: see
//! `quickcache_stress::fuzzing::engine`. Seeds: `corpus/engine/`, replayed by
//! `cargo test -p quickcache --test fuzz_corpus_engine`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(bug) = quickcache_stress::fuzzing::engine(data) {
        panic!("{bug}");
    }
});
