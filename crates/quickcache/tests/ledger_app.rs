#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail by panicking")]
//! An application crash-tested the way `docs/testing-your-app.md` describes: a small
//! ledger of transfers between accounts, built on quickcache, crashed at every I/O
//! operation on the simulated disk, and checked against its own invariants after
//! each crash: money is neither made nor lost, every acknowledged transfer is there,
//! and the balances are exactly what the transfer log says.

use std::sync::Arc;

use quickcache::fs::{CrashTest, Rng, SimFs};
use quickcache::{Db, Keyspace, Options, WriteBatch, WriteOptions};

const ACCOUNTS: u64 = 4;
const OPENING: u64 = 100;

/// The application: balances in one keyspace, the transfer log in another.
struct Ledger {
    db: Db,
    balances: Keyspace,
    log: Keyspace,
}

impl Ledger {
    fn open(fs: &SimFs) -> quickcache::Result<Ledger> {
        let options = Options {
            fs: Arc::new(fs.clone()),
            memtable_size: 4 << 10, // small: flushes and compactions happen too
            flush_interval: None,
            ..Options::default()
        };
        let db = Db::open_with("/ledger", options)?;
        let balances = db.keyspace("balances")?;
        let log = db.keyspace("log")?;
        Ok(Ledger { db, balances, log })
    }

    fn balance(&self, account: u64) -> quickcache::Result<Option<u64>> {
        let value = self.balances.get(account.to_be_bytes())?;
        Ok(value.map(|v| u64::from_be_bytes(v.as_slice().try_into().unwrap())))
    }

    /// Opens every account with the same balance, in one synced batch.
    fn open_accounts(&self) -> quickcache::Result<()> {
        let mut batch = WriteBatch::new();
        for account in 0..ACCOUNTS {
            batch.put_in(&self.balances, account.to_be_bytes(), OPENING.to_be_bytes());
        }
        self.db.write_with(batch, &WriteOptions::synced())
    }

    /// Moves `amount` (if covered) and logs transfer `id`, atomically and durably.
    fn transfer(&self, id: u64, from: u64, to: u64, amount: u64) -> quickcache::Result<()> {
        // (The harness caught the version without this line making money: a transfer
        // to the same account wrote the credited balance over the debited one.)
        if from == to {
            return Ok(());
        }
        let (Some(a), Some(b)) = (self.balance(from)?, self.balance(to)?) else {
            return Ok(());
        };
        let amount = amount.min(a);
        let mut batch = WriteBatch::new();
        batch.put_in(
            &self.balances,
            from.to_be_bytes(),
            (a - amount).to_be_bytes(),
        );
        batch.put_in(&self.balances, to.to_be_bytes(), (b + amount).to_be_bytes());
        let entry = [from.to_be_bytes(), to.to_be_bytes(), amount.to_be_bytes()].concat();
        batch.put_in(&self.log, id.to_be_bytes(), entry);
        self.db.write_with(batch, &WriteOptions::synced())
    }
}

/// The workload: open the accounts, then transfers drawn from `seed`, stopping at the
/// first error as a crashed process would. Returns how many transfers were
/// acknowledged (after the accounts were).
fn workload(fs: &SimFs, seed: u64) -> Option<u64> {
    let ledger = Ledger::open(fs).ok()?;
    ledger.open_accounts().ok()?;
    let mut rng = Rng::new(seed);
    let mut acknowledged = 0;
    for id in 0..30 {
        let from = rng.below(ACCOUNTS);
        let to = (from + 1 + rng.below(ACCOUNTS - 1)) % ACCOUNTS;
        if ledger.transfer(id, from, to, rng.below(60)).is_err() {
            break;
        }
        acknowledged += 1;
    }
    Some(acknowledged)
}

/// The application's invariants on a crashed disk.
fn check(disk: &SimFs, acknowledged: &Option<u64>) -> Result<(), String> {
    let ledger = Ledger::open(disk).map_err(|e| format!("reopening: {e}"))?;
    let mut balances = Vec::new();
    for account in 0..ACCOUNTS {
        balances.push(ledger.balance(account).map_err(|e| e.to_string())?);
    }
    if balances.iter().all(Option::is_none) {
        // The opening batch never reached the disk: fine unless it was acknowledged.
        return match acknowledged {
            None => Ok(()),
            Some(_) => Err("the acknowledged accounts are gone".into()),
        };
    }
    let balances: Vec<u64> = balances
        .into_iter()
        .map(|b| b.ok_or("some accounts exist and others not: a torn batch"))
        .collect::<Result<_, _>>()?;
    if balances.iter().sum::<u64>() != ACCOUNTS * OPENING {
        return Err(format!("money was made or lost: {balances:?}"));
    }
    // Replaying the log from the opening balances gives the balances.
    let mut replayed = vec![OPENING; ACCOUNTS as usize];
    let mut logged = 0;
    for entry in ledger.log.iter() {
        let (_, v) = entry.map_err(|e| e.to_string())?;
        let field = |i: usize| u64::from_be_bytes(v[i * 8..i * 8 + 8].try_into().unwrap());
        let (from, to, amount) = (field(0) as usize, field(1) as usize, field(2));
        replayed[from] -= amount;
        replayed[to] += amount;
        logged += 1;
    }
    if replayed != balances {
        return Err(format!("balances {balances:?}, the log says {replayed:?}"));
    }
    match acknowledged {
        Some(n) if logged < *n => Err(format!("{n} transfers acknowledged, {logged} logged")),
        _ => Ok(()),
    }
}

#[test]
fn the_ledger_keeps_its_invariants_through_a_power_loss_at_any_io_operation() {
    for seed in 0..4 {
        let report = CrashTest::new(seed)
            .sample(40)
            .run(|fs| workload(fs, seed), check)
            .unwrap_or_else(|failure| panic!("{failure}"));
        assert!(report.states >= 20, "{report:?}");
    }
}
