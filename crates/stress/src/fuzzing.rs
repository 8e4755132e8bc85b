//! Entry point of the `engine` fuzz target in `fuzz/`, also replayed over the committed
//! corpus by `cargo test` (`crates/quickcache/tests/fuzz_corpus_engine.rs`), so both
//! run the same code. Not part of the stable API.
//!
//! [`engine`] reads the input as a program of operations on a database on the
//! simulated file system, run against a `BTreeMap` model: puts, deletes, batches,
//! synced writes, reads, scans, flushes, compactions, clean reopens (nothing may be
//! lost) and power losses (the state must be that after some prefix of the writes,
//! holding every synced one).

use std::sync::Arc;

use quickcache::fs::SimFs;
use quickcache::{Db, Durability};

use crate::check::{Violation, describe_difference, expect_model, read_consistently};
use crate::power::{DIR, small_options};
use crate::workload::{Edit, Model, Op};

/// Operations read from one input at most (keeps each run short).
const MAX_OPS: usize = 300;

fn key(b: u8) -> Vec<u8> {
    format!("k{:02}", b % 24).into_bytes()
}

/// Decodes the operation at the start of `data`, returning it and the bytes used.
fn next_op(data: &[u8]) -> Option<(Step, usize)> {
    let (&code, rest) = data.split_first()?;
    let arg = |i: usize| rest.get(i).copied().unwrap_or(0);
    let put = |i: usize, tag: u64| Edit::Put {
        key: key(arg(i)),
        tag,
        len: usize::from(arg(i + 1)) * 4 + 1,
    };
    let step = match code % 16 {
        0..=4 => Step::Op(Op::Write {
            edits: vec![put(0, 0)],
            durability: Durability::Os,
        }),
        5 | 6 => Step::Op(Op::Write {
            edits: vec![Edit::Delete { key: key(arg(0)) }],
            durability: Durability::Os,
        }),
        7 => Step::Op(Op::Write {
            edits: vec![put(0, 0), Edit::Delete { key: key(arg(2)) }, put(3, 1)],
            durability: Durability::Os,
        }),
        8 => Step::Op(Op::Write {
            edits: vec![put(0, 0)],
            durability: Durability::Synced,
        }),
        9 => Step::Op(Op::Flush),
        10 => Step::Op(Op::Compact),
        11 => Step::Op(Op::Sync),
        12 => Step::Check,
        13 => Step::Reopen,
        14 => Step::PowerLoss,
        _ => Step::Op(Op::Write {
            edits: vec![put(0, 0)],
            durability: Durability::Buffered,
        }),
    };
    Some((step, 1 + 4))
}

/// One step of a fuzz program.
#[derive(Debug)]
enum Step {
    Op(Op),
    Check,
    Reopen,
    PowerLoss,
}

/// The program's state: the disk, the open database, the model and the oracle.
struct Run {
    fs: SimFs,
    db: Option<Db>,
    /// The model after every write since the last durable point, oldest first;
    /// `states[0]` is durable.
    states: Vec<Model>,
    tags: u64,
}

impl Run {
    fn open(&mut self) -> Result<(), Violation> {
        let fs = Arc::new(self.fs.clone());
        let db = Db::open_with(DIR, small_options(&fs)).map_err(|e| format!("open: {e}"))?;
        self.db = Some(db);
        Ok(())
    }

    fn db(&self) -> Result<&Db, Violation> {
        self.db
            .as_ref()
            .ok_or_else(|| "no open database".to_string())
    }

    fn model(&self) -> &Model {
        // `states` is never empty.
        &self.states[self.states.len() - 1]
    }

    fn step(&mut self, step: Step) -> Result<(), Violation> {
        match step {
            Step::Op(mut op) => {
                if let Op::Write { edits, .. } = &mut op {
                    for edit in edits {
                        if let Edit::Put { tag, .. } = edit {
                            self.tags += 1;
                            *tag = self.tags;
                        }
                    }
                }
                op.run(self.db()?).map_err(|e| format!("{op:?}: {e}"))?;
                let mut model = self.model().clone();
                op.apply(&mut model);
                if op.makes_durable() {
                    self.states = vec![model];
                } else if matches!(op, Op::Write { .. }) {
                    self.states.push(model);
                }
            }
            Step::Check => expect_model(self.db()?, self.model(), &[])?,
            Step::Reopen => {
                if let Some(db) = self.db.take() {
                    db.close().map_err(|e| format!("close: {e}"))?;
                }
                self.open()?;
                let model = self.model().clone();
                expect_model(self.db()?, &model, &[]).map_err(|e| format!("after reopen: {e}"))?;
                self.states = vec![model];
            }
            Step::PowerLoss => {
                let after = self.fs.crash();
                drop(self.db.take());
                self.fs = after;
                self.open()?;
                let got = read_consistently(self.db()?, &[])?;
                let Some(at) = self.states.iter().position(|m| *m == got) else {
                    return Err(format!(
                        "after a power loss the state is no prefix holding the synced writes: {}",
                        describe_difference(&self.states[0], &got)
                    ));
                };
                self.states = vec![self.states[at].clone()];
            }
        }
        Ok(())
    }
}

/// Runs the program `data` encodes; `Err` is a broken guarantee (a bug).
pub fn engine(data: &[u8]) -> Result<(), Violation> {
    let mut run = Run {
        fs: SimFs::new(u64::from(data.first().copied().unwrap_or(0))),
        db: None,
        states: vec![Model::new()],
        tags: 0,
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
