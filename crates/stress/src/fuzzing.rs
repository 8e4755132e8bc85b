//! Entry point of the `engine` fuzz target in `fuzz/`, also replayed over the committed
//! corpus by `cargo test` (`crates/quickcache/tests/fuzz_corpus_engine.rs`), so both
//! run the same code. Not part of the stable API.
//!
//! [`engine`] reads the input as a program of operations on a database on the
//! simulated file system with three keyspaces (the default one, `a` and `b`), run
//! against one `BTreeMap` model per keyspace: puts, deletes, range deletes, batches
//! (across keyspaces), puts with a time to live (expired at once, reading as deletes,
//! or long enough to outlast the run), synced writes, reads, scans, flushes,
//! compactions, drops and
//! re-creations of keyspace `b`, clean reopens (nothing may be lost) and power losses
//! (the state must be that after some prefix of the writes, holding every synced one,
//! with every batch whole in every keyspace), transactions (see `fuzzing/txn.rs`),
//! checkpoints and ingests (see `fuzzing/copies.rs`).

use std::sync::Arc;

use quickcache::fs::SimFs;
use quickcache::{Db, Durability, Keyspace, WriteBatch, WriteOptions};

use crate::check::{Violation, describe_difference, read_consistently, show};
use crate::power::{DIR, small_options};
use crate::workload::{Edit, Model, Op};

mod copies;
mod txn;

/// Operations read from one input at most (keeps each run short).
const MAX_OPS: usize = 300;
/// The named keyspaces; index 0 of a state is the default keyspace, then these.
const NAMES: [&str; 2] = ["a", "b"];

fn key(b: u8) -> Vec<u8> {
    format!("k{:02}", b % 24).into_bytes()
}

/// The keyspace a key byte writes to: the bits `key` leaves unused.
fn keyspace(b: u8) -> usize {
    usize::from(b / 24) % 3
}

/// The state of every keyspace: the default one first.
type State = [Model; 3];

/// Decodes the operation at the start of `data`, returning it and the bytes used.
fn next_op(data: &[u8]) -> Option<(Step, usize)> {
    let (&code, rest) = data.split_first()?;
    let arg = |i: usize| rest.get(i).copied().unwrap_or(0);
    let put = |i: usize, tag: u64| {
        let edit = Edit::Put {
            key: key(arg(i)),
            tag,
            len: usize::from(arg(i + 1)) * 4 + 1,
        };
        (keyspace(arg(i)), edit)
    };
    let delete = |i: usize| (keyspace(arg(i)), Edit::Delete { key: key(arg(i)) });
    // `key(arg(i))` up to `1 + arg(i + 1) % 6` keys further, in the same keyspace.
    let delete_range = |i: usize| {
        let start = key(arg(i));
        let end = format!("k{:02}", arg(i) % 24 + 1 + arg(i + 1) % 6).into_bytes();
        (keyspace(arg(i)), Edit::DeleteRange { start, end })
    };
    // A put with a time to live, expired at once when the length byte is odd.
    let put_ttl = |i: usize| {
        let edit = Edit::PutTtl {
            key: key(arg(i)),
            tag: 0,
            len: usize::from(arg(i + 1)) * 4 + 1,
            expired: arg(i + 1) % 2 == 1,
        };
        (keyspace(arg(i)), edit)
    };
    let write = |edits, durability| Step::Write { edits, durability };
    let step = match code % 17 {
        0..=4 => write(vec![put(0, 0)], Durability::Os),
        5 => write(vec![delete(0)], Durability::Os),
        6 => write(vec![put(2, 0), delete_range(0)], Durability::Os),
        // Code 7 was only a batch; half of it now puts with a time to live.
        7 if (code / 17) % 2 == 1 => write(vec![put_ttl(0), put(2, 0), put_ttl(3)], Durability::Os),
        7 => write(vec![put(0, 0), delete(2), put(3, 1)], Durability::Os),
        8 => write(vec![put(0, 0)], Durability::Synced),
        9 => Step::Maintenance(Op::Flush),
        10 => Step::Maintenance(Op::Compact),
        11 => Step::Maintenance(Op::Sync),
        // Code 12 was only Check; a third of it takes a checkpoint, a third ingests.
        12 => match (code / 17) % 3 {
            0 => Step::Check,
            1 => Step::Checkpoint,
            _ => Step::Ingest {
                first: arg(0),
                count: arg(1),
                len: usize::from(arg(2)) * 4 + 1,
            },
        },
        13 if (code / 17) % 3 == 2 => Step::Repair,
        13 => Step::Reopen,
        14 => Step::PowerLoss,
        15 => write(vec![put(0, 0)], Durability::Buffered),
        // Code 16 was only DropB; two thirds of it now run transactions.
        _ => match (code / 17) % 3 {
            0 => Step::DropB,
            1 => Step::Txn {
                read: arg(0),
                also: arg(2),
                len: usize::from(arg(1)) * 4 + 1,
            },
            _ => Step::TxnRace {
                read: arg(0),
                written: arg(2),
            },
        },
    };
    Some((step, 1 + 4))
}

/// One step of a fuzz program.
#[derive(Debug)]
enum Step {
    /// An atomic batch: each entry with the index of its keyspace.
    Write {
        edits: Vec<(usize, Edit)>,
        durability: Durability,
    },
    Maintenance(Op),
    Check,
    Reopen,
    /// Close, `repair`, which must lose nothing, and open: the same contents.
    Repair,
    PowerLoss,
    /// Drops keyspace `b` and creates it again, empty.
    DropB,
    /// A transaction alone: reads key `read` and scans its keyspace, checking both
    /// against the model, flips the key (deleted if present, else put) and puts key
    /// `also` (of its own keyspace), then commits, which must succeed.
    Txn {
        read: u8,
        also: u8,
        len: usize,
    },
    /// `Db::checkpoint`, opened and compared with the model (`fuzzing/copies.rs`).
    Checkpoint,
    /// An ingest of a table of up to three keys from key byte `first`.
    Ingest {
        first: u8,
        count: u8,
        len: usize,
    },
    /// A transaction reads key `read`, a plain write puts key `written`, the
    /// transaction writes `read`: the commit must conflict exactly when the two are
    /// the same key of the same keyspace.
    TxnRace {
        read: u8,
        written: u8,
    },
}

/// The program's state: the disk, the open database, the models and the oracle.
struct Run {
    fs: SimFs,
    db: Option<(Db, Vec<Keyspace>)>,
    /// The state after every write since the last durable point, oldest first;
    /// `states[0]` is durable.
    states: Vec<State>,
    tags: u64,
    /// Checkpoints and ingests so far: names their files.
    copies: u64,
}

impl Run {
    fn open(&mut self) -> Result<(), Violation> {
        let fs = Arc::new(self.fs.clone());
        let db = Db::open_with(DIR, small_options(&fs)).map_err(|e| format!("open: {e}"))?;
        let keyspaces = NAMES
            .iter()
            .map(|n| db.keyspace(n).map_err(|e| format!("keyspace {n}: {e}")))
            .collect::<Result<_, _>>()?;
        self.db = Some((db, keyspaces));
        Ok(())
    }

    fn db(&self) -> Result<&(Db, Vec<Keyspace>), Violation> {
        self.db
            .as_ref()
            .ok_or_else(|| "no open database".to_string())
    }

    fn state(&self) -> &State {
        // `states` is never empty.
        &self.states[self.states.len() - 1]
    }

    fn write(
        &mut self,
        edits: Vec<(usize, Edit)>,
        durability: Durability,
    ) -> Result<(), Violation> {
        let mut state = self.state().clone();
        let mut batch = WriteBatch::new();
        let mut tags = self.tags;
        let (db, keyspaces) = self.db()?;
        for (ks, mut edit) in edits {
            if let Edit::Put { tag, .. } | Edit::PutTtl { tag, .. } = &mut edit {
                tags += 1;
                *tag = tags;
            }
            let named = ks.checked_sub(1).and_then(|i| keyspaces.get(i));
            edit.add_to(&mut batch, named);
            edit.apply_to(&mut state[ks]);
        }
        let options = WriteOptions {
            durability: Some(durability),
            ..WriteOptions::default()
        };
        db.write_with(batch, &options)
            .map_err(|e| format!("write: {e}"))?;
        self.tags = tags;
        if durability == Durability::Synced {
            self.states = vec![state];
        } else {
            self.states.push(state);
        }
        Ok(())
    }

    fn step(&mut self, step: Step) -> Result<(), Violation> {
        match step {
            Step::Write { edits, durability } => self.write(edits, durability)?,
            Step::Maintenance(op) => {
                op.run(&self.db()?.0).map_err(|e| format!("{op:?}: {e}"))?;
                if op.makes_durable() {
                    self.states = vec![self.state().clone()];
                }
            }
            Step::Check => expect_state(self.db()?, self.state())?,
            Step::Reopen => {
                if let Some((db, _)) = self.db.take() {
                    db.close().map_err(|e| format!("close: {e}"))?;
                }
                self.open()?;
                let state = self.state().clone();
                expect_state(self.db()?, &state).map_err(|e| format!("after reopen: {e}"))?;
                self.states = vec![state];
            }
            Step::Repair => self.repair()?,
            Step::PowerLoss => {
                let after = self.fs.crash();
                drop(self.db.take());
                self.fs = after;
                self.open()?;
                let got = read_state(self.db()?)?;
                let Some(at) = self.states.iter().position(|s| *s == got) else {
                    let want = &self.states[0];
                    let i = (0..3).find(|&i| want[i] != got[i]).unwrap_or(0);
                    return Err(format!(
                        "after a power loss the state is no prefix holding the synced writes, nor whole batches (keyspace {i}): {}",
                        describe_difference(&want[i], &got[i])
                    ));
                };
                self.states = vec![self.states[at].clone()];
            }
            Step::Checkpoint => {
                self.copies += 1;
                self.checkpoint(self.copies)?;
            }
            Step::Ingest { first, count, len } => {
                self.copies += 1;
                self.ingest(self.copies, first, count, len)?;
            }
            Step::DropB => self.drop_b()?,
            Step::Txn { read, also, len } => self.txn(read, also, len)?,
            Step::TxnRace { read, written } => self.txn_race(read, written)?,
        }
        Ok(())
    }

    /// Drops `b` and creates it again. Both are durable when they return (synced
    /// manifest edits), so `b` is empty in every state a power loss may leave from
    /// here on, whatever became of the unsynced writes of the other keyspaces.
    /// Closes the database, repairs it and opens it: a repair of an intact database
    /// loses nothing and changes no contents.
    fn repair(&mut self) -> Result<(), Violation> {
        if let Some((db, _)) = self.db.take() {
            db.close().map_err(|e| format!("close: {e}"))?;
        }
        let fs = Arc::new(self.fs.clone());
        let report =
            quickcache::repair_with(DIR, small_options(&fs)).map_err(|e| format!("repair: {e}"))?;
        if !report.lost_nothing() {
            return Err(format!("a repair of an intact database reported: {report}"));
        }
        self.open()?;
        let state = self.state().clone();
        expect_state(self.db()?, &state).map_err(|e| format!("after a repair ({report}): {e}"))?;
        self.states = vec![state];
        Ok(())
    }

    fn drop_b(&mut self) -> Result<(), Violation> {
        let (db, keyspaces) = self
            .db
            .as_mut()
            .ok_or_else(|| "no open database".to_string())?;
        db.drop_keyspace(NAMES[1])
            .map_err(|e| format!("drop b: {e}"))?;
        let fresh = db
            .keyspace(NAMES[1])
            .map_err(|e| format!("re-create b: {e}"))?;
        keyspaces[1] = fresh;
        for state in &mut self.states {
            state[2].clear();
        }
        Ok(())
    }
}

/// Every keyspace read three ways (forward, backward, `get`), which must agree.
fn read_state((db, keyspaces): &(Db, Vec<Keyspace>)) -> Result<State, Violation> {
    let default = read_consistently(db, &[])?;
    let a = read_keyspace(&keyspaces[0])?;
    let b = read_keyspace(&keyspaces[1])?;
    Ok([default, a, b])
}

/// A scan's pairs, in the order the iterator yields them.
type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

fn collect_scan(
    name: &str,
    iter: impl Iterator<Item = quickcache::Result<(Vec<u8>, quickcache::Value)>>,
) -> Result<Pairs, Violation> {
    iter.map(|kv| {
        kv.map(|(k, v)| (k, v.to_vec()))
            .map_err(|e| format!("scan of {name}: {e}"))
    })
    .collect()
}

fn read_keyspace(ks: &Keyspace) -> Result<Model, Violation> {
    let name = ks.name();
    let forward = collect_scan(name, ks.iter())?;
    let mut backward = collect_scan(name, ks.iter().rev())?;
    backward.reverse();
    if backward != forward {
        return Err(format!("keyspace {name}: the reverse scan differs"));
    }
    let model: Model = forward.into_iter().collect();
    for (k, v) in &model {
        let got = ks.get(k).map_err(|e| format!("get in {name}: {e}"))?;
        if got.as_deref() != Some(v.as_slice()) {
            return Err(format!(
                "keyspace {name}: get {} disagrees with the scan",
                show(k)
            ));
        }
    }
    Ok(model)
}

fn expect_state(db: &(Db, Vec<Keyspace>), want: &State) -> Result<(), Violation> {
    let got = read_state(db)?;
    for i in 0..3 {
        if got[i] != want[i] {
            return Err(format!(
                "keyspace {i}: {}",
                describe_difference(&want[i], &got[i])
            ));
        }
    }
    Ok(())
}

/// Runs the program `data` encodes; `Err` is a broken guarantee (a bug).
pub fn engine(data: &[u8]) -> Result<(), Violation> {
    let mut run = Run {
        fs: SimFs::new(u64::from(data.first().copied().unwrap_or(0))),
        db: None,
        states: vec![State::default()],
        tags: 0,
        copies: 0,
    };
    run.open()?;
    let mut at = 0;
    for _ in 0..MAX_OPS {
        let Some((step, used)) = data.get(at..).and_then(next_op) else {
            break;
        };
        at += used;
        run.step(step)?;
    }
    run.step(Step::Check)?;
    run.step(Step::Reopen)
}
