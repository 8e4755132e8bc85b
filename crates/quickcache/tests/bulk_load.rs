#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail by panicking")]
//! `BulkLoader`'s fast paths: input that arrives in order (not sorted again), loads
//! large enough to be built in several key ranges at once, in memory and from
//! spilled runs, and a loader dropped while its spill thread works.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use quickcache::{Db, Options};
use quickcache_stress::watchdog::Watchdog;

const LIMIT: Duration = Duration::from_secs(120);

/// Enough entries that the final tables are built in several parts (each part
/// takes at least 64 Ki entries) on a machine with more than one core.
const MANY: u64 = 150_000;

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

fn open(path: &Path) -> Db {
    let options = Options {
        table_size: 256 << 10,
        ..Options::default()
    };
    Db::open_with(path, options).unwrap()
}

fn contents(db: &Db) -> Model {
    (db.iter().map(|kv| kv.unwrap()))
        .map(|(k, v)| (k.to_vec(), v.to_vec()))
        .collect()
}

/// Loads `entries` with a budget of `budget` bytes and checks the database against
/// the model (last put of a key wins), before and after a reopen.
fn load_and_check(budget: usize, entries: impl Iterator<Item = (Vec<u8>, Vec<u8>)>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let db = open(&path);
    let mut model = Model::new();
    let mut loader = db.bulk_loader().unwrap().memory_budget(budget);
    for (k, v) in entries {
        loader.put(&k, &v).unwrap();
        model.insert(k, v);
    }
    let report = loader.finish().unwrap();
    assert!(report.levels.len() > 1, "several tables: {report:?}");
    assert_eq!(contents(&db), model);
    db.close().unwrap();
    let db = open(&path);
    assert_eq!(contents(&db), model, "after a reopen");
    let scratch = std::fs::read_dir(path.join(quickcache::BULK_DIR));
    assert!(
        scratch.is_ok_and(|mut files| files.next().is_none()),
        "no scratch file left"
    );
}

fn key(n: u64) -> Vec<u8> {
    format!("key{n:012}").into_bytes()
}

/// Pseudo-random numbers below `below` (xorshift), reproducible.
fn scrambled(count: u64, below: u64) -> impl Iterator<Item = u64> {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    (0..count).map(move |_| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % below
    })
}

#[test]
fn ascending_input_loads_in_memory_without_a_sort() {
    let dog = Watchdog::start("ascending bulk load in memory", LIMIT);
    load_and_check(
        256 << 20,
        (0..MANY).map(|n| (key(n), n.to_le_bytes().to_vec())),
    );
    dog.finish();
}

#[test]
fn ascending_input_that_repeats_its_last_key_keeps_the_last_value() {
    let dog = Watchdog::start("ascending bulk load with a repeat", LIMIT);
    let entries = (0..MANY).map(|n| (key(n), b"first".to_vec()));
    let repeat = [
        (key(MANY - 1), b"second".to_vec()),
        (key(7), b"third".to_vec()),
    ];
    load_and_check(256 << 20, entries.chain(repeat));
    dog.finish();
}

#[test]
fn ascending_input_spilled_in_runs_loads_every_entry() {
    let dog = Watchdog::start("ascending bulk load with spills", LIMIT);
    load_and_check(
        1 << 20,
        (0..MANY).map(|n| (key(n), n.to_be_bytes().to_vec())),
    );
    dog.finish();
}

#[test]
fn scrambled_input_with_duplicates_across_runs_keeps_the_latest_put() {
    let dog = Watchdog::start("scrambled bulk load with spills", LIMIT);
    let entries = scrambled(2 * MANY, MANY + MANY / 2).enumerate();
    let entries = entries.map(|(i, n)| (key(n), format!("v{i}").into_bytes()));
    load_and_check(2 << 20, entries);
    dog.finish();
}

#[test]
fn scrambled_input_in_memory_with_long_keys_keeps_the_latest_put() {
    let dog = Watchdog::start("scrambled bulk load in memory", LIMIT);
    // Keys longer than the 16 bytes the sort compares inline, sharing those 16.
    let long = |n: u64| format!("a-shared-prefix-{n:08}").into_bytes();
    let entries = scrambled(MANY, MANY / 2).enumerate();
    let entries = entries.map(|(i, n)| (long(n), format!("v{i}").into_bytes()));
    load_and_check(256 << 20, entries);
    dog.finish();
}

#[test]
fn a_loader_dropped_after_spilling_loads_nothing_and_the_next_one_works() {
    let dog = Watchdog::start("dropped bulk loader", LIMIT);
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir.path().join("db"));
    let mut loader = db.bulk_loader().unwrap().memory_budget(64 << 10);
    for n in scrambled(20_000, 1_000_000) {
        loader.put(key(n), b"dropped").unwrap();
    }
    drop(loader);
    assert_eq!(db.iter().count(), 0);
    let mut loader = db.bulk_loader().unwrap();
    loader.put("a", "1").unwrap();
    loader.finish().unwrap();
    assert_eq!(contents(&db), Model::from([(b"a".to_vec(), b"1".to_vec())]));
    dog.finish();
}
