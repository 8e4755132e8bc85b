#![allow(clippy::unwrap_used, reason = "tests fail by panicking")]
//! Options that make no sense are refused before the directory is touched.

use quickcache::{Db, Options};

fn refused(tweak: impl Fn(&mut Options), what: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let mut options = Options::default();
    tweak(&mut options);
    let err = Db::open_with(&path, options).unwrap_err();
    assert!(
        err.to_string().contains(what),
        "expected an error about {what}, got: {err}"
    );
    assert!(!path.exists(), "{what}: the directory must not be created");
}

#[test]
fn nonsense_options_are_refused_and_nothing_is_created() {
    refused(|o| o.memtable_size = 0, "memtable_size");
    refused(|o| o.memtable_size = usize::MAX, "memtable_size");
    refused(|o| o.wal_segment_size = 0, "wal_segment_size");
    refused(|o| o.l0_compaction_trigger = 0, "l0_compaction_trigger");
    refused(|o| o.l0_slowdown = o.l0_stop + 1, "l0_slowdown");
    refused(
        |o| o.pending_compaction_slowdown_bytes = o.pending_compaction_stop_bytes + 1,
        "pending_compaction_slowdown_bytes",
    );
    refused(|o| o.base_level_size = 0, "base_level_size");
    refused(|o| o.level_multiplier = 1, "level_multiplier");
    refused(|o| o.table_size = 0, "table_size");
    refused(|o| o.block_size = 0, "block_size");
    refused(|o| o.background_threads = 0, "background_threads");
}

#[test]
fn the_defaults_and_tiny_test_sizes_are_accepted() {
    assert!(Options::default().validate().is_ok());
    let tiny = Options {
        memtable_size: 2 << 10,
        wal_segment_size: 8 << 10,
        table_size: 4 << 10,
        block_size: 1,
        base_level_size: 16 << 10,
        l0_compaction_trigger: 2,
        ..Options::default()
    };
    assert!(tiny.validate().is_ok());
}
