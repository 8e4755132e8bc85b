//! What the all-features run reads from one view of a database (a snapshot of the
//! live one, or of a checkpoint opened on its own), and the invariants it checks.

use quickcache::{Db, Keyspace, Snapshot, Value, WriteBatch};

use super::COUNTERS;
use crate::check::Violation;

/// Accounts in keyspace `bank`, each opened with [`OPENING_BALANCE`].
pub(super) const ACCOUNTS: u64 = 16;
const OPENING_BALANCE: u64 = 100;

/// Keys `g/00..g/<GEN_KEYS>` of keyspace `gen`, all inside [`GEN_RANGE`].
pub(super) const GEN_KEYS: u64 = 24;
pub(super) const GEN_RANGE: (&[u8], &[u8]) = (b"g/", b"g0");

pub(super) fn account(i: u64) -> String {
    format!("acct/{i:02}")
}

pub(super) fn gen_key(i: u64) -> String {
    format!("g/{i:02}")
}

pub(super) fn counter_key(t: usize) -> String {
    format!("c/{t}")
}

/// An account's balance (0 for a missing or unparsable one: the total then breaks).
pub(super) fn balance(v: Option<Value>) -> u64 {
    v.and_then(|v| String::from_utf8_lossy(&v).parse().ok())
        .unwrap_or(0)
}

/// The keyspaces the run writes besides the default one.
pub(super) struct Handles {
    pub(super) bank: Keyspace,
    pub(super) generations: Keyspace,
    pub(super) a: Keyspace,
}

impl Handles {
    /// Creates (or opens) the keyspaces.
    pub(super) fn create(db: &Db) -> Result<Handles, Violation> {
        let ks = |name| {
            db.keyspace(name)
                .map_err(|e| format!("keyspace {name}: {e}"))
        };
        Ok(Handles {
            bank: ks("bank")?,
            generations: ks("gen")?,
            a: ks("a")?,
        })
    }

    /// The keyspaces of a checkpoint, which must already hold them all.
    pub(super) fn find(db: &Db) -> Result<Handles, Violation> {
        let ks = |name| {
            db.find_keyspace(name)
                .ok_or_else(|| format!("keyspace {name} is missing"))
        };
        Ok(Handles {
            bank: ks("bank")?,
            generations: ks("gen")?,
            a: ks("a")?,
        })
    }
}

/// Opens every account in one synced batch, before any thread starts.
pub(super) fn open_accounts(db: &Db, ks: &Handles) -> Result<(), Violation> {
    let mut batch = WriteBatch::new();
    for i in 0..ACCOUNTS {
        batch.put_in(&ks.bank, account(i), OPENING_BALANCE.to_string());
    }
    db.write_with(batch, &quickcache::WriteOptions::synced())
        .map_err(|e| format!("opening the accounts: {e}"))
}

/// What one view holds, once its invariants are checked.
#[derive(Debug)]
pub(super) struct View {
    /// Each counter's value.
    pub(super) counters: Vec<u64>,
    /// The generation of keyspace `gen` (0: none written yet).
    pub(super) generation: u64,
}

impl View {
    /// Reads `snapshot` and checks the bank's total, the generation's keys and the two
    /// copies of every counter.
    pub(super) fn read(snapshot: &Snapshot, ks: &Handles) -> Result<View, Violation> {
        let err = |what: &str, e: quickcache::Error| format!("reading {what}: {e}");
        let mut total = 0;
        for i in 0..ACCOUNTS {
            let v = snapshot.get_in(&ks.bank, account(i));
            total += balance(v.map_err(|e| err("an account", e))?);
        }
        if total != ACCOUNTS * OPENING_BALANCE {
            return Err(format!(
                "the bank's total is {total}, not {}",
                ACCOUNTS * OPENING_BALANCE
            ));
        }
        let mut counters = Vec::new();
        for t in 0..COUNTERS {
            let key = counter_key(t);
            let plain = snapshot.get(&key).map_err(|e| err("a counter", e))?;
            let in_a = snapshot
                .get_in(&ks.a, &key)
                .map_err(|e| err("a counter", e))?;
            if plain != in_a {
                return Err(format!(
                    "counter {t}: one batch left {plain:?} in the default keyspace and \
                     {in_a:?} in keyspace a"
                ));
            }
            counters.push(plain.map_or(Ok(0), |v| number(&v))?);
        }
        let generation = Self::generation(snapshot, ks)?;
        Ok(View {
            counters,
            generation,
        })
    }

    /// The generation keyspace `gen` holds: every key of one generation, and its count.
    fn generation(snapshot: &Snapshot, ks: &Handles) -> Result<u64, Violation> {
        let range = GEN_RANGE.0.to_vec()..GEN_RANGE.1.to_vec();
        let mut seen: Option<(u64, u64)> = None;
        let mut keys = 0;
        for kv in snapshot.range_in(&ks.generations, range) {
            let (k, v) = kv.map_err(|e| format!("scanning the generation: {e}"))?;
            let text = String::from_utf8_lossy(&v).into_owned();
            let (g, count) = text
                .split_once(':')
                .and_then(|(g, c)| Some((g.parse().ok()?, c.parse().ok()?)))
                .ok_or_else(|| format!("unparsable generation value {text:?}"))?;
            if seen.is_some_and(|s| s != (g, count)) {
                return Err(format!(
                    "generations mixed: {} holds {text:?} beside {seen:?} (a range delete \
                     let an older key through, or a batch is half there)",
                    String::from_utf8_lossy(&k)
                ));
            }
            seen = Some((g, count));
            keys += 1;
        }
        match seen {
            Some((g, count)) if count != keys => Err(format!(
                "generation {g} wrote {count} keys, the view holds {keys}"
            )),
            Some((g, _)) => Ok(g),
            // No generation written yet (none is ever empty).
            None => Ok(0),
        }
    }

    /// Checks the view holds everything acknowledged before it was taken.
    pub(super) fn holds(&self, before: &(Vec<u64>, u64)) -> Result<(), Violation> {
        let (counted, generation) = before;
        for (t, (got, want)) in self.counters.iter().zip(counted).enumerate() {
            if got < want {
                return Err(format!(
                    "counter {t} reads {got}, but {want} was acknowledged before"
                ));
            }
        }
        if self.generation < *generation {
            return Err(format!(
                "generation {} read, but {generation} was acknowledged before",
                self.generation
            ));
        }
        Ok(())
    }
}

fn number(v: &[u8]) -> Result<u64, Violation> {
    let text = String::from_utf8_lossy(v);
    text.split(':')
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("unparsable counter {text:?}"))
}
