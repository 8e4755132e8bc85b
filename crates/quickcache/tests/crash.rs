#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail by panicking")]
//! Power loss at sampled points of a workload, on the simulated file system: after
//! recovery every synced write is there and the state is that of some prefix of the
//! issued writes (no holes, nothing invented).

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;

use quickcache::fs::SimFs;
use quickcache::{Db, Durability, Options, WriteBatch, WriteOptions};

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

fn options(fs: &Arc<SimFs>) -> Options {
    Options {
        memtable_size: 8 << 10,
        l0_compaction_trigger: 2,
        table_size: 8 << 10,
        base_level_size: 32 << 10,
        flush_interval: None,
        fs: fs.clone(),
        ..Options::default()
    }
}

fn state(db: &Db) -> Model {
    db.iter()
        .map(|kv| {
            let (k, v) = kv.unwrap();
            (k, v.to_vec())
        })
        .collect()
}

/// Runs `crash_at` operations, takes the disk a power loss would leave, recovers it
/// and checks it against the prefixes.
fn crash_once(seed: u64, crash_at: usize) {
    let fs = Arc::new(SimFs::new(seed));
    let db = Db::open_with("/db", options(&fs)).unwrap();
    let mut rng = quickcache::fs::Rng::new(seed);
    let mut prefixes: Vec<Model> = vec![Model::new()];
    let mut durable = 0; // prefixes[durable] must be reached after recovery
    for i in 0..crash_at {
        let mut model = prefixes.last().cloned().unwrap();
        let mut batch = WriteBatch::new();
        for _ in 0..1 + rng.next_u64() % 3 {
            let key = format!("k{:02}", rng.next_u64() % 50).into_bytes();
            if rng.next_u64().is_multiple_of(5) {
                batch.delete(&key);
                model.remove(&key);
            } else {
                let value = vec![(i % 251) as u8; 20 + (rng.next_u64() % 300) as usize];
                batch.put(&key, &value);
                model.insert(key, value);
            }
        }
        let synced = rng.next_u64().is_multiple_of(4);
        let durability = if synced {
            Durability::Synced
        } else {
            Durability::Os
        };
        db.write_with(
            batch,
            &WriteOptions {
                durability: Some(durability),
                ..WriteOptions::default()
            },
        )
        .unwrap();
        prefixes.push(model);
        if synced {
            durable = prefixes.len() - 1;
        }
        if rng.next_u64().is_multiple_of(40) {
            db.flush().unwrap();
        }
    }
    let after = Arc::new(fs.crash());
    drop(db);
    let db = Db::open_with("/db", options(&after)).unwrap();
    let recovered = state(&db);
    let matched = prefixes.iter().rposition(|p| *p == recovered);
    match matched {
        Some(n) => assert!(
            n >= durable,
            "seed {seed} crash at {crash_at}: recovered prefix {n} but {durable} ops were synced"
        ),
        None => {
            panic!("seed {seed} crash at {crash_at}: recovered state is no prefix of the writes")
        }
    }
    // The recovered database works and survives another reopen.
    db.put("after", "crash").unwrap();
    db.close().unwrap();
    let db = Db::open_with("/db", options(&after)).unwrap();
    assert_eq!(db.get("after").unwrap().unwrap(), b"crash");
}

#[test]
fn power_loss_at_sampled_points_keeps_a_prefix_with_every_synced_write() {
    let _dog =
        support::watchdog("power_loss_at_sampled_points_keeps_a_prefix_with_every_synced_write");
    for seed in 1..=6 {
        for crash_at in [0, 3, 40, 150, 400] {
            crash_once(seed, crash_at);
        }
    }
}

#[test]
#[ignore = "long: many crash points"]
fn power_loss_at_many_points() {
    for seed in 1..=40 {
        for crash_at in (0..1200).step_by(37) {
            crash_once(seed, crash_at);
        }
    }
}

#[test]
fn dropping_without_close_loses_nothing_written_with_os_durability() {
    let _dog = support::watchdog("dropping_without_close_loses_nothing_written_with_os_durability");
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open_with(
        dir.path(),
        Options {
            memtable_size: 16 << 10,
            ..Options::default()
        },
    )
    .unwrap();
    for i in 0..3000u32 {
        db.put(i.to_be_bytes(), i.to_le_bytes()).unwrap();
    }
    drop(db);
    let db = Db::open(dir.path()).unwrap();
    assert_eq!(db.iter().count(), 3000);
    assert_eq!(
        db.get(2999u32.to_be_bytes()).unwrap().unwrap(),
        2999u32.to_le_bytes()
    );
}
