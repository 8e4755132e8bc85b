#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail by panicking")]
//! Bank transfers by concurrent transactions across two keyspaces, on the simulated
//! file system, with power lost at sampled points while they run: after recovery the
//! total is unchanged (each transfer is one WAL record, so all of it or none), every
//! synced commit is there, and the recovered database runs transactions again.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use quickcache::fs::SimFs;
use quickcache::{Db, Keyspace, Options, Transaction, WriteOptions};
use quickcache_stress::rng::Rng;

const ACCOUNTS: u64 = 20;
const START: u64 = 100;
const WORKERS: u64 = 3;

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

fn read_u64(v: Option<quickcache::Value>) -> u64 {
    v.map_or(0, |v| u64::from_le_bytes(v[..8].try_into().unwrap()))
}

/// Even accounts live in the default keyspace, odd ones in `savings`.
fn balance(tx: &mut Transaction, savings: &Keyspace, i: u64) -> quickcache::Result<u64> {
    let key = format!("acct:{i:03}");
    Ok(read_u64(if i.is_multiple_of(2) {
        tx.get(key)?
    } else {
        tx.get_in(savings, key)?
    }))
}

fn set(tx: &mut Transaction, savings: &Keyspace, i: u64, amount: u64) {
    let key = format!("acct:{i:03}");
    if i.is_multiple_of(2) {
        tx.put(key, amount.to_le_bytes());
    } else {
        tx.put_in(savings, key, amount.to_le_bytes());
    }
}

fn total(db: &Db, savings: &Keyspace) -> u64 {
    let snapshot = db.snapshot();
    let sum = |iter: quickcache::Iter| iter.map(|kv| read_u64(Some(kv.unwrap().1))).sum::<u64>();
    sum(snapshot.prefix("acct:")) + sum(snapshot.range_in(savings, "acct:".."acct;"))
}

/// One transfer, retried on conflict. Returns a lower bound of its commit's sequence
/// number (its snapshot's plus one) if it wrote anything.
fn transfer(db: &Db, savings: &Keyspace, rng: &mut Rng, synced: bool) -> quickcache::Result<u64> {
    let (from, to, amount) = (rng.below(ACCOUNTS), rng.below(ACCOUNTS), rng.below(30));
    let options = if synced {
        WriteOptions::synced()
    } else {
        WriteOptions::default()
    };
    let mut attempt = 0;
    loop {
        let mut tx = db.transaction();
        let a = balance(&mut tx, savings, from)?;
        if from == to || a < amount {
            return Ok(0);
        }
        let b = balance(&mut tx, savings, to)?;
        set(&mut tx, savings, from, a - amount);
        set(&mut tx, savings, to, b + amount);
        let seqno = tx.seqno() + 1;
        match tx.commit_with(&options) {
            Err(e) if e.is_conflict() && attempt < 1000 => attempt += 1,
            done => return done.map(|()| seqno),
        }
    }
}

fn crash_once(seed: u64, crash_after: u64) {
    let fs = Arc::new(SimFs::new(seed));
    let db = Arc::new(Db::open_with("/db", options(&fs)).unwrap());
    let savings = db.keyspace("savings").unwrap();
    db.update(|tx| {
        (0..ACCOUNTS).for_each(|i| set(tx, &savings, i, START));
        Ok(())
    })
    .unwrap();
    db.sync().unwrap();
    let (commits, synced, stop) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicBool::new(false)),
    );
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let (db, savings) = (Arc::clone(&db), savings.clone());
            let (commits, synced, stop) =
                (Arc::clone(&commits), Arc::clone(&synced), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut rng = Rng::new(seed * 31 + w);
                while !stop.load(Ordering::Relaxed) {
                    let sync = rng.one_in(4);
                    let seqno = transfer(&db, &savings, &mut rng, sync).unwrap();
                    if sync {
                        synced.fetch_max(seqno, Ordering::SeqCst);
                    }
                    commits.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    while commits.load(Ordering::SeqCst) < crash_after {
        std::thread::yield_now();
    }
    // The highest seqno bound of a synced commit that returned before the crash.
    let durable_before = synced.load(Ordering::SeqCst);
    let after = Arc::new(fs.crash());
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    assert_eq!(total(&db, &savings), ACCOUNTS * START);
    drop(db);

    let db = Db::open_with("/db", options(&after)).unwrap();
    let savings = db.keyspace("savings").unwrap();
    assert_eq!(
        total(&db, &savings),
        ACCOUNTS * START,
        "seed {seed} crash after {crash_after}"
    );
    // Every commit synced before the crash is there: recovery reaches its seqno.
    let recovered = db.recovery_report().last_seqno;
    assert!(
        recovered >= durable_before,
        "seed {seed}: synced commit at {durable_before} lost, recovered to {recovered}"
    );
    let mut rng = Rng::new(seed);
    for _ in 0..20 {
        transfer(&db, &savings, &mut rng, false).unwrap();
    }
    assert_eq!(total(&db, &savings), ACCOUNTS * START);
}

#[test]
fn bank_transfers_keep_the_total_across_power_loss_at_sampled_points() {
    let dog =
        support::watchdog("bank_transfers_keep_the_total_across_power_loss_at_sampled_points");
    let points = support::env_count("QUICKCACHE_TXN_CRASH_POINTS", 5);
    for seed in 1..=4 {
        for crash_after in [0, 7, 40, 150, 400].into_iter().take(points as usize) {
            crash_once(seed, crash_after);
        }
    }
    dog.finish();
}
