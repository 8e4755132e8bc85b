//! The tree's table readers share one summary budget of the configured size, whether
//! their handles come from a flush (an edit) or from replaying the manifest at open.

#![allow(clippy::unwrap_used, reason = "tests unwrap: a panic is a failed test")]

mod common;

use std::collections::BTreeMap;

use common::*;
use quickcache_compaction::{CompactionOptions, VersionSet};
use quickcache_fs::SimFs;
use quickcache_sstable::SeqNo;

/// Flushes three tables of 200 keys each; returns the newest value per key.
fn fill(set: &VersionSet) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut newest = BTreeMap::new();
    for t in 0..3u64 {
        let mut mem = BTreeMap::new();
        for i in 0..200u64 {
            let (key, value) = (format!("key{:04}", i * 3 + t), format!("v{t}{i:0>60}"));
            put(&mut mem, &key, t * 1000 + i + 1, &value);
            newest.insert(key.into_bytes(), value.into_bytes());
        }
        set.flush(&mut frozen(&mem), t + 1, &[]).unwrap();
    }
    newest
}

/// Looks up every key (and one absent key after each) through the version.
fn check_gets(set: &VersionSet, newest: &BTreeMap<Vec<u8>, Vec<u8>>) {
    let version = set.current();
    for (key, value) in newest {
        let got = version.get(key, SeqNo::MAX).unwrap().unwrap();
        assert_eq!(&*got.value, value.as_slice());
        let absent = [key.as_slice(), b"x"].concat();
        assert!(version.get(&absent, SeqNo::MAX).unwrap().is_none());
    }
}

fn options(budget: u64) -> CompactionOptions {
    CompactionOptions {
        reader_summary_budget: budget,
        // Keep the three tables in L0: compaction is not what this test is about.
        l0_compaction_trigger: 100,
        ..small_options()
    }
}

/// Whether the readers' summaries all come out of the set's budget.
fn readers_draw_on_the_set_budget(set: &VersionSet, limit: u64) {
    let budget = set.summary_budget();
    assert_eq!(budget.limit(), limit);
    assert!(budget.used() <= limit, "{} > {limit}", budget.used());
}

#[test]
fn handles_from_flushes_and_from_the_manifest_share_the_configured_budget() {
    for limit in [0, 16 << 10, 32 << 20] {
        let fs = SimFs::new(3);
        let set = open(&fs, options(limit)).unwrap();
        let newest = fill(&set);
        check_gets(&set, &newest);
        readers_draw_on_the_set_budget(&set, limit);
        let flushed = set.summary_budget().used();
        assert_eq!(
            flushed > 0,
            limit > 0,
            "limit {limit}: {flushed} bytes used"
        );
        drop(set);

        let set = open(&fs, options(limit)).unwrap();
        assert_eq!(set.summary_budget().used(), 0, "a new budget per open");
        check_gets(&set, &newest);
        readers_draw_on_the_set_budget(&set, limit);
        assert_eq!(set.summary_budget().used(), flushed, "limit {limit}");
    }
}
