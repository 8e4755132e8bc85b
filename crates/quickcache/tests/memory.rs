//! Memory stays bounded at any write rate: writers that never pause hold the heap
//! within the memtable budget plus the table readers plus a small constant, because
//! the write stall stops them while frozen memtables wait for their flush.

#![allow(clippy::unwrap_used, reason = "test helpers fail the test loudly")]

mod heap;

use std::sync::Arc;
use std::thread;

use quickcache::{Db, Options};

#[global_allocator]
static GLOBAL: heap::Counting = heap::Counting;

const MIB: usize = 1 << 20;
/// What the engine may hold besides memtables and table readers: WAL and table
/// builder buffers, the compaction's merge state, thread bookkeeping.
const CONSTANT: usize = 4 * MIB;

fn key(i: u64) -> [u8; 16] {
    (i.wrapping_mul(0x9e37_79b9_7f4a_7c15) as u128).to_be_bytes()
}

#[test]
fn heap_stays_within_the_memtable_budget_while_writers_never_pause() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        memtable_size: MIB,
        max_frozen_memtables: 2,
        table_size: MIB as u64,
        base_level_size: 4 * MIB as u64,
        ..Options::default()
    };
    let budget = options.memtable_size * (1 + options.max_frozen_memtables);
    let before = heap::live();
    let db = Arc::new(Db::open_with(dir.path(), options).unwrap());
    heap::reset_peak();
    let writers: Vec<_> = (0..2u64)
        .map(|t| {
            let db = Arc::clone(&db);
            thread::spawn(move || {
                for i in 0..150_000u64 {
                    db.put(key(i * 2 + t), [0x5a; 100]).unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let peak = heap::peak().saturating_sub(before);
    let stats = db.stats();
    let readers = stats.table_reader_bytes as usize;
    let written = stats.user_bytes as usize;
    Arc::try_unwrap(db).unwrap().close().unwrap();
    eprintln!(
        "peak heap {:.1} MiB: budget {:.1} MiB, readers {:.2} MiB, {:.0} MiB written",
        peak as f64 / MIB as f64,
        budget as f64 / MIB as f64,
        readers as f64 / MIB as f64,
        written as f64 / MIB as f64
    );
    assert!(
        written > 10 * budget,
        "the writers must outrun the budget many times over ({written} bytes)"
    );
    assert!(
        peak <= budget + readers + CONSTANT,
        "peak heap {peak} bytes > budget {budget} + readers {readers} + {CONSTANT}"
    );
}
