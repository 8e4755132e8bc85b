#![allow(clippy::unwrap_used, reason = "tests fail by panicking")]
//! `Options::reader_summary_budget` reaches the table readers, and `Stats` reports
//! the summaries' bytes and their limit.

mod support;

use std::sync::Arc;

use quickcache::fs::SimFs;
use quickcache::{Db, Options};

/// Writes 2000 keys, flushes them to tables, reads every one back; the stats then.
fn stats_after_reads(budget: u64) -> quickcache::Stats {
    let options = Options {
        memtable_size: 64 << 10,
        reader_summary_budget: budget,
        fs: Arc::new(SimFs::new(7)),
        ..Options::default()
    };
    let db = Db::open_with("/db", options).unwrap();
    let key = |i: u32| format!("key{i:06}");
    for i in 0..2000 {
        db.put(key(i), format!("value {i:0>80}")).unwrap();
    }
    db.flush().unwrap();
    for i in 0..2000 {
        let value = db.get(key(i)).unwrap().unwrap();
        assert_eq!(value, format!("value {i:0>80}").as_bytes());
        assert_eq!(db.get(format!("{}x", key(i))).unwrap(), None);
    }
    db.stats()
}

#[test]
fn stats_report_summaries_within_the_configured_budget() {
    let _dog = support::watchdog("stats_report_summaries_within_the_configured_budget");
    let full = stats_after_reads(32 << 20);
    assert_eq!(full.table_summary_budget, 32 << 20);
    assert!(full.table_summary_bytes > 0);
    assert!(full.table_summary_bytes < full.table_reader_bytes);
    for budget in [0, full.table_summary_bytes / 2] {
        let stats = stats_after_reads(budget);
        assert_eq!(stats.table_summary_budget, budget);
        assert!(stats.table_summary_bytes <= budget);
        assert!(
            stats.table_reader_bytes < full.table_reader_bytes,
            "budget {budget}: readers {} bytes, {} with every summary",
            stats.table_reader_bytes,
            full.table_reader_bytes
        );
    }
}
